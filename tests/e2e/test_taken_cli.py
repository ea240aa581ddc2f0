"""Searching a photo folder and recordings by when their files say they were made (``--taken``)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import av
import pytest
from PIL import Image

from clirun import cli


def _exif_taken(when: str) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = when  # DateTimeOriginal, as a camera writes it
    return exif


def _mp3(source: Path, out: Path, tags: dict[str, str]) -> None:
    with av.open(str(source)) as inp, av.open(str(out), "w") as dst:
        dst.metadata.update(tags)
        stream = dst.add_stream("libmp3lame", rate=44100, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=44100)
        frames = [f for frame in inp.decode(audio=0) for f in resampler.resample(frame)]
        for f in frames + resampler.resample(None):
            f.pts = None
            for packet in stream.encode(f):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> tuple[Path, Path]:
    from sensorium.samples import collect_sound_samples

    folder = tmp_path_factory.mktemp("dated")
    Image.open(samples / "cup-of-coffee.png").convert("RGB").save(
        folder / "coffee.jpg", exif=_exif_taken("2019:07:04 08:30:00")
    )
    Image.open(samples / "cat-chelsea.png").convert("RGB").save(
        folder / "cat.jpg", exif=_exif_taken("2023:06:14 18:23:11")
    )
    Image.open(samples / "cup-of-coffee.png").convert("RGB").rotate(90).save(folder / "coffee-undated.jpg")
    sounds = tmp_path_factory.mktemp("dated-sounds")
    collect_sound_samples(sounds)
    _mp3(sounds / "boom.wav", folder / "episode.mp3", {"title": "Episode 12", "date": "2021-03-05"})
    lib = tmp_path_factory.mktemp("datedlib") / "library"
    code, out, err = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["failed"] == 0, (out, err)
    return folder, lib


def _names(lib: Path, *args: str) -> list[str]:
    code, out, err = cli("search", *args, "--library", str(lib), "--json", "--min-score", "0", "--limit", "20")
    assert code == 0, err
    return [Path(h["path"]).name for h in json.loads(out)]


def test_search_keeps_to_the_days_the_files_say(dated: tuple[Path, Path]) -> None:
    _, lib = dated
    everything = _names(lib, "a cup of coffee")
    assert {"coffee.jpg", "coffee-undated.jpg", "cat.jpg"} <= set(everything)
    assert _names(lib, "a cup of coffee", "--taken", "2019") == ["coffee.jpg"]
    assert _names(lib, "a cup of coffee", "--taken", "2023-06-14") == ["cat.jpg"]
    assert _names(lib, "a cup of coffee", "--taken", "2023-06-15..") == []
    assert set(_names(lib, "an explosion", "--taken", "2020..2021")) == {"episode.mp3"}
    assert set(_names(lib, "a cup of coffee", "--taken", "..2022")) == {"coffee.jpg", "episode.mp3"}
    code, out, _ = cli("search", "a cup of coffee", "--taken", "2019", "--library", str(lib), "--json")
    hit = json.loads(out)[0]
    assert code == 0 and hit["taken"] == "2019-07-04T08:30:00"  # hits say when
    code, out, _ = cli("search", "a cat", "--library", str(lib), "--json", "--limit", "20", "--min-score", "0")
    undated = [h for h in json.loads(out) if h["path"].endswith("coffee-undated.jpg")]
    assert undated and undated[0]["taken"] is None
    code, out, _ = cli("search", "a cup of coffee", "--taken", "2019", "--library", str(lib))
    assert code == 0 and "2019-07-04 08:30:00" in out  # the table has a column for it when asked by date
    code, out, _ = cli("stats", "--library", str(lib), "--json")
    stats = json.loads(out)
    assert (stats["dated"], stats["first_taken"], stats["last_taken"]) == (
        3,
        "2019-07-04T08:30:00",
        "2023-06-14T18:23:11",
    )


def test_a_span_that_is_no_span_is_refused_clearly(dated: tuple[Path, Path]) -> None:
    from sensorium.errors import QueryError

    _, lib = dated
    for bad, why in (
        ("someday", "give a year"),
        ("last summer in Paris", "give a year"),
        ("2023-13", "month must be in 1..12"),
        ("2024..2023", "ends before"),
    ):
        with pytest.raises(QueryError, match=f"taken '{bad}'.*{why}"):  # the CLI prints it, exit code 2
            cli("search", "coffee", "--taken", bad, "--library", str(lib))


def test_days_in_words_are_a_span_too(dated: tuple[Path, Path]) -> None:
    _, lib = dated
    assert _names(lib, "a cup of coffee", "--taken", "July 2019") == ["coffee.jpg"]
    assert _names(lib, "a cup of coffee", "--taken", "summer 2023") == ["cat.jpg"]
    assert _names(lib, "--taken", "the 2020s") == ["episode.mp3", "cat.jpg"]
    code, _, err = cli("search", "a cat", "--taken", "summer 2023", "--library", str(lib))
    assert code == 0 and "--taken 'summer 2023' read as 2023-06..2023-08" in err  # what the words were read as


def test_describe_says_when_and_a_sidecars_date_counts_on_the_next_run(
    dated: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _ = dated
    code, out, err = cli("describe", str(folder / "cat.jpg"), "--json")
    assert code == 0 and json.loads(out)["taken"] == "2023-06-14T18:23:11", err
    code, out, _ = cli("describe", str(folder / "coffee-undated.jpg"), "--json")
    assert code == 0 and "taken" not in json.loads(out)
    mine = tmp_path / "photos"
    mine.mkdir()
    shutil.copyfile(folder / "coffee-undated.jpg", mine / "IMG_0007.jpg")
    lib = tmp_path / "library"
    assert cli("index", str(mine), "--library", str(lib))[0] == 0
    assert _names(lib, "a cup of coffee", "--taken", "2008") == []
    # an editor's sidecar dates the scan; it changes the photo as indexed, so the next run reads it
    (mine / "IMG_0007.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:DateCreated="2008-05"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    later = time.time() + 5
    os.utime(mine / "IMG_0007.jpg.xmp", (later, later))
    code, out, _ = cli("index", str(mine), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["indexed"] == 1
    assert _names(lib, "a cup of coffee", "--taken", "2008") == ["IMG_0007.jpg"]


def test_python_api_and_http_api_take_the_same_spans(dated: tuple[Path, Path]) -> None:
    from fastapi.testclient import TestClient

    import sensorium
    from sensorium.errors import QueryError
    from sensorium.media.dates import parse_span
    from sensorium.server.api import create_app

    _, path = dated
    lib = sensorium.open(path)
    assert [Path(h.path).name for h in lib.search("a cat", taken="2023", min_score=0)] == ["cat.jpg"]
    assert [Path(h.path).name for h in lib.search("a cat", taken=parse_span("2019"), min_score=0)] == ["coffee.jpg"]
    with pytest.raises(QueryError, match="taken"):
        lib.search("a cat", taken=("2019", None))  # type: ignore[arg-type]
    client = TestClient(create_app(lib, token="t0ken"), headers={"Authorization": "Bearer t0ken"})
    r = client.post("/api/search", json={"text": "a cat", "taken": "2023-06", "min_score": 0})
    assert r.status_code == 200 and [Path(h["path"]).name for h in r.json()["hits"]] == ["cat.jpg"]
    assert r.json()["hits"][0]["taken"] == "2023-06-14T18:23:11"
    r = client.post("/api/search", json={"text": "a cat", "taken": "June"})
    assert r.status_code == 400 and "taken" in r.json()["error"]
    r = client.post("/api/search", json={"text": "a cat from 2019", "min_score": 0})
    assert r.status_code == 200 and [Path(h["path"]).name for h in r.json()["hits"]] == ["coffee.jpg"]
    assert r.json()["days"] == {"said": "from 2019", "taken": "2019"}  # what was read, for the page to say
    r = client.post("/api/search", json={"text": "a cat from 2019", "min_score": 0, "read_dates": False})
    assert r.status_code == 200 and Path(r.json()["hits"][0]["path"]).name == "cat.jpg"


def test_a_library_indexed_before_dates_were_read_gets_them_on_its_next_run(
    dated: tuple[Path, Path], tmp_path: Path
) -> None:
    """A 0.3 library (no ``taken`` column, no ``dates`` in its manifest): the next index reads the dates once."""
    import lancedb

    folder, _ = dated
    lib = tmp_path / "library"
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["indexed"] == 4
    db = lancedb.connect(str(lib / "lance"))
    for table in ("records", "files"):
        db.open_table(table).drop_columns(["taken"])
    manifest = json.loads((lib / "manifest.json").read_text())
    del manifest["dates"]
    (lib / "manifest.json").write_text(json.dumps(manifest))
    assert _names(lib, "a cup of coffee", "--taken", "2019") == []  # opened: the column is back, empty
    records_before = db.open_table("records").count_rows()

    code, out, err = cli("index", str(folder), "--library", str(lib), "--json")
    report = json.loads(out)
    assert code == 0 and (report["redated"], report["indexed"], report["skipped"]) == (3, 0, 4), (out, err)
    assert _names(lib, "a cup of coffee", "--taken", "2019") == ["coffee.jpg"]
    assert set(_names(lib, "an explosion", "--taken", "2020..2021")) == {"episode.mp3"}  # every segment dated
    assert db.open_table("records").count_rows() == records_before  # rewritten in place, none doubled
    assert json.loads(cli("stats", "--library", str(lib), "--json")[1])["dated"] == 3
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["redated"] == 0  # once: the undated photo is not read again


def test_days_alone_list_the_files_made_then_in_the_order_they_were(dated: tuple[Path, Path]) -> None:
    from fastapi.testclient import TestClient

    import sensorium
    from sensorium.server.api import create_app

    _, lib = dated
    code, out, err = cli("search", "--taken", "..2023", "--library", str(lib), "--json", "--limit", "20")
    hits = json.loads(out)
    assert code == 0 and [Path(h["path"]).name for h in hits] == ["coffee.jpg", "episode.mp3", "cat.jpg"], err
    assert all(h["score"] == 1.0 and h["start"] is None and h["end"] is None for h in hits)
    assert hits[0]["taken"] == "2019-07-04T08:30:00"
    assert hits[0]["why"].startswith("made 2019-07-04 08:30:00; concepts: ") and "espresso" in hits[0]["why"]
    assert hits[1]["why"].startswith("made 2021-03-05 00:00:00; sounds: ")
    code, out, _ = cli("search", "--taken", "..2023", "--library", str(lib), "--json", "--limit", "1")
    assert [Path(h["path"]).name for h in json.loads(out)] == ["coffee.jpg"]  # the first made
    assert _names(lib, "--taken", "..2023", "--modality", "audio") == ["episode.mp3"]
    assert _names(lib, "--taken", "..2023", "--path", "*.jpg") == ["coffee.jpg", "cat.jpg"]
    code, _, err = cli("search", "--library", str(lib))  # nothing asked at all
    assert code == 2 and "days" in err  # the error names what may be given
    assert [Path(h.path).name for h in sensorium.open(lib).search(taken="2023")] == ["cat.jpg"]
    client = TestClient(create_app(sensorium.open(lib), token="t0ken"), headers={"Authorization": "Bearer t0ken"})
    r = client.post("/api/search", json={"taken": "2019"})
    assert r.status_code == 200 and [Path(h["path"]).name for h in r.json()["hits"]] == ["coffee.jpg"]


def test_days_said_in_the_words_keep_to_those_days(dated: tuple[Path, Path]) -> None:
    import sensorium

    _, lib = dated
    assert _names(lib, "a cup of coffee in summer 2019") == ["coffee.jpg"]
    assert _names(lib, "a cup of coffee from 2023") == ["cat.jpg"]  # only June 2023's photo is left
    since = _names(lib, "a cup of coffee since July 2019")
    assert since == _names(lib, "a cup of coffee", "--taken", "2019-07..") and "coffee-undated.jpg" not in since
    # the words are searched as written with --no-dates, and --taken wins over the words
    assert {"coffee.jpg", "coffee-undated.jpg"} <= set(_names(lib, "a cup of coffee from 2023", "--no-dates"))
    assert _names(lib, "a cup of coffee from 2023", "--taken", "2019") == ["coffee.jpg"]
    # words that name nothing once the days are out: the files made then, in the order they were made
    code, out, err = cli("search", "photos from 2019 to 2021", "--library", str(lib), "--json")
    hits = json.loads(out)
    assert code == 0 and [Path(h["path"]).name for h in hits] == ["coffee.jpg", "episode.mp3"], err
    assert '"from 2019 to 2021" read as --taken 2019..2021' in err  # said with --json too, on stderr
    assert hits[0]["why"].startswith("made 2019-07-04")
    code, out, err = cli("search", "a cup of coffee in 2019", "--library", str(lib))
    assert code == 0 and '"in 2019" read as --taken 2019' in err and "2019-07-04 08:30:00" in out
    hit = sensorium.open(lib).search("a cup of coffee in 2019")[0]
    assert Path(hit.path).name == "coffee.jpg" and hit.why.endswith("made 2019-07-04")
    as_written = sensorium.open(lib).search("a cat in 2019", read_dates=False, min_score=0)
    assert Path(as_written[0].path).name == "cat.jpg"  # the cat of 2023, searched by the words as written


def test_days_hold_for_a_search_by_example_too(dated: tuple[Path, Path]) -> None:
    """The example's look-alike rows were searched without the days: a 2023 photo answered --taken 2019."""
    folder, lib = dated
    cat = str(folder / "cat.jpg")
    assert _names(lib, "--like", cat, "--taken", "2030") == []
    assert _names(lib, "--like", cat, "--taken", "2019") == ["coffee.jpg"]
    assert "cat.jpg" not in _names(lib, "--like", cat, "a cup of coffee in 2019")
