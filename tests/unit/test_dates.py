"""When files say they were made (media.dates, media.tags), read as cameras, phones and programs write it.

The dates are written here the way their tools write them: EXIF by Pillow, an XMP sidecar as
darktable writes one, IPTC in a Photoshop block, PNG's "Creation Time", MP4's ``creation_time`` and
ID3's date by FFmpeg (PyAV), a PDF's CreationDate by matplotlib, a DOCX's ``dcterms:created``.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from sensorium.media.dates import format_date, parse_date, parse_span
from sensorium.media.tags import document_tags, picture_tags, with_sidecar
from tagged_media import write_tagged


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    skimage = pytest.importorskip("skimage")
    return Image.open(Path(skimage.__file__).parent / "data" / "rocket.jpg").convert("RGB").resize((160, 120))


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("2023:06:14 18:23:11", "2023-06-14T18:23:11"),  # EXIF
        ("2023-06-14T18:23:11.250+09:00", "2023-06-14T18:23:11"),  # the clock where it was taken, not UTC
        ("D:20230514103000+02'00'", "2023-05-14T10:30:00"),  # PDF
        ("20230614T182311", "2023-06-14T18:23:11"),  # IPTC's date and time joined
        ("Wed, 14 Jun 2023 18:23:11 +0100", "2023-06-14T18:23:11"),  # PNG's suggested form (RFC 1123)
        ("2019", "2019-01-01T00:00:00"),  # ID3 year: its first day
        ("1999-12", "1999-12-01T00:00:00"),
        ("0000:00:00 00:00:00", None),  # a camera with no clock set
        ("    :  :     :  :  ", None),
        ("1904-01-01T00:00:00", None),  # QuickTime's epoch: a zero in the field
        ("2023:02:30 10:00:00", None),
        ("0613:06:14 18:23:11", None),  # no photograph is that old
        ("a sunny day", None),
    ],
)
def test_dates_as_files_write_them(written: str, read: str | None) -> None:
    assert format_date(parse_date(written)) == read


def _here(utc: datetime) -> str:
    """What this machine's clock read at a moment given in UTC."""
    return utc.replace(tzinfo=UTC).astimezone().replace(tzinfo=None).isoformat()


def test_utc_times_are_carried_to_this_machines_clock() -> None:
    assert format_date(parse_date("2023-06-14T17:23:11.000000Z")) == _here(datetime(2023, 6, 14, 17, 23, 11))


def test_spans_of_days() -> None:
    day = 86400.0
    start, end = parse_span("2024-02")
    assert end - start == 29 * day  # a leap year's February
    assert parse_span("2023-06-14") == (parse_date("2023-06-14"), parse_date("2023-06-15"))
    assert parse_span("2021..2023-03") == (parse_date("2021"), parse_date("2023-04"))
    assert parse_span("..2019") == (None, parse_date("2020")) and parse_span("2021-03..") == (
        parse_date("2021-03"),
        None,
    )
    for bad in ("June", "2023-13", "..", "2024..2023", "2023-06-31"):
        with pytest.raises(ValueError):
            parse_span(bad)


def _with_iptc_date(jpeg: bytes, day: bytes, clock: bytes) -> bytes:
    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iim = dataset(55, day) + dataset(60, clock)
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + b"\x00" * (len(iim) % 2)
    body = b"Photoshop 3.0\x00" + resource
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_a_photos_capture_time_from_exif_iptc_png_and_its_sidecar(tmp_path: Path, photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[306] = "2024:01:02 09:00:00"  # DateTime: when it was last saved
    exif.get_ifd(0x8769)[36867] = "2023:06:14 18:23:11"  # DateTimeOriginal: when it was taken
    shot = tmp_path / "IMG_0001.jpg"
    photo.save(shot, exif=exif)
    assert format_date(picture_tags(shot).taken) == "2023-06-14T18:23:11"
    edited = tmp_path / "edited.jpg"
    edited_exif = Image.Exif()
    edited_exif[306] = "2024:01:02 09:00:00"
    photo.save(edited, exif=edited_exif)
    assert format_date(picture_tags(edited).taken) == "2024-01-02T09:00:00"  # the only date there is
    scan = tmp_path / "scan.jpg"
    photo.save(scan)
    scan.write_bytes(_with_iptc_date(scan.read_bytes(), b"19871224", b"200000+0100"))
    assert format_date(picture_tags(scan).taken) == "1987-12-24T20:00:00"
    info = PngImagePlugin.PngInfo()
    info.add_text("Creation Time", "Sat, 24 Dec 1988 20:00:00 +0100")
    png = tmp_path / "drawing.png"
    photo.save(png, pnginfo=info)
    assert format_date(picture_tags(png).taken) == "1988-12-24T20:00:00"
    bare = tmp_path / "bare.jpg"
    photo.save(bare)
    assert picture_tags(bare).taken is None
    # darktable's sidecar, with the date corrected for a camera whose clock was an hour off
    (tmp_path / "IMG_0001.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:DateTimeOriginal="2023-06-14T19:23:11"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    assert format_date(with_sidecar(shot, picture_tags(shot)).taken) == "2023-06-14T19:23:11"


def test_a_recordings_and_a_videos_date_from_their_containers(tmp_path: Path) -> None:
    from sensorium.media.audio import audio_info
    from sensorium.media.video import media_header

    episode = tmp_path / "episode.mp3"
    write_tagged(episode, {"title": "Episode 12", "date": "2021-03-05"})  # ID3v2.4's TDRC
    assert format_date(audio_info(episode).tags.taken) == "2021-03-05T00:00:00"
    phone = tmp_path / "phone.mov"  # an iPhone's: its local time and offset, and UTC in the movie header
    write_tagged(
        phone,
        {"com.apple.quicktime.creationdate": "2022-08-01T07:15:00+0200", "creation_time": "2022-08-01T05:15:00Z"},
        video=True,
    )
    seconds, own = media_header(phone)
    assert seconds and format_date(own.taken) == "2022-08-01T07:15:00"
    camera = tmp_path / "camera.mp4"  # UTC alone
    write_tagged(camera, {"creation_time": "2022-08-01T05:15:00.000000Z"}, video=True)
    assert format_date(media_header(camera)[1].taken) == _here(datetime(2022, 8, 1, 5, 15))
    plain = tmp_path / "plain.mp4"
    write_tagged(plain, {}, video=True)  # FFmpeg writes no creation time unless asked
    assert media_header(plain)[1].taken is None


def test_a_documents_creation_date(tmp_path: Path) -> None:
    from documents import text_pdf, write_docx

    pdf = text_pdf(tmp_path / "m.pdf", ["Text."], metadata={"CreationDate": datetime(2020, 2, 3, 4, 5, 6)})  # type: ignore[dict-item]
    assert format_date(document_tags(pdf).taken) == "2020-02-03T04:05:06"
    docx = write_docx(
        tmp_path / "r.docx",
        ["Text."],
        {"dc:title": "River report", "dcterms:created": "2019-11-20T10:00:00Z"},
    )
    own = document_tags(docx)
    assert own.words == "River report" and format_date(own.taken) == _here(datetime(2019, 11, 20, 10, 0, 0))
