"""PDF documents for the tests, made from what pip packages ship: a report matplotlib writes, a scan of a real page."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def text_pdf(path: Path, pages: list[str], fontsize: int = 12) -> Path:
    """A PDF with a text layer, as matplotlib writes one (real fonts; each page's text from its top)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
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


def write_documents(dest: Path) -> Path:
    """A folder of documents: minutes of a meeting (two pages of text) and a scanned textbook page."""
    dest.mkdir(parents=True, exist_ok=True)
    text_pdf(
        dest / "minutes.pdf",
        ["Attendance and apologies were noted.", "The committee discussed the budget for next year at length."],
    )
    scanned_pdf(dest / "textbook-scan.pdf")
    return dest
