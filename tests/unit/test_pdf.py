"""PDF documents: text layers page by page, scanned pages through OCR, and every way a PDF goes bad."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from documents import brochure_pdf, scanned_pdf, text_pdf
from sensorium.errors import MediaError
from sensorium.media.pdf import OCR_SIDE, pdf_segments
from sensorium.media.probe import probe

pytest.importorskip("pypdfium2")


def test_text_layer_page_by_page(tmp_path: Path) -> None:
    path = text_pdf(tmp_path / "minutes", ["The quarterly budget was discussed at length.", "Our cat sleeps all day."])
    assert probe(path) == "text"  # by its bytes: no .pdf needed
    segs = pdf_segments(path, max_pages=100, max_chars=10_000)
    assert [s.payload for s in segs] == [
        "p. 1: The quarterly budget was discussed at length.",
        "p. 2: Our cat sleeps all day.",
    ]
    assert [(s.modality, s.index) for s in segs] == [("text", 0), ("text", 1)]
    [first] = pdf_segments(path, max_pages=1, max_chars=10_000)  # a long document: the first pages
    assert first.payload.startswith("p. 1:")
    [cut] = pdf_segments(path, max_pages=100, max_chars=20)
    assert cut.payload == "p. 1: The quarterly budget"  # its first 20 characters


def test_a_scanned_page_is_read_by_ocr(tmp_path: Path) -> None:
    from sensorium.config import Settings
    from sensorium.models.ocr import TextReader

    path = scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(MediaError) as exc:
        pdf_segments(path, max_pages=100, max_chars=10_000)
    assert exc.value.reason == "no text in PDF (1 scanned page without a text layer, and OCR is off)"
    reader = TextReader(Settings(), max_side=OCR_SIDE)
    [seg] = pdf_segments(path, max_pages=100, max_chars=10_000, read_page=reader.read)
    assert seg.payload.startswith("p. 1: Region-based segmentation")
    assert "markers of the coins" in seg.payload
    with pytest.raises(MediaError) as exc:
        pdf_segments(path, max_pages=100, max_chars=10_000, read_page=lambda image: "")
    assert exc.value.reason == "no text in PDF (1 scanned page without a text layer, where OCR read nothing)"


def test_bad_pdfs(tmp_path: Path) -> None:
    good = text_pdf(tmp_path / "good.pdf", ["A page of text that is long enough to keep."])
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(good.read_bytes()[:900])
    with pytest.raises(MediaError) as exc:
        pdf_segments(cut, max_pages=100, max_chars=10_000)
    assert exc.value.reason.startswith("corrupt or truncated PDF (")
    assert str(exc.value).startswith(f"{cut}: ") and str(exc.value).endswith("; copy or download it again")
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=str(good))
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as fp:
        writer.write(fp)
    with pytest.raises(MediaError) as exc:
        pdf_segments(locked, max_pages=100, max_chars=10_000)
    assert exc.value.reason == "encrypted PDF: it needs a password"
    blank = tmp_path / "blank.pdf"
    buf = io.BytesIO()
    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(buf)
    blank.write_bytes(buf.getvalue())
    with pytest.raises(MediaError) as exc:
        pdf_segments(blank, max_pages=100, max_chars=10_000, read_page=lambda image: "")
    assert exc.value.reason.startswith("no text in PDF (1 scanned page")


def test_a_scan_of_small_type_is_read_word_by_word(tmp_path: Path) -> None:
    """A page of 9-point lines, printed to PDF by matplotlib, rendered at 150 dpi and saved as a scan."""
    import pypdfium2 as pdfium

    from sensorium.config import Settings
    from sensorium.models.ocr import TextReader

    lines = [f"Line {i}: the committee reviewed item {i} of the agenda and agreed to revisit it." for i in range(12)]
    printed = text_pdf(tmp_path / "printed.pdf", ["\n".join(lines)], fontsize=9)
    doc = pdfium.PdfDocument(printed)
    doc[0].render(scale=150 / 72).to_pil().convert("L").save(tmp_path / "scan.pdf", resolution=150)
    doc.close()
    reader = TextReader(Settings(), max_side=OCR_SIDE)
    text = " ".join(
        s.payload for s in pdf_segments(tmp_path / "scan.pdf", max_pages=1, max_chars=10**6, read_page=reader.read)
    )
    read = sum(f"the committee reviewed item {i} of the agenda" in text for i in range(12))
    assert read >= 8, text  # RapidOCR returned each line as one word ("thecommitteereviewed..."): 0 before respacing


def test_a_page_the_ocr_fails_on_is_left_out_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pdf"
    text_pdf(path, ["A first page with plenty of words on it."])
    scan = scanned_pdf(tmp_path / "scan.pdf")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    doc.import_pages(pdfium.PdfDocument(scan))  # page 2: a scan
    doc.save(tmp_path / "both.pdf")

    def broken(image):
        raise RuntimeError("the OCR engine failed")

    [seg] = pdf_segments(tmp_path / "both.pdf", max_pages=10, max_chars=10_000, read_page=broken)
    assert seg.payload == "p. 1: A first page with plenty of words on it."


def test_photos_on_pages_with_text_are_put_into_words_as_passages_of_their_page(tmp_path: Path) -> None:
    pdf = brochure_pdf(tmp_path / "brochure.pdf", icon=True)
    seen: list[tuple[int, int]] = []

    def caption(image) -> str:  # what the image models would say; here the picture's size
        seen.append(image.size)
        return f"{image.width}x{image.height} {image.mode}"

    segments = pdf_segments(pdf, max_pages=10, max_chars=10_000, read_picture=caption)
    texts = [s.payload for s in segments]
    assert texts[0].startswith("p. 1: Our office pet") and texts[2].startswith("p. 2: Field trip")
    assert texts[1].startswith("p. 1: picture: ") and texts[3].startswith("p. 2: picture: "), texts
    assert len(seen) == 2  # the 40-pixel logo is not a picture worth describing
    (w1, h1), (w2, h2) = seen
    assert abs(w1 / h1 - 451 / 300) < 0.02 and abs(w2 / h2 - 640 / 427) < 0.02  # the photos, at their own shape
    assert texts[1].endswith("RGB")
    # without a reader (pdf_pictures = false), and where a picture has more pixels than allowed, words only
    assert [s.payload for s in pdf_segments(pdf, max_pages=10, max_chars=10_000)] == [texts[0], texts[2]]
    bombs = pdf_segments(pdf, max_pages=10, max_chars=10_000, read_picture=caption, max_pixels=1000)
    assert [s.payload for s in bombs] == [texts[0], texts[2]]


def test_a_scanned_page_is_read_not_described(tmp_path: Path) -> None:
    described: list = []
    segments = pdf_segments(
        scanned_pdf(tmp_path / "scan.pdf"),
        max_pages=10,
        max_chars=10_000,
        read_page=lambda image: "the words on the page",
        read_picture=lambda image: described.append(image) or "a page",
    )
    assert [s.payload for s in segments] == ["p. 1: the words on the page"] and described == []
