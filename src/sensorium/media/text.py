"""Turn a text, Markdown or HTML file into overlapping chunks a text encoder can read whole.

Chunks end on paragraph or sentence boundaries where they can, so each one reads as prose;
the overlap repeats the last sentences of a chunk at the start of the next, so a passage cut
by a boundary is still found whole in one of them.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sensorium.errors import MediaError
from sensorium.media.probe import mostly_printable, open_regular
from sensorium.media.walk import display_path
from sensorium.types import Segment

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Light Markdown cleanup: (pattern, replacement), applied in order. Only markup that cannot
# be ordinary prose is touched ("5 * 3" and snake_case survive).
_MARKDOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.MULTILINE), r)
    for p, r in (
        (r"\A(---|\+\+\+)\n(?s:.*?)\n\1[ \t]*\n", ""),  # YAML/TOML front matter
        (r"<!--(?s:.*?)-->", ""),
        (r"^[ \t]*(```|~~~).*\n?", ""),  # code fence lines; the code itself stays
        (r"^[ \t]*\[[^\]\n]+\]:[ \t]+\S+.*\n?", ""),  # link reference definitions
        (r"!?\[([^\[\]\n]*)\]\([^)\n]*\)", r"\1"),  # images and links keep their text
        (r"\[([^\[\]\n]*)\]\([^)\n]*\)", r"\1"),  # again, for links around images (badges)
        (r"\[([^\]\n]+)\]\[[^\]\n]*\]", r"\1"),  # reference links
        (r"<(https?://[^>\s]+)>", r"\1"),
        (r"</?(?:br|p|div|span|img|a|b|i|em|strong|sup|sub|details|summary|kbd|hr)\b[^>\n]*>", " "),
        (r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", r"\1"),  # ATX headings
        (r"^[ \t]*(?:=+|-+)[ \t]*$\n?", ""),  # setext underlines and rules
        (r"^[ \t]*([*_])(?:[ \t]*\1){2,}[ \t]*$\n?", ""),  # *** and ___ rules
        (r"^[ \t]*\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*(?::?-{3,}:?)?[ \t]*$\n?", ""),  # table rules
        (r"^[ \t]{0,3}>[ \t]?", ""),  # block quotes
        (r"^([ \t]*)[-*+][ \t]+", r"\1"),  # bullets
        (r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2"),
        (r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])", r"\1"),
        (r"(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)", r"\1"),  # not inside snake_case
        (r"`([^`\n]+)`", r"\1"),
        (r"[ \t]+$", ""),
    )
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026])\s+|\n|(?<=[\u3002\uff01\uff1f])")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def text_segments(path: Path, *, max_bytes: int, chunk_chars: int = 1000, overlap_chars: int = 200) -> list[Segment]:
    """Chunks of a text file as segments, ``index`` counting from 0.

    Raises:
        MediaError: unreadable, larger than ``max_bytes``, not text, or no text in it.
    """
    name = display_path(path)
    text = decode_text(_read_limited(path, name, max_bytes), name)
    text = html_text(text) if looks_like_html(path, text) else strip_markdown(text)
    if not text.strip():
        raise MediaError(name, "no text in file", "add text to it or exclude it")
    chunks = chunk_text(text, chunk_chars, overlap_chars)
    return [Segment(source=str(path), modality="text", index=i, payload=c) for i, c in enumerate(chunks)]


def _read_limited(path: Path, name: str, max_bytes: int) -> bytes:
    with open_regular(path) as fp:
        size = os.fstat(fp.fileno()).st_size
        data = fp.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise MediaError(
            name,
            f"text file is {_size(max(size, len(data)))}, over the limit of {_size(max_bytes)}",
            "raise SENSORIUM_MAX_TEXT_BYTES to index it",
        )
    return data


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} bytes"  # pragma: no cover


def decode_text(data: bytes, name: str) -> str:
    """Bytes to text: BOM-marked UTF-8/16/32, else UTF-8, else Windows-1252/Latin-1 if printable.

    Newlines come back as ``\\n``.

    Raises:
        MediaError: invalid after a BOM, NUL bytes, or legacy bytes that are mostly unprintable.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data, len(bom), encoding, name)
            break
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _legacy(data, name)
    if "\x00" in text:
        raise MediaError(name, "binary content (NUL bytes), not text", "exclude it")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _strict(data: bytes, skip: int, encoding: str, name: str) -> str:
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        reason = f"invalid {encoding.upper()} text at byte {exc.start + skip}"
        raise MediaError(name, reason, "re-save it as UTF-8") from exc


def _legacy(data: bytes, name: str) -> str:
    """Not UTF-8: Windows-1252 when every byte maps, else Latin-1; only if it reads as text."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if not mostly_printable(text):
        reason = "not text (not UTF-8, and mostly unprintable as Latin-1)"
        raise MediaError(name, reason, "re-save it as UTF-8 or exclude it")
    return text


_HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
_HTML_START = re.compile(r"\s*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_HTML_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "title", "dt", "dd"}
    | {"section", "article", "header", "footer", "blockquote", "pre"}
)
_HTML_HIDDEN = frozenset({"script", "style", "template", "noscript"})


def looks_like_html(path: Path, text: str) -> bool:
    """A web page saved as a note: by its name, or by how it starts."""
    return path.suffix.lower() in _HTML_SUFFIXES or bool(_HTML_START.match(text[:200]))


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_HIDDEN:
            self.hidden += 1
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_text(text: str) -> str:
    """What a browser shows of an HTML page: text without tags, scripts or styles, blocks as paragraphs.

    Its markup otherwise went into the vectors and the keyword index, and showed in hits
    (``text: "…ecipe</h1> Bake the…"``).
    """
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", "".join(parser.parts)))
    return "\n\n".join(p for p in paragraphs if p)


def strip_markdown(text: str) -> str:
    """Drop Markdown markup a reader would not see (markers, link targets, fences), lightly."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a piece of an over-long one.

    ``sep`` is what stood before it in the source: "\\n\\n" (new paragraph), " ", or "" (a cut
    inside a word, or between CJK sentences); ``para_len`` is its paragraph's length.
    """

    text: str
    sep: str
    para_len: int


def chunk_text(text: str, chunk_chars: int = 1000, overlap_chars: int = 200) -> list[str]:
    """Split ``text`` into chunks of at most ``chunk_chars`` characters.

    Chunks are built from whole sentences; a chunk closes early at a paragraph start once it
    is half full and the paragraph would not fit. Each chunk after the first begins with up
    to ``overlap_chars`` characters from the end of the previous one (whole sentences when
    they fit, else the last words). Sentences too long for a chunk are cut between words.
    """
    if chunk_chars < 1 or not 0 <= overlap_chars < chunk_chars:
        raise ValueError(f"chunk_chars={chunk_chars}, overlap_chars={overlap_chars}: need 0 <= overlap < chunk")
    chunks: list[str] = []
    current: list[_Unit] = []
    # Pieces of long sentences leave room for the overlap, so every chunk can carry one.
    for unit in _units(text, max(1, chunk_chars - overlap_chars - 2)):
        size = len(_join(current))
        full = size + len(unit.sep) + len(unit.text) > chunk_chars
        para_break = unit.sep == "\n\n" and size >= chunk_chars // 2 and size + 2 + unit.para_len > chunk_chars
        if current and (full or para_break):
            chunks.append(_join(current))
            current = _overlap(current, min(overlap_chars, chunk_chars - len(unit.text) - len(unit.sep)))
        current.append(unit)
    if current:
        chunks.append(_join(current))
    return chunks


def _units(text: str, limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    for para in _PARAGRAPH_BREAK.split(text):
        para = para.strip()
        sep = "\n\n"
        for sentence, after in _sentences(para):
            for piece, piece_sep in _split_long(sentence, limit):
                units.append(_Unit(piece, sep if piece_sep is None else piece_sep, len(para)))
            sep = after
    return units


def _sentences(para: str) -> list[tuple[str, str]]:
    """Sentences of a paragraph, each with the separator that follows it (" " or "")."""
    out: list[tuple[str, str]] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(para):
        sentence = para[start : match.start()].strip()
        if sentence:
            out.append((sentence, " " if match.group() else ""))
        start = match.end()
    if para[start:].strip():
        out.append((para[start:].strip(), ""))
    return out


def _split_long(sentence: str, limit: int) -> list[tuple[str, str | None]]:
    """``sentence`` in pieces of at most ``limit`` characters, cut between words if it can.

    Each piece comes with the separator before it; ``None`` for the first (the caller's).
    """
    if len(sentence) <= limit:
        return [(sentence, None)]
    pieces: list[tuple[str, str | None]] = []
    for word in sentence.split():
        if pieces and len(pieces[-1][0]) + 1 + len(word) <= limit:
            text, sep = pieces[-1]
            pieces[-1] = (f"{text} {word}", sep)
            continue
        first_sep = " " if pieces else None
        pieces.extend((word[i : i + limit], first_sep if i == 0 else "") for i in range(0, len(word), limit))
    return pieces


def _join(units: list[_Unit]) -> str:
    return "".join(u.sep + u.text if i else u.text for i, u in enumerate(units))


def _overlap(units: list[_Unit], budget: int) -> list[_Unit]:
    """The tail of a closed chunk that starts the next one, at most ``budget`` characters."""
    if budget <= 0:
        return []
    tail: list[_Unit] = []
    for unit in reversed(units[1:]):  # never the whole chunk again
        if len(_join([unit, *tail])) > budget:
            break
        tail.insert(0, unit)
    last = units[-1].text
    if tail or len(last) <= budget:
        return tail
    piece = last[-budget:]
    cut = piece.find(" ")
    piece = piece[cut + 1 :] if cut >= 0 else piece
    return [_Unit(piece, "", 0)] if piece else []
