"""Word-processor documents and e-books as notes: DOCX (Word), ODT (LibreOffice, exports) and EPUB.

Each is a ZIP of XML: the text is read from the parts that hold it (``word/document.xml``;
``content.xml``; an EPUB's chapters in its reading order) with the standard library, one
paragraph per paragraph, and indexed as a note. The ZIP is read defensively: only the parts named,
each checked against the size its directory claims before it is inflated, so a ZIP bomb costs
nothing, and nothing is extracted to disk.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from sensorium.errors import MediaError
from sensorium.media.probe import open_regular
from sensorium.media.text import html_text
from sensorium.media.walk import display_path

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OPF = "{http://www.idpf.org/2007/opf}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
MAX_PARTS = 2000  # chapters of an EPUB read at most


def office_text(path: Path, kind: str, *, max_chars: int) -> str:
    """The text of a DOCX, ODT or EPUB, paragraphs separated by blank lines.

    Raises:
        MediaError: not a readable ZIP, a part missing or over the size limit, or no text in it.
    """
    name = display_path(path)
    with open_regular(path) as fp:
        try:
            with zipfile.ZipFile(fp) as zf:
                paragraphs = _READERS[kind](_Parts(zf, name, max_chars))
        except (zipfile.BadZipFile, EOFError, ElementTree.ParseError, UnicodeDecodeError) as exc:
            raise MediaError(
                name, f"corrupt or truncated {kind.upper()} ({exc})", "save it again from its editor"
            ) from exc
    text = "\n\n".join(p for p in (" ".join(p.split()) for p in paragraphs) if p)
    if not text:
        raise MediaError(name, f"no text in {kind.upper()}", "exclude it")
    return text[:max_chars]


class _Parts:
    """Members of a ZIP, read one at a time within a budget of inflated bytes."""

    def __init__(self, zf: zipfile.ZipFile, name: str, max_chars: int) -> None:
        self.zf, self.name = zf, name
        self.budget = max(4 * max_chars, 1_000_000)  # XML is several times its text

    def read(self, member: str) -> bytes:
        try:
            info = self.zf.getinfo(member)
        except KeyError:
            raise MediaError(self.name, f"no {member} inside", "save it again from its editor") from None
        if info.file_size > self.budget:
            raise MediaError(
                self.name,
                f"{member} inflates to {info.file_size} bytes, over the limit",
                "raise SENSORIUM_MAX_TEXT_BYTES",
            )
        with self.zf.open(info) as part:
            data = part.read(self.budget + 1)  # the directory may lie about the size: read no more than allowed
        if len(data) > self.budget:
            raise MediaError(self.name, f"{member} inflates past the limit", "raise SENSORIUM_MAX_TEXT_BYTES")
        self.budget -= len(data)
        return data


def _docx(parts: _Parts) -> list[str]:
    root = ElementTree.fromstring(parts.read("word/document.xml"))
    out = []
    for para in root.iter(f"{_W}p"):
        bits = []
        for node in para.iter():
            if node.tag == f"{_W}t" and node.text:
                bits.append(node.text)
            elif node.tag in (f"{_W}tab", f"{_W}br"):
                bits.append(" ")
        out.append("".join(bits))
    return out


def _odt(parts: _Parts) -> list[str]:
    root = ElementTree.fromstring(parts.read("content.xml"))
    return ["".join(node.itertext()) for node in root.iter() if node.tag in (f"{_TEXT}p", f"{_TEXT}h")]


def _package(parts: _Parts) -> tuple[ElementTree.Element, str]:
    """An EPUB's package document (its metadata, manifest and spine) and where it lies in the ZIP."""
    container = ElementTree.fromstring(parts.read("META-INF/container.xml"))
    rootfile = next((r.get("full-path") for r in container.iter(f"{_CONTAINER}rootfile")), None)
    if not rootfile:
        raise MediaError(parts.name, "no package document named in META-INF/container.xml", "save it again")
    return ElementTree.fromstring(parts.read(rootfile)), rootfile


def _epub(parts: _Parts) -> list[str]:
    opf, rootfile = _package(parts)
    base = posixpath.dirname(rootfile)
    items = {i.get("id"): i.get("href") for i in opf.iter(f"{_OPF}item")}
    order = [items.get(r.get("idref")) for r in opf.iter(f"{_OPF}itemref")][:MAX_PARTS]
    out = []
    for href in order:
        if href:
            member = posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))
            html = parts.read(member).decode("utf-8", errors="replace")
            body = html.find("<body")  # not the <title>, which repeats the book's name in every chapter
            out += html_text(html[body:] if body >= 0 else html).split("\n\n")
    return out


_READERS = {"docx": _docx, "odt": _odt, "epub": _epub}


_META_FIELDS = ("title", "subject", "description", "keywords", "keyword", "creator", "initial-creator")
_META_DATES = ("created", "creation-date", "date")  # DOCX's dcterms:created, ODT's meta:creation-date, dc:date
_META_CHARS = 250_000  # a metadata part is read within a budget of 1 MB


def office_metadata(path: Path, kind: str) -> tuple[list[str], str]:
    """A DOCX's, ODT's or EPUB's own title, subject, description, keywords and author, in that order,
    from ``docProps/core.xml``, ``meta.xml`` or the EPUB's package document; and the date it was
    created (an EPUB's: published), as written there ("" when none).

    Raises:
        MediaError: as :func:`office_text`, for the metadata part.
    """
    name = display_path(path)
    with open_regular(path) as fp:
        try:
            with zipfile.ZipFile(fp) as zf:
                parts = _Parts(zf, name, _META_CHARS)
                if kind == "epub":
                    root = _package(parts)[0]
                else:
                    root = ElementTree.fromstring(parts.read("docProps/core.xml" if kind == "docx" else "meta.xml"))
        except (zipfile.BadZipFile, EOFError, ElementTree.ParseError, UnicodeDecodeError) as exc:
            raise MediaError(name, f"corrupt or truncated {kind.upper()} ({exc})", "save it again") from exc
    found: dict[str, list[str]] = {}
    for element in root.iter():
        field = element.tag.rsplit("}", 1)[-1]
        if (field in _META_FIELDS or field in _META_DATES) and element.text:
            found.setdefault(field, []).append(element.text)
    created = next((v for field in _META_DATES for v in found.get(field, ())), "")
    out = []
    for field in _META_FIELDS:
        values = found.get(field, [])
        if field in ("keyword", "subject") and len(values) > 1:  # ODT's keywords, an EPUB's subjects
            out.append(", ".join(values))
        else:
            out += [html_text(v) if field == "description" else v for v in values]
    return out, created
