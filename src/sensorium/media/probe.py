"""Name a file's modality from its first bytes, not its extension.

Extensions lie (a ``.jpg`` that is an HTML error page, a camera file renamed by hand), so the
modality comes from magic numbers. The extension only breaks ties the content cannot:
legacy-encoded text, and audio-only files in containers that also hold video.
"""

from __future__ import annotations

import codecs
import glob as globlib
import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

from sensorium.errors import MediaError
from sensorium.media.walk import display_path, os_reason
from sensorium.types import Modality

HEAD_BYTES = 8192

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".mdown", ".mkd", ".rst", ".org", ".adoc", ".log"})
NOTE_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})  # read as notes when their content is text
_AUDIO_ONLY_SUFFIXES = frozenset({".m4a", ".m4b", ".mka", ".weba", ".wma"})
# Names that promise a picture, a recording or a video: text behind one is an error page or a
# mix-up to report, not a note to index.
_DOCUMENT_SUFFIXES = (".pdf", ".docx", ".docm", ".odt", ".epub")
_IMAGE_SUFFIXES = (
    *(".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"),
    *(".heic", ".heif", ".hif", ".avif"),
)
# Camera RAW files. Most are TIFF inside (NEF, ARW, DNG, PEF...): only the name tells them from a
# TIFF, whose first picture in them is a thumbnail or undecoded sensor data. The others have
# magic of their own (_RAW_MAGIC).
RAW_SUFFIXES = frozenset(
    {".dng", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".cr2", ".cr3", ".crw", ".orf", ".rw2", ".raf", ".pef"}
    | {".srw", ".erf", ".kdc", ".dcr", ".mos", ".mef", ".mrw", ".3fr", ".iiq", ".rwl", ".x3f"}
)
_RAW_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"FUJIFILMCCD-RAW"),  # RAF
    (0, b"IIRO"),  # Olympus ORF
    (0, b"IIRS"),
    (0, b"MMOR"),
    (0, b"IIU\x00"),  # Panasonic RW2
    (8, b"CR\x02\x00"),  # Canon CR2 (after its TIFF header)
    (4, b"ftypcrx "),  # Canon CR3
    (6, b"HEAPCCDR"),  # Canon CRW
)
_SOUND_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".m4b", ".aac", ".aif", ".aiff", ".wma")
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".3gp", ".ogv")
MEDIA_SUFFIXES = frozenset(
    {*_DOCUMENT_SUFFIXES, *_IMAGE_SUFFIXES, *RAW_SUFFIXES, *_SOUND_SUFFIXES, *_VIDEO_SUFFIXES}
    | {".mka", ".weba", ".wmv", ".flv"}
)

_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})

_AV_MAGIC: tuple[tuple[bytes, Modality], ...] = (
    (b"fLaC", "audio"),
    (b"ID3", "audio"),
    (b".snd", "audio"),
    (b"#!AMR", "audio"),
    (b"caff", "audio"),
    (b"FLV\x01", "video"),
    (b"\x00\x00\x01\xba", "video"),  # MPEG program stream
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "video"),  # ASF (WMV; WMA by extension)
    (b"\x1a\x45\xdf\xa3", "video"),  # EBML: Matroska / WebM
)
_RIFF_FORMS: dict[bytes, Modality] = {b"WAVE": "audio", b"AVI ": "video"}
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
# ISO base media brands of still images (HEIF): AV1-coded (AVIF), HEVC-coded (HEIC, what phones
# write), and the generic ones whose compatible brands say which.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_HEIF_BRANDS = _AVIF_BRANDS | _HEIC_BRANDS | {b"mif1", b"msf1", b"mif2"}

# Formats we name in the error so the user knows what they hold; checked before the text
# test because some (RTF, PostScript) are plain ASCII.
_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (also .xlsx, .pptx)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\x7fELF", "a Linux executable"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript document"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x01\x00", "an icon (ICO)"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"MThd", "a MIDI file"),
    (b"\x93NUMPY", "a NumPy array file"),
)
# Short magic that plain text may also start with: only named once the content is not text.
_BINARY_ONLY: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable"),
    (b"BZh", "bzip2-compressed data"),
)


def open_regular(path: Path) -> BinaryIO:
    """Open a regular, non-empty file for binary reading.

    Raises:
        MediaError: missing, a folder, a device/pipe, empty, or unreadable.
    """
    name = display_path(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise MediaError(name, "is a directory", "index the folder itself to walk the files inside it")
        if not stat.S_ISREG(st.st_mode):
            raise MediaError(name, "not a regular file (device, pipe or socket)", "point at a regular file")
        if st.st_size == 0:
            raise MediaError(name, "empty file (0 bytes)", "re-create or re-download it, or exclude it")
        return open(path, "rb")  # the caller owns and closes it
    except OSError as exc:
        raise MediaError(name, os_reason(exc), _os_hint(exc)) from exc


def _os_hint(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "check the file's permissions"
    if isinstance(exc, FileNotFoundError):
        return "check the path"
    return "check the file and the disk"


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a regular, non-empty file (see :func:`open_regular`)."""
    with open_regular(path) as fp:
        try:
            return fp.read(size)
        except OSError as exc:
            raise MediaError(display_path(path), f"cannot read: {os_reason(exc)}", _os_hint(exc)) from exc


def probe(path: Path) -> Modality:
    """The modality of ``path`` ("image", "text", "audio" or "video"), judged by content.

    Raises:
        MediaError: unreadable, empty, or not a supported media type (the message names
            what the content looks like).
    """
    head = read_head(path)
    return _sniff_or_raise(head, display_path(path), path.suffix, complete=len(head) < HEAD_BYTES)


def probe_bytes(data: bytes, name: str) -> Modality:
    """:func:`probe` for uploaded bytes; ``name`` is the client's file name, used in messages."""
    if not data:
        raise MediaError(name, "empty file (0 bytes)", "upload a non-empty file")
    head = data[:HEAD_BYTES]
    return _sniff_or_raise(head, name, os.path.splitext(name)[1], complete=len(data) <= HEAD_BYTES)


def _sniff_or_raise(head: bytes, name: str, suffix: str, *, complete: bool) -> Modality:
    kind = sniff(head, suffix, complete=complete)
    if kind is None:
        raise unsupported(name, head, suffix)
    return kind


class NotMedia(MediaError):
    """A file that neither is nor claims to be media (a PDF, an archive, a program): passed over, not failed."""


def unsupported(name: str, head: bytes, suffix: str) -> MediaError:
    """The error for content that is no supported media type, naming what it looks like.

    It is :class:`NotMedia` when the name does not promise media or a note either (``report.pdf``,
    ``a.zip``, ``prog``): indexing a documents folder would otherwise fail on every such file in
    every run.
    """
    start = " ".join(f"{b:02x}" for b in head[:8])
    # a kind that is not indexed: all of them; one damaged photo or recording: that file alone
    kind = suffix and suffix.lower() not in MEDIA_SUFFIXES | TEXT_SUFFIXES | NOTE_SUFFIXES
    hint = f"skip it with --exclude '{f'*{suffix}' if kind else globlib.escape(os.path.basename(name))}'"
    looks = describe(head)
    if looks.startswith("text") and suffix.lower() in MEDIA_SUFFIXES:  # an error page saved as photo.jpg
        return MediaError(name, f"holds {looks}, not the media its {suffix} name promises", "re-download or remove it")
    reason = f"not a supported media type (content starts with {start}, looks like {looks})"
    if suffix.lower() not in MEDIA_SUFFIXES | TEXT_SUFFIXES | NOTE_SUFFIXES:
        return NotMedia(name, reason, hint)
    if suffix.lower() in MEDIA_SUFFIXES and looks.startswith("binary data"):  # junk named .mp3: say what it promised
        reason += f", though named {suffix}: damaged, or not what its name says"
    return MediaError(name, reason, hint)


def sniff(head: bytes, suffix: str = "", *, complete: bool = False) -> Modality | None:
    """Modality from the first bytes of a file, or ``None`` when unsupported.

    ``suffix`` (e.g. ".txt") only breaks ties; ``complete`` says ``head`` is the whole file,
    so a multi-byte character cut at its end is an error rather than the cut.
    """
    suffix = suffix.lower()
    if image_format(head, suffix):
        return "image"
    av = _av_kind(head, suffix)
    if av is not None:
        return av
    if is_pdf(head) or office_kind(head, suffix):
        return "text"  # a document: a PDF's text layer or OCR (media/pdf.py); DOCX, ODT, EPUB (media/office.py)
    if _unsupported_name(head) is not None:
        return None
    if _decode_head(head, suffix, complete=complete) is not None:
        return None if _is_svg(head) or is_xmp(head) or suffix in MEDIA_SUFFIXES else "text"
    if _is_mpeg_audio(head):
        return "audio"
    return None


def is_pdf(head: bytes) -> bool:
    return head.startswith(b"%PDF-")


_OFFICE_MIMETYPES = {b"application/vnd.oasis.opendocument.text": "odt", b"application/epub+zip": "epub"}
OFFICE_SUFFIXES = {".docx": "docx", ".docm": "docx", ".odt": "odt", ".epub": "epub"}


def office_kind(head: bytes, suffix: str = "") -> str | None:
    """A word-processor document or e-book in a ZIP: "docx", "odt" or "epub", else ``None``.

    ODT and EPUB say so in their first entry (``mimetype``, stored); a DOCX starts with
    ``[Content_Types].xml`` and holds ``word/`` parts. A ZIP named as one of them is taken at its
    name (its parts are checked when it is read).
    """
    if not head.startswith(b"PK\x03\x04"):
        return None
    if len(head) < 30:  # cut before its first entry's header: only its name can say what it was
        return OFFICE_SUFFIXES.get(suffix.lower())
    method, size = struct.unpack_from("<H", head, 8)[0], struct.unpack_from("<I", head, 18)[0]
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    name = head[30 : 30 + name_len]
    if name == b"mimetype" and method == 0:
        start = 30 + name_len + extra_len
        kind = _OFFICE_MIMETYPES.get(head[start : start + size].strip())
        if kind:
            return kind
    if name == b"[Content_Types].xml" and b"word/" in head:
        return "docx"
    return OFFICE_SUFFIXES.get(suffix.lower())


def image_format(head: bytes, suffix: str = "") -> str | None:
    """Pillow-independent name of the image format ("jpeg", "png", "raw", ...), or ``None``.

    ``suffix`` tells a camera RAW that is TIFF inside (``.nef``, ``.dng``) from a TIFF.
    """
    for at, magic in _RAW_MAGIC:
        if head[at : at + len(magic)] == magic:
            return "raw"
    for magic, fmt in _IMAGE_MAGIC:
        if head.startswith(magic):
            return "raw" if fmt == "tiff" and suffix.lower() in RAW_SUFFIXES else fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _heif_format(head)
    return None


def _heif_format(head: bytes) -> str:
    """A HEIF file's format, "avif" or "heif" (HEIC and the rest), from its major and compatible brands."""
    major = head[8:12]
    if major in _AVIF_BRANDS or major in _HEIC_BRANDS:
        return "avif" if major in _AVIF_BRANDS else "heif"
    size = int.from_bytes(head[:4], "big")
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    return "avif" if compatible & _AVIF_BRANDS else "heif"


def _av_kind(head: bytes, suffix: str) -> Modality | None:
    if head[:4] == b"RIFF":
        return _RIFF_FORMS.get(head[8:12])
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio"
    if head[:4] == b"OggS":
        return "video" if b"\x80theora" in head or b"OVP80" in head else "audio"
    if head[4:8] == b"ftyp":
        return _ftyp_kind(head, suffix)
    if _is_mpeg_ts(head):
        return "video"
    for magic, kind in _AV_MAGIC:
        if head.startswith(magic):
            return "audio" if kind == "video" and suffix in _AUDIO_ONLY_SUFFIXES else kind
    return None


def _ftyp_kind(head: bytes, suffix: str) -> Modality | None:
    """ISO base media (mp4, m4a, mov, 3gp): the major brand tells audio from video."""
    brand = head[8:12]
    if brand in _HEIF_BRANDS:
        return None
    if brand in _AUDIO_BRANDS or suffix in _AUDIO_ONLY_SUFFIXES:
        return "audio"
    return "video"


def _is_mpeg_ts(head: bytes) -> bool:
    return len(head) > 376 and head[0] == head[188] == head[376] == 0x47


def _is_mpeg_audio(head: bytes) -> bool:
    """An MP3/MP2 frame header or an ADTS (AAC) header at the start, without ID3 tag."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    layer = (head[1] >> 1) & 0x3
    if layer == 0:  # ADTS: MPEG-4 AAC uses layer bits 00
        return head[1] & 0xF6 == 0xF0
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x3
    return (head[1] >> 3) & 0x3 != 1 and bitrate not in (0, 15) and rate != 3


def _unsupported_name(head: bytes) -> str | None:
    for magic, what in _UNSUPPORTED:
        if head.startswith(magic):
            return what
    return None


def is_xmp(head: bytes) -> bool:
    """Whether a file's first bytes are an XMP packet: a photo editor's sidecar, whose words belong to
    the photo beside it (:func:`sensorium.media.tags.with_sidecar`), not a note of its own."""
    start = head.lstrip()[:2048]
    return start.startswith(b"<?xpacket") or b"<x:xmpmeta" in start


def _is_svg(head: bytes) -> bool:
    start = head.lstrip()[:1024].lower()
    return start.startswith(b"<") and b"<svg" in start


MISSING_INDEX = (
    "an MP4/MOV file without its index (the 'moov' box): it was cut short while being written or copied",
    "copy it again from its source; a tool such as untrunc can rebuild the index from a good file of the same camera",
)


def mp4_without_index(fp: BinaryIO) -> bool:
    """Whether ``fp`` is an ISO media file (MP4, MOV, M4A) whose top-level boxes hold no ``moov``.

    ffmpeg only says "invalid data found" for such a file; a recording stopped before the index
    was written, or a copy cut short, looks exactly like this. ``fp`` is left at its start.
    """
    try:
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        pos = 0
        seen_ftyp = False
        while pos + 8 <= size:
            fp.seek(pos)
            header = fp.read(16)
            box, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if pos == 0 and kind != b"ftyp":
                return False
            seen_ftyp = True
            if kind == b"moov":
                return False
            if box == 1 and len(header) == 16:
                box = int.from_bytes(header[8:16], "big")
            if box == 0:  # to the end of the file
                break
            if box < 8:
                return False  # not a box structure we can walk: leave the verdict to ffmpeg
            pos += box
        return seen_ftyp
    except OSError:
        return False
    finally:
        fp.seek(0)


def describe(head: bytes) -> str:
    """What unsupported content looks like, for error messages ("a PDF", "binary data")."""
    named = _unsupported_name(head)
    if named:
        return named
    if _is_svg(head):
        return "an SVG drawing, not supported yet"
    if _decode_head(head, "", complete=False) is not None:
        return "text"
    if _decode_head(head, ".txt", complete=False) is not None:
        return "text in an encoding other than UTF-8"
    for magic, what in _BINARY_ONLY:
        if head.startswith(magic):
            return what
    return "binary data of an unknown format"


def _decode_head(head: bytes, suffix: str, *, complete: bool) -> str | None:
    """The head as text when it reads as text, else ``None``.

    UTF-8 and BOM-marked UTF-16/32 always count; legacy 8-bit text only with a text suffix,
    since random binary also decodes as Latin-1.
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return _printable(_decode(head[len(bom) :], encoding, complete))
    if b"\x00" in head:
        return None
    text = _decode(head, "utf-8", complete)
    if text is None and suffix in TEXT_SUFFIXES:
        text = _decode(head, "cp1252", True) or head.decode("latin-1")
    return _printable(text)


def _decode(data: bytes, encoding: str, complete: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=complete)
    except UnicodeDecodeError:
        return None


def _printable(text: str | None) -> str | None:
    return text if text is not None and mostly_printable(text) else None


def mostly_printable(text: str, min_ratio: float = 0.95) -> bool:
    """True when nearly all of ``text`` is printable or whitespace; a NUL rules it out."""
    if "\x00" in text:
        return False
    ok = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r\f\v\x1b")
    return not text or ok / len(text) >= min_ratio
