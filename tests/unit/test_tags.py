"""The words files carry about themselves (media.tags), read from real photos and recordings.

The tags are written here the way photo tools and taggers write them: EXIF and Windows' XP tags
by Pillow, an IPTC caption in a Photoshop APP13 block, an XMP packet, PNG text chunks, ID3 and
Ogg (Vorbis comment) tags by FFmpeg (PyAV).
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from sensorium.media.audio import audio_info
from sensorium.media.tags import FileTags, join_words, picture_tags
from sensorium.media.video import media_header
from tagged_media import write_tagged

XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
 photoshop:City="Porto">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Launch day</rdf:li>
 <rdf:li xml:lang="de">Starttag</rdf:li></rdf:Alt></dc:title>
<dc:description><rdf:Alt>
 <rdf:li xml:lang="x-default">A rocket on its pad before the launch</rdf:li></rdf:Alt></dc:description>
<dc:subject><rdf:Bag><rdf:li>space</rdf:li><rdf:li>NASA</rdf:li></rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    skimage = pytest.importorskip("skimage")
    return Image.open(Path(skimage.__file__).parent / "data" / "rocket.jpg").convert("RGB")


def _with_iptc(jpeg: bytes, caption: str, keywords: list[str]) -> bytes:
    """``jpeg`` with an APP13 block holding IPTC-IIM datasets in UTF-8, as Photoshop writes it."""

    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iim = b"\x1c\x01\x5a\x00\x03\x1b%G"  # 1:90, coded character set: UTF-8
    iim += dataset(120, caption.encode()) + b"".join(dataset(25, k.encode()) for k in keywords)
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + b"\x00" * (len(iim) % 2)
    body = b"Photoshop 3.0\x00" + resource
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_a_photos_caption_keywords_and_place_are_read_from_exif_iptc_and_xmp(tmp_path: Path, photo) -> None:
    exif = Image.Exif()
    exif[270] = "A rocket on its pad before the launch"  # the XMP's description again: said once
    exif[40094] = "Kennedy Space Center;Florida".encode("utf-16-le")  # XPKeywords
    exif[271] = "Canon"  # the camera's make is not a word about the picture
    plain = tmp_path / "plain.jpg"
    photo.save(plain, exif=exif, xmp=XMP.encode())
    tagged = tmp_path / "tagged.jpg"
    tagged.write_bytes(_with_iptc(plain.read_bytes(), "Früher Morgen am Startplatz", ["rocket", "launch pad"]))
    words = picture_tags(tagged).words
    assert words.startswith("Launch day. A rocket on its pad before the launch. space, NASA. Porto"), words
    assert "Starttag" not in words  # one language of a title: the default
    assert "Früher Morgen am Startplatz" in words and "rocket, launch pad" in words  # IPTC, UTF-8 as declared
    assert "Kennedy Space Center, Florida" in words
    assert words.count("A rocket on its pad") == 1 and "Canon" not in words
    assert picture_tags(plain).words and "Früher" not in picture_tags(plain).words


def test_what_cameras_and_programs_write_unasked_is_not_a_word(tmp_path: Path, photo) -> None:
    exif = Image.Exif()
    exif[270] = "OLYMPUS DIGITAL CAMERA         "
    path = tmp_path / "camera.jpg"
    photo.save(path, exif=exif, comment=b"CREATOR: gd-jpeg v1.0 (using IJG JPEG v62), quality = 90")
    assert picture_tags(path).words == ""
    assert join_words(["IMG_1234", "DSC01234.JPG", "SONY DSC", "  ", "cmp3.10.3.2Lq3 0x756ffbf7", "Untitled"]) == ""
    assert join_words(["Route 66", "Opus 131", "Apollo 11 on the pad"]) == "Route 66. Opus 131. Apollo 11 on the pad"


def test_png_text_chunks_are_read(tmp_path: Path, photo) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Title", "Grandma's birthday in Lisbon")
    info.add_text("Keywords", "family, cake")
    info.add_text("Software", "Shotwell 0.30")  # a program's name is not among the words read
    path = tmp_path / "party.png"
    photo.resize((160, 120)).save(path, pnginfo=info)
    assert picture_tags(path).words == "Grandma's birthday in Lisbon. family, cake"


def test_hostile_xmp_costs_nothing_but_its_words(tmp_path: Path, photo) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
        + ']><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'
    )
    exif = Image.Exif()
    exif[270] = "A rocket at dawn"
    path = tmp_path / "hostile.jpg"
    photo.save(path, exif=exif, xmp=laughs.encode())
    t0 = time.perf_counter()
    assert picture_tags(path).words == "A rocket at dawn"  # the packet refused: no entity expanded, the EXIF kept
    assert time.perf_counter() - t0 < 2.0
    broken = tmp_path / "broken.jpg"
    photo.save(broken, exif=exif, xmp=b"<x:xmpmeta><unclosed>")
    assert picture_tags(broken).words == "A rocket at dawn"


def test_a_recordings_id3_and_vorbis_tags_are_read(tmp_path: Path) -> None:
    mp3 = tmp_path / "episode.mp3"
    write_tagged(
        mp3, {"title": "Episode 12: the budget", "artist": "City council", "genre": "Blues", "encoder": "Lavf"}
    )
    assert audio_info(mp3).tags.words == "Episode 12: the budget. City council"  # not ID3v1's default genre
    ogg = tmp_path / "walk.ogg"  # Ogg Opus: Vorbis comments, which FFmpeg hands over as the stream's tags
    tags = {"title": "Dawn chorus in the park", "comment": "recorded in May"}
    write_tagged(ogg, tags, codec="libopus", on_stream=True)
    assert audio_info(ogg).tags.words == "Dawn chorus in the park. recorded in May"
    seconds, own = media_header(ogg)
    assert seconds == pytest.approx(2.0, abs=0.1) and own.words == "Dawn chorus in the park. recorded in May"
    bare = tmp_path / "bare.flac"
    write_tagged(bare, {}, codec="flac")
    assert audio_info(bare).tags.words == ""


def _sidecar_xmp(keyword: str) -> str:
    return XMP.replace("<rdf:li>space</rdf:li><rdf:li>NASA</rdf:li>", f"<rdf:li>{keyword}</rdf:li>")


def test_an_editors_xmp_sidecar_is_read_first_in_either_naming(tmp_path: Path, photo) -> None:
    from sensorium.media.probe import NotMedia, probe
    from sensorium.media.tags import sidecar, with_sidecar

    exif = Image.Exif()
    exif[270] = "A rocket at dawn"
    darktable, lightroom, alone = tmp_path / "IMG_0001.jpg", tmp_path / "IMG_0002.png", tmp_path / "IMG_0003.jpg"
    photo.save(darktable, exif=exif)
    photo.resize((160, 120)).save(lightroom)
    photo.save(alone)
    (tmp_path / "IMG_0001.jpg.xmp").write_text(_sidecar_xmp("Cape Canaveral"))  # darktable, digiKam
    (tmp_path / "IMG_0002.xmp").write_text(_sidecar_xmp("launch pad"))  # Lightroom, Bridge
    assert sidecar(darktable) == tmp_path / "IMG_0001.jpg.xmp" and sidecar(alone) is None
    words = with_sidecar(darktable, picture_tags(darktable)).words
    assert words.startswith("Launch day. A rocket on its pad before the launch. Cape Canaveral") and "dawn" in words
    assert "launch pad" in with_sidecar(lightroom, picture_tags(lightroom)).words
    assert with_sidecar(alone, FileTags()) == FileTags()
    with pytest.raises(NotMedia):  # a sidecar is passed over, not indexed as a note of XML
        probe(tmp_path / "IMG_0002.xmp")


def test_a_gps_position_is_named_by_its_places(tmp_path: Path, photo) -> None:
    from sensorium.media.places import iso6709_position, place_words, xmp_position

    lisbon = place_words(38.7223, -9.1393)
    assert "Lisbon" in lisbon and lisbon.endswith("Portugal")
    eiffel = place_words(48.8584, 2.2945)  # its nearest place is a suburb; the city it is in is named too
    assert "Paris" in eiffel and eiffel.endswith("France")
    assert place_words(0.0, 0.0) == "" and place_words(95.0, 10.0) == "" and place_words(-15.0, -140.0) == ""
    assert iso6709_position("+38.7223-009.1393+012.000/") == (38.7223, -9.1393)
    assert xmp_position("38,43.338N", "9,8.358W") == pytest.approx((38.7223, -9.1393), abs=1e-4)
    assert xmp_position("38.7N", "9W") is None
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (38.0, 43.0, 20.28), 3: "W", 4: (9.0, 8.0, 21.48)})
    path = tmp_path / "phone.jpg"
    photo.save(path, exif=exif)
    assert picture_tags(path).words == f"taken in {lisbon}"
    exif.get_ifd(0x8825).update({2: (0.0, 0.0, 0.0), 4: (0.0, 0.0, 0.0)})  # no fix
    photo.save(path, exif=exif)
    assert picture_tags(path).words == ""


def test_documents_say_their_title_subject_keywords_and_author(tmp_path: Path) -> None:
    import zipfile

    from documents import text_pdf, write_docx, write_epub, write_odt
    from sensorium.media.tags import document_tags

    book = {"title": "Dawn", "creator": "A. Writer", "subject": "sea"}
    epub = write_epub(tmp_path / "b.epub", ["Chapter one."], book)
    assert document_tags(epub).words == "Dawn. sea. A. Writer"  # titles first, the author last
    docx = write_docx(
        tmp_path / "r.docx", ["Text."], {"dc:title": "River report", "cp:keywords": "mill, water", "dc:creator": "User"}
    )
    assert document_tags(docx).words == "River report. mill, water"  # "User" is what Word writes unasked
    pdf = text_pdf(tmp_path / "m.pdf", ["Text."], metadata={"Title": "Microsoft Word - board_minutes.docx"})
    assert document_tags(pdf).words == "board minutes"
    odt = write_odt(tmp_path / "n.odt", ["Text."])
    with zipfile.ZipFile(odt, "a") as z:
        z.writestr(
            "meta.xml",
            '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<office:meta><dc:title>Groceries</dc:title><meta:keyword>eggs</meta:keyword>"
            "<meta:keyword>milk</meta:keyword></office:meta></office:document-meta>",
        )
    assert document_tags(odt).words == "Groceries. eggs, milk"
    note = tmp_path / "n.md"
    note.write_text("# A note\n")
    assert document_tags(note).words == ""
    broken = tmp_path / "x.docx"
    broken.write_bytes(docx.read_bytes()[:200])
    assert document_tags(broken).words == ""  # cut short: no words, no traceback


def test_the_countries_a_query_names_and_the_one_a_photo_was_taken_in() -> None:
    from sensorium.media.places import countries_asked, countries_named, taken_in_country

    assert countries_named("photos from Spain or the United Kingdom") == {"spain", "united kingdom"}
    assert countries_named("a spaniel in the garden") == set()  # whole words only
    # asked for as a place: after "in", "from", "to"..., or the whole query with a capital
    assert countries_asked("a beach in Spain") == {"spain"} == countries_asked("Spain")
    assert countries_asked("a trip to the United Kingdom") == {"united kingdom"}
    assert countries_asked("a turkey in the snow") == set() == countries_asked("turkey")  # a bird
    assert countries_asked("a jersey") == set() and countries_asked("photos from turkey") == {"turkey"}
    assert taken_in_country("Breakfast. taken in São Mamede, Lisbon, Portugal") == "portugal"
    assert taken_in_country("taken in Nowhere, Atlantis") is None  # not a country GeoNames says
    assert taken_in_country("Breakfast with grandma in Lisbon") is None  # a caption names no position


def test_a_continent_or_a_city_asks_for_its_countries() -> None:
    from sensorium.media.places import countries_asked

    europe = countries_asked("photos from Europe")
    assert {"portugal", "france", "russian federation", "cyprus"} <= europe  # GeoNames' continents
    assert not europe & {"japan", "turkey", "united states", "europe"}  # not a country named "Europe"
    assert countries_asked("Europe") == europe and "brazil" in countries_asked("a trip to South America")
    # a city, written with a capital after "in", "from"..., or alone: the countries with a city of that name
    assert countries_asked("a beach in Barcelona") >= {"spain"} and "portugal" not in countries_asked("in Barcelona")
    assert countries_asked("photos from London") == {"united kingdom", "canada"}
    assert countries_asked("New York") == {"united states"} == countries_asked("photos from New York City")
    assert countries_asked("a walk in Hyderabad") == {"india", "pakistan"}  # "Hyderābād": accents aside
    assert countries_asked("a cat in Nice") == {"france"}
    # words that are also towns stay words: lower case, not after a place word, or a country named
    assert countries_asked("a dog in nice weather") == set() == countries_asked("Reading a book")
    assert countries_asked("a beach in Spain near Valencia") == {"spain"}
