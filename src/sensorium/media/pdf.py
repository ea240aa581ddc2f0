"""PDF documents as notes: each page's text, from its text layer or, on a scanned page, from OCR.

A PDF is indexed as text (modality ``text``): passages of its words, embedded and in the keyword
index, like a note. Most PDFs carry their text (a report, a paper, an exported letter); a scan
carries pictures of its pages, which PDFium (through pypdfium2) renders for OCR to read. A
passage never spans two pages, and each starts with where it is ("p. 3: ..."), which the hit's
reason shows. The photos and figures on a page with text (a brochure, a report, a photo book) are
put into words by the image models, as alt-text with tags ("p. 2: picture: A picture of a tabby
cat. Tags: ..."), and indexed as passages of that page, so "a cat" finds the page its photo is on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from sensorium.errors import MediaError
from sensorium.media.probe import open_regular
from sensorium.media.text import chunk_text
from sensorium.media.walk import display_path
from sensorium.types import Segment

log = logging.getLogger(__name__)

MIN_PAGE_CHARS = 20  # a page whose text layer holds fewer characters is read by OCR (a scanned page)
OCR_SIDE = 1600  # a scanned page is rendered with its longer side this many pixels for OCR
MAX_RENDER_PIXELS = 16_000_000  # ...and never more pixels than this, whatever size the page claims
PageReader = Callable[[Image.Image], str]
PictureReader = Callable[[Image.Image], str]  # a picture on a page -> words for it (pictures.picture_caption)
MIN_PICTURE_PX = 100  # a picture narrower or lower than this is an icon, a logo or a rule: not described
MIN_PICTURE_SHARE = 0.02  # ...and so is one covering less of its page than this
MAX_PICTURES_PER_PAGE = 6
PAGE_MARK = re.compile(r"p\. (\d+): ")  # how each passage starts: "p. 3: ..."


def pdf_segments(
    path: Path,
    *,
    max_pages: int,
    max_chars: int,
    read_page: PageReader | None = None,
    on_page: Callable[[int, int], object] | None = None,
    read_picture: PictureReader | None = None,
    max_pixels: int = 100_000_000,
    chunk_chars: int = 1000,
    overlap_chars: int = 200,
) -> list[Segment]:
    """Passages of a PDF's text as segments, ``index`` counting from 0, page by page.

    Args:
        max_pages: pages read at most (a longer document is indexed up to there, with a warning).
        max_chars: characters of text kept at most, likewise.
        read_page: OCR for a page with no text layer (``None``: such pages are skipped).
        on_page: called with (page, pages read in all) as each page is done.
        read_picture: words for a photo or figure on a page with text (``None``: pictures are left out).
        max_pixels: a picture with more pixels is left out (a decompression bomb).

    Raises:
        MediaError: not a PDF PDFium opens (corrupt, cut short, encrypted), or no text on any page.
    """
    name = display_path(path)
    pictures = (read_picture, max_pixels) if read_picture is not None else None
    pages, scanned = _page_texts(
        path, name, max_pages=max_pages, max_chars=max_chars, read_page=read_page, on_page=on_page, pictures=pictures
    )
    segments: list[Segment] = []
    for number, text in pages:
        for chunk in chunk_text(text, chunk_chars, overlap_chars):
            segments.append(
                Segment(source=str(path), modality="text", index=len(segments), payload=f"p. {number}: {chunk}")
            )
    if not segments:
        why = f"{scanned} scanned page{'s' if scanned != 1 else ''} without a text layer"
        if read_page is None:
            raise MediaError(name, f"no text in PDF ({why}, and OCR is off)", 'set ocr = "auto" to read scans')
        raise MediaError(name, f"no text in PDF ({why}, where OCR read nothing)", "exclude it")
    return segments


def pdf_metadata(path: Path) -> tuple[list[str], str]:
    """A PDF's own title, subject, keywords and author (its information dictionary), less the
    "Microsoft Word - report.docx" that Office's PDF printer writes as a title; and its creation
    date as written there (``D:20230514103000+02'00'``; "" when none).

    Raises:
        MediaError: unreadable, encrypted or not a PDF.
    """
    with open_regular(path) as fp:
        doc = _open(fp, display_path(path))
        try:
            meta = doc.get_metadata_dict(skip_empty=True)
        finally:
            doc.close()
    title = re.sub(r"^Microsoft (Word|PowerPoint|Excel) - ", "", meta.get("Title", ""))
    title = re.sub(r"\.(docx?|pptx?|xlsx?|odt|pdf|indd|tex|dvi)$", "", title, flags=re.IGNORECASE)
    return [title, *(meta.get(key, "") for key in ("Subject", "Keywords", "Author"))], meta.get("CreationDate", "")


def _page_texts(
    path: Path,
    name: str,
    *,
    max_pages: int,
    max_chars: int,
    read_page: PageReader | None,
    on_page: Callable[[int, int], object] | None = None,
    pictures: tuple[PictureReader, int] | None = None,
) -> tuple[list[tuple[int, str]], int]:
    """``(page number, text)`` of each page with text, and how many pages had no text layer."""
    with open_regular(path) as fp:  # PDFium reads what it needs from the file: a 2 GB scan is not held whole
        doc = _open(fp, name)
        try:
            return _read_pages(
                doc,
                name,
                max_pages=max_pages,
                max_chars=max_chars,
                read_page=read_page,
                on_page=on_page,
                pictures=pictures,
            )
        finally:
            doc.close()


def _open(source, name: str):  # source: a binary file or bytes -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        raise _open_error(name, exc) from exc


def _read_pages(
    doc,  # pypdfium2.PdfDocument
    name: str,
    *,
    max_pages: int,
    max_chars: int,
    read_page: PageReader | None,
    on_page: Callable[[int, int], object] | None,
    pictures: tuple[PictureReader, int] | None = None,
) -> tuple[list[tuple[int, str]], int]:
    import pypdfium2 as pdfium

    total = len(doc)
    if total == 0:
        raise MediaError(name, "PDF with no pages", "exclude it")
    if total > max_pages:
        log.warning("%s: %d pages; indexing the first %d (raise SENSORIUM_MAX_PDF_PAGES)", name, total, max_pages)
    out: list[tuple[int, str]] = []
    scanned = kept = 0
    pages = min(total, max_pages)
    for i in range(pages):
        if on_page is not None and i:
            on_page(i, pages)
        page = doc[i]
        captions: list[str] = []
        try:
            text = _layer_text(page)
            if len(text.strip()) < MIN_PAGE_CHARS:
                scanned += 1  # the page is a picture of text: OCR reads it, it is not described
                text = read_page(_render(page, OCR_SIDE, grayscale=True)) if read_page is not None else ""
            elif pictures is not None:
                read_picture, max_pixels = pictures
                captions = [f"picture: {read_picture(im)}" for im in _page_pictures(page, name, i + 1, max_pixels)]
        except (pdfium.PdfiumError, RuntimeError, ValueError, MemoryError) as exc:  # one page, not the file
            log.warning("%s: page %d left out: %s", name, i + 1, exc)
            continue
        finally:
            page.close()
        text = " ".join(text.split())  # lines as the page sets them; passages split by sentence
        for words in (text, *captions):
            if words and kept < max_chars:
                out.append((i + 1, words[: max_chars - kept]))
                kept += len(out[-1][1])
        if kept >= max_chars:
            log.warning("%s: text beyond %d characters left out (raise SENSORIUM_MAX_TEXT_BYTES)", name, max_chars)
            break
    if on_page is not None:
        on_page(pages, pages)
    return out, scanned


def _page_pictures(page, name: str, number: int, max_pixels: int) -> list[Image.Image]:  # page: pypdfium2.PdfPage
    """The photos and figures of a page worth describing, as pictures (icons, rules and bombs left out)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    out: list[Image.Image] = []
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
        px_w, px_h = obj.get_px_size()
        left, bottom, right, top = obj.get_bounds()
        if min(px_w, px_h) < MIN_PICTURE_PX or (right - left) * (top - bottom) < MIN_PICTURE_SHARE * width * height:
            continue
        if px_w * px_h > max_pixels:
            log.warning("%s: page %d: a picture of %dx%d pixels left out (max_image_pixels)", name, number, px_w, px_h)
            continue
        try:
            out.append(obj.get_bitmap(render=False).to_pil().convert("RGB"))
        except (
            pdfium.PdfiumError,
            ValueError,
            OSError,
        ) as exc:  # an image PDFium cannot hand over: the page's words stay
            log.warning("%s: page %d: a picture left out: %s", name, number, exc)
        if len(out) >= MAX_PICTURES_PER_PAGE:
            break
    return out


def render_page(source: BinaryIO | bytes, name: str, number: int, side: int) -> Image.Image:
    """Page ``number`` (from 1) of the PDF ``source`` (an open file, or bytes) as a picture ``side`` pixels long.

    Raises:
        MediaError: not a PDF PDFium opens, or no such page.
    """
    doc = _open(source, name)
    try:
        if not 1 <= number <= len(doc):
            raise MediaError(name, f"no page {number}: the PDF has {len(doc)}", "ask for a page it has")
        page = doc[number - 1]
        try:
            return _render(page, side)
        finally:
            page.close()
    finally:
        doc.close()


def _layer_text(page) -> str:  # page: pypdfium2.PdfPage
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()


def _render(page, side: int, *, grayscale: bool = False) -> Image.Image:  # page: pypdfium2.PdfPage
    """The page as an RGB picture with its longer side ``side`` pixels, at most :data:`MAX_RENDER_PIXELS`."""
    width, height = page.get_size()  # in points
    scale = side / max(width, height, 1.0)
    pixels = width * height * scale * scale
    if pixels > MAX_RENDER_PIXELS:  # a long strip of a page
        scale *= (MAX_RENDER_PIXELS / pixels) ** 0.5
    return page.render(scale=scale, grayscale=grayscale).to_pil().convert("RGB")


def _open_error(name: str, exc: Exception) -> MediaError:
    code = getattr(exc, "err_code", None)
    if code == 4:  # FPDF_ERR_PASSWORD
        return MediaError(name, "encrypted PDF: it needs a password", "save a copy without the password, or exclude it")
    if code == 5:  # FPDF_ERR_SECURITY
        return MediaError(name, "PDF with a security handler PDFium does not support", "save a plain copy of it")
    detail = " ".join(str(exc).split())
    return MediaError(name, f"corrupt or truncated PDF ({detail})", "copy or download it again")
