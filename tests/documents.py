"""Documents for the tests: PDFs from what pip packages ship (a report matplotlib writes, a scan of a real page),
and Word, OpenDocument and EPUB files laid out as their editors write them."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image


def text_pdf(path: Path, pages: list[str], fontsize: int = 12, metadata: dict[str, str] | None = None) -> Path:
    """A PDF with a text layer, as matplotlib writes one (real fonts; each page's text from its top),
    with ``metadata`` (Title, Author, Subject, Keywords) in its information dictionary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path, metadata=metadata) as pdf:
        for line in pages:
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.1, 0.9, line, fontsize=fontsize, verticalalignment="top", linespacing=1.6)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def scanned_pdf(path: Path) -> Path:
    """A scan: scikit-image's photographed page of a textbook, as the only thing on a PDF page."""
    from skimage import data

    Image.fromarray(data.page()).save(path, resolution=100)
    return path


def brochure_pdf(path: Path, icon: bool = False) -> Path:
    """A brochure: each page a line of text above a real photo (scikit-image's cat, then its rocket), as
    matplotlib lays out a figure; with ``icon``, a 40-pixel logo in a corner of the first page too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    from skimage import data

    pages = [
        ("Our office pet, photographed in the garden this spring.", data.chelsea()),
        ("Field trip, day two.", data.rocket()),
    ]
    with PdfPages(path) as pdf:
        for n, (line, photo) in enumerate(pages):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.1, 0.9, line, fontsize=12, verticalalignment="top")
            ax = fig.add_axes((0.1, 0.35, 0.8, 0.45))
            ax.imshow(photo)
            ax.axis("off")
            if icon and n == 0:
                fig.figimage(data.coins()[:40, :40], xo=20, yo=20, cmap="gray")
            pdf.savefig(fig)
            plt.close(fig)
    return path


def write_documents(dest: Path) -> Path:
    """A folder of documents: minutes of a meeting (two pages of text) and a scanned textbook page."""
    dest.mkdir(parents=True, exist_ok=True)
    text_pdf(
        dest / "minutes.pdf",
        ["Attendance and apologies were noted.", "The committee discussed the budget for next year at length."],
    )
    scanned_pdf(dest / "textbook-scan.pdf")
    return dest


def _zip(path: Path, parts: dict[str, str], mimetype: str | None = None) -> Path:
    """A ZIP of ``parts`` in order, deflated; ``mimetype`` first and stored, as ODF and EPUB require."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        if mimetype is not None:
            z.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def write_docx(path: Path, paragraphs: list[str], core: dict[str, str] | None = None) -> Path:
    """A Word document as Word lays one out: the parts a .docx needs, the text in word/document.xml,
    and ``core`` ({"dc:title": ..., "dc:creator": ..., "cp:keywords": ...}) in docProps/core.xml."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs)
    ns = "http://schemas.openxmlformats.org"
    extra = {}
    if core:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in core.items())
        extra["docProps/core.xml"] = (
            f'<?xml version="1.0"?><cp:coreProperties xmlns:cp="{ns}/package/2006/metadata/core-properties" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{fields}</cp:coreProperties>'
        )
    return _zip(
        path,
        extra
        | {
            "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
            "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
            "word/document.xml": f'<?xml version="1.0"?><w:document xmlns:w="{ns}/wordprocessingml/2006/main">'
            f"<w:body>{body}</w:body></w:document>",
        },
    )


def write_odt(path: Path, paragraphs: list[str]) -> Path:
    """An OpenDocument text: its mimetype first and stored, as the format requires, then content.xml."""
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    content = (
        '<?xml version="1.0"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    return _zip(path, {"content.xml": content}, "application/vnd.oasis.opendocument.text")


def write_epub(path: Path, chapters: list[str], metadata: dict[str, str] | None = None) -> Path:
    """An EPUB: mimetype, container, package document and one XHTML file per chapter, in spine order;
    ``metadata`` ({"title": ..., "creator": ...}) as the package's Dublin Core."""
    dc = "".join(f"<dc:{k}>{escape(v)}</dc:{k}>" for k, v in (metadata or {}).items())
    manifest = "".join(
        f'<item id="c{i}" href="chapter {i}.xhtml" media-type="application/xhtml+xml"/>' for i in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in reversed(range(len(chapters))))  # reading order != files
    parts = {
        "META-INF/container.xml": '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>",
        "OEBPS/book.opf": '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{dc}</metadata>'
        f"<manifest>{manifest}</manifest><spine>{spine}</spine></package>",
    }
    for i, text in enumerate(chapters):
        parts[f"OEBPS/chapter {i}.xhtml"] = (
            f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>c{i}</title><style>p {{}}</style></head>'
            f"<body><h1>Chapter {i}</h1><p>{escape(text)}</p></body></html>"
        )
    return _zip(path, parts, "application/epub+zip")
