"""A file's own words (a photo's caption, a podcast's ID3 title) found by search, beside what is seen and heard."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import av
import pytest
from PIL import Image

from clirun import cli


def _mp3_with_tags(source: Path, out: Path, tags: dict[str, str]) -> None:
    """``source`` re-encoded to MP3 with ID3 tags, as a podcast or a tagger writes them."""
    with av.open(str(source)) as inp, av.open(str(out), "w") as dst:
        dst.metadata.update(tags)
        stream = dst.add_stream("libmp3lame", rate=44100, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=44100)
        for frame in inp.decode(audio=0):
            frame.pts = None
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    dst.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> tuple[Path, dict[str, tuple[float, float]]]:
    from sensorium.samples import collect_sound_samples

    folder = tmp_path_factory.mktemp("tagged")
    exif = Image.Exif()
    exif[270] = "Breakfast with grandma in Lisbon"
    Image.open(samples / "cup-of-coffee.png").convert("RGB").save(folder / "coffee.jpg", exif=exif)
    shutil.copyfile(folder / "coffee.jpg", folder / "coffee-copy.jpg")
    shutil.copyfile(samples / "cat-chelsea.png", folder / "cat.png")
    sounds = tmp_path_factory.mktemp("sounds")
    places = collect_sound_samples(sounds)
    _mp3_with_tags(sounds / "farm-walk.wav", folder / "walk.mp3", {"title": "Walking the dog on the farm"})
    _mp3_with_tags(sounds / "boom.wav", folder / "episode.mp3", {"title": "Episode 12: the town budget"})
    phone = Image.Exif()  # a phone's photo: no caption, only where it was taken
    phone.get_ifd(0x8825).update({1: "N", 2: (38.0, 43.0, 20.28), 3: "W", 4: (9.0, 8.0, 21.48)})
    Image.open(samples / "rocket-launch.jpg").save(folder / "IMG_4031.jpg", exif=phone)
    shutil.copyfile(samples / "grace-hopper.jpg", folder / "grace-hopper.jpg")  # matplotlib's, with its comment
    return folder, places


def _search(lib: Path, *args: str) -> list[dict]:
    code, out, err = cli("search", *args, "--library", str(lib), "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def tags_lib(tmp_path_factory: pytest.TempPathFactory, tagged) -> Path:
    lib = tmp_path_factory.mktemp("tagslib") / "library"
    code, out, _ = cli("index", str(tagged[0]), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["failed"] == 0, out
    return lib


def test_a_photo_is_found_by_its_caption_once_and_with_what_it_shows(tags_lib: Path) -> None:
    hits = _search(tags_lib, "breakfast in Lisbon", "--limit", "3")
    assert Path(hits[0]["path"]).name in ("coffee.jpg", "coffee-copy.jpg"), hits
    assert 'tagged: "Breakfast with grandma in Lisbon"' in hits[0]["why"]
    assert "picture:" in hits[0]["why"]  # what the picture shows, beside the caption
    assert hits[0]["copies"]  # one hit for the photo and its copy
    assert [Path(h["path"]).name for h in hits[1:]] == ["IMG_4031.jpg"]  # the other photo taken in Lisbon
    cat = _search(tags_lib, "a cat", "--limit", "10")
    assert [Path(h["path"]).name for h in cat].count("cat.png") == 1 and Path(cat[0]["path"]).name == "cat.png"


def test_a_recording_is_found_by_its_title_over_its_whole_length(tags_lib: Path) -> None:
    hits = _search(tags_lib, "the budget of the town", "--limit", "3")
    assert Path(hits[0]["path"]).name == "episode.mp3", hits
    assert hits[0]["start"] == 0.0 and hits[0]["end"] == pytest.approx(2.2, abs=1.5)  # boom.wav: about 2 s
    assert 'tagged: "Episode 12: the town budget"' in hits[0]["why"]


def test_a_title_joins_the_moment_heard_and_keeps_its_span(tags_lib: Path, tagged) -> None:
    dog_start, dog_end = tagged[1]["dog"]
    hits = _search(tags_lib, "a dog barking", "--limit", "3")
    walk = [h for h in hits if Path(h["path"]).name == "walk.mp3"]
    assert walk, hits
    assert walk[0]["end"] - walk[0]["start"] < 20  # the bark, not the minute-long walk its title spans
    assert walk[0]["start"] < dog_end and walk[0]["end"] > dog_start, walk[0]
    assert walk[0]["why"].startswith("sound: ") and "tags: meaning" in walk[0]["why"]


def test_duplicates_and_the_setting_that_turns_tags_off(tags_lib: Path, tagged, tmp_path: Path, monkeypatch) -> None:
    code, out, _ = cli("duplicates", "--library", str(tags_lib), "--json")
    assert code == 0
    groups = [sorted(Path(f["path"]).name for f in g["files"]) for g in json.loads(out)]
    assert groups == [["coffee-copy.jpg", "coffee.jpg"]]  # the caption's record is not a picture to compare
    monkeypatch.setenv("SENSORIUM_FILE_TAGS", "0")
    lib = tmp_path / "untagged"
    assert cli("index", str(tagged[0]), "--library", str(lib))[0] == 0
    hits = _search(lib, "the budget of the town", "--min-score", "0", "--limit", "20")
    assert hits and not any("tagged:" in h["why"] for h in hits)


def test_describe_says_the_files_own_words(tags_lib: Path, tagged) -> None:
    code, out, _ = cli("describe", str(tagged[0] / "coffee.jpg"), str(tagged[0] / "episode.mp3"), "--json")
    assert code == 0
    photo, episode = json.loads(out)
    assert photo["file_tags"] == "Breakfast with grandma in Lisbon" and photo["alt_text"]  # beside what is seen
    assert episode["file_tags"] == "Episode 12: the town budget" and episode["duration"] > 1
    code, out, _ = cli("describe", str(tagged[0] / "cat.png"), "--json")
    assert code == 0 and "file_tags" not in json.loads(out)  # no words of its own: no key


def test_a_sidecar_edited_after_indexing_is_read_again(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "roll"
    folder.mkdir()
    shutil.copyfile(samples / "cup-of-coffee.png", folder / "IMG_0002.png")
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>{}</rdf:li>'
        "</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    side = folder / "IMG_0002.xmp"
    side.write_text(xmp.format("holiday in Kyoto"))
    lib = tmp_path / "lib"
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    report = json.loads(out)
    assert code == 0 and (report["indexed"], report["not_media"], report["records"]) == (1, 1, 2)
    assert 'tagged: "holiday in Kyoto"' in _search(lib, "Kyoto")[0]["why"]
    side.write_text(xmp.format("a wedding in Osaka"))  # the editor rewrites it; the photo is untouched
    stamp = (folder / "IMG_0002.png").stat().st_mtime + 5
    os.utime(side, (stamp, stamp))
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["indexed"] == 1
    hits = _search(lib, "Osaka", "--min-score", "0")
    assert len(hits) == 1 and 'tagged: "a wedding in Osaka"' in hits[0]["why"]
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    assert json.loads(out)["skipped"] == 1  # and unchanged since: not read again


def test_a_phones_photo_is_found_by_where_it_was_taken_and_names_by_every_word(tags_lib: Path) -> None:
    for query in ("photos from Lisbon", "Portugal"):
        hits = _search(tags_lib, query, "--limit", "3")
        assert Path(hits[0]["path"]).name == "IMG_4031.jpg", hits
        assert 'Intendente, Lisbon, Portugal"' in hits[0]["why"] and "tagged:" in hits[0]["why"]
    europe = _search(tags_lib, "photos from Europe", "--limit", "3")  # a continent: its countries
    assert Path(europe[0]["path"]).name == "IMG_4031.jpg" and europe[0]["score"] > 0.3, europe
    for query in ("photos from Spain", "photos taken in Italy", "a rocket launch in Madrid"):
        hits = _search(tags_lib, query, "--min-score", "0")
        [phone] = [h for h in hits if Path(h["path"]).name == "IMG_4031.jpg"]
        assert phone["score"] <= 0.3 and "taken in Portugal, not where the words ask" in phone["why"], phone
    # the country holds for what is seen too: the rocket was launched in Portugal, as far as its GPS says
    [rocket] = _search(tags_lib, "a rocket launch", "--limit", "1")
    assert Path(rocket["path"]).name == "IMG_4031.jpg" and rocket["score"] > 0.9, rocket
    elsewhere = _search(tags_lib, "a rocket launch in Italy", "--min-score", "0")
    elsewhere += _search(tags_lib, "a rocket launch from Kyoto", "--min-score", "0")  # a city: its country
    elsewhere += _search(tags_lib, "photos from Asia", "--min-score", "0")
    assert all(h["score"] <= 0.3 for h in elsewhere if Path(h["path"]).name == "IMG_4031.jpg"), elsewhere
    for query in ("a city street", "the beach", "climate policy"):  # not a place's words: nothing tagged says so
        assert not any("tagged:" in h["why"] for h in _search(tags_lib, query)), query
    hits = _search(tags_lib, "Grace Hopper", "--limit", "1")  # a name the sentence encoder does not know
    assert Path(hits[0]["path"]).name == "grace-hopper.jpg" and "every word tagged" in hits[0]["why"], hits


def test_a_documents_title_and_author_find_it(tmp_path: Path) -> None:
    from documents import text_pdf, write_docx, write_epub

    folder = tmp_path / "docs"
    folder.mkdir()
    write_epub(
        folder / "novel.epub",
        ["The ship sailed at dawn across the grey sea.", "They reached the harbour."],
        {"title": "The Lighthouse Keeper's Daughter", "creator": "Mirela Kowalczyk"},
    )
    write_docx(
        folder / "report.docx",
        ["Samples were taken at six points downstream of the mill."],
        {"dc:title": "Quarterly report on river pollution", "dc:creator": "Administrator"},
    )
    text_pdf(
        folder / "minutes.pdf",
        ["The meeting opened at nine."],
        metadata={"Title": "Microsoft Word - harbour_board_minutes.docx", "Keywords": "ferries, tolls"},
    )
    lib = tmp_path / "lib"
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["records"] == 3 + 3  # a passage each, and each one's own words
    for query, expected, words in [
        ("Mirela Kowalczyk", "novel.epub", "The Lighthouse Keeper's Daughter. Mirela Kowalczyk"),
        ("river pollution", "report.docx", "Quarterly report on river pollution"),  # not "Administrator"
        ("ferries", "minutes.pdf", "harbour board minutes. ferries, tolls"),  # not "Microsoft Word - …docx"
    ]:
        hits = _search(lib, query, "--limit", "1")
        assert Path(hits[0]["path"]).name == expected, (query, hits)
        assert "tagged: " in hits[0]["why"] and f'{words[-28:]}"' in hits[0]["why"], hits[0]["why"]
        assert "Microsoft" not in hits[0]["why"]
