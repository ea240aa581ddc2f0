"""`sensorium export`: search hits written out as playable moments and copied files, in rank order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from clirun import cli
from sensorium.cli import EXIT_SOME_FAILED
from sensorium.errors import QueryError
from sensorium.export import export_hits, output_suffix


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    from sensorium.samples import collect_samples, collect_sound_samples

    folder = tmp_path_factory.mktemp("media")
    walk = collect_sound_samples(folder)
    if not walk:
        pytest.skip("pygame's sample sounds (a dev extra) are needed for the farm walk")
    for f in folder.iterdir():
        if f.name not in ("farm-walk.wav", "dog.mp3", "boom.wav"):
            f.unlink()
    photos = [p for p in collect_samples(folder / "photos") if p.name in ("cat-chelsea.png", "motorcycle.png")]
    for p in (folder / "photos").iterdir():
        if p not in photos:
            p.unlink()
    lib = tmp_path_factory.mktemp("lib") / "library"
    code, _, err = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0, err
    return folder, lib, walk


def test_a_search_piped_into_export_writes_its_moments_in_rank_order(library, tmp_path: Path) -> None:
    _, lib, walk = library
    code, hits_json, _ = cli(
        "search", "a rooster crowing", "--library", str(lib), "--json", "--limit", "3", "--min-score", "0"
    )
    hits = json.loads(hits_json)
    assert code == 0 and hits[0]["path"].endswith("farm-walk.wav"), hits
    out = tmp_path / "moments"
    code, report, err = cli("export", "-", "-o", str(out), "--json", stdin=hits_json)
    assert code == 0, err
    rows = json.loads(report)
    assert [r["rank"] for r in rows] == [1, 2, 3] and all(r["error"] is None for r in rows)
    first = Path(rows[0]["path"])
    assert first.parent == out and first.name.startswith("001-farm-walk-") and first.suffix == ".wav"
    info = sf.info(first)  # plays, and holds the moment asked: the rooster, not the whole walk
    assert info.duration == pytest.approx(hits[0]["end"] - hits[0]["start"], abs=0.01)
    start, end = walk["rooster"]
    assert hits[0]["start"] < end and hits[0]["end"] > start
    assert rows[0]["copied"] is True  # PCM in WAV: the samples themselves
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(r["path"]).name for r in rows)


def test_padding_widens_a_moment_but_not_past_the_files_ends_and_names_say_what_it_holds(
    library, tmp_path: Path
) -> None:
    folder, _, _ = library
    dog = folder / "dog.mp3"
    length = sf.info(dog).duration
    [row] = export_hits([{"path": str(dog), "start": 0.2, "end": length - 0.1, "modality": "audio"}], tmp_path, pad=1.0)
    assert row.error is None and row.start == 0.0 and row.end == pytest.approx(length, abs=0.06)
    assert Path(row.path).name == f"001-dog-0.00-{row.end:.2f}.mp3"  # an MP3 stays an MP3, copied
    assert row.copied and sf.info(row.path).duration == pytest.approx(row.end - row.start, abs=0.06)


def test_photos_and_passages_are_copied_whole_once(library, tmp_path: Path) -> None:
    folder, _, _ = library
    cat = folder / "photos" / "cat-chelsea.png"
    hits = [{"path": str(cat), "start": None, "end": None, "modality": "image"}] * 2
    rows = export_hits(hits, tmp_path)
    assert [r.path for r in rows] == [str(tmp_path / "001-cat-chelsea.png")] * 2
    assert (tmp_path / "001-cat-chelsea.png").read_bytes() == cat.read_bytes()
    assert len(list(tmp_path.iterdir())) == 1


def test_one_bad_hit_is_reported_and_the_others_are_written(library, tmp_path: Path) -> None:
    folder, _, _ = library
    gone = tmp_path / "gone.wav"
    shutil.copyfile(folder / "boom.wav", gone)
    hits = [
        {"path": str(gone), "start": 0.0, "end": 0.5, "modality": "audio"},
        {"path": str(folder / "boom.wav"), "start": 0.0, "end": 0.5, "modality": "audio"},
        {"path": str(folder / "boom.wav"), "start": 60.0, "end": 70.0, "modality": "audio"},
        {"path": str(folder / "boom.wav"), "start": "soon", "end": 1},
        {"start": 1.0, "end": 2.0},
        7,
    ]
    gone.unlink()
    out = tmp_path / "out"
    code, report, err = cli("export", "-", "-o", str(out), "--json", stdin=json.dumps(hits))
    assert code == EXIT_SOME_FAILED, err
    rows = json.loads(report)
    errors = [r["error"] for r in rows]
    assert errors[1] is None and Path(rows[1]["path"]).is_file()
    assert "no such file" in errors[0]
    assert "is past the end" in errors[2], errors[2]
    assert errors[3] == "start 'soon' is not a number of seconds"
    assert errors[4] == "a hit without a path" and "not a hit" in errors[5]
    # again: what is there is not overwritten unless asked
    again = [{"path": str(folder / "dog.mp3"), "start": 0.0, "end": 0.5}, hits[1]]
    code, report, _ = cli("export", "-", "-o", str(out), "--json", stdin=json.dumps(again))
    assert code == EXIT_SOME_FAILED and "exists" in json.loads(report)[1]["error"]
    code, report, _ = cli("export", "-", "-o", str(out), "--json", "--overwrite", stdin=json.dumps(again))
    assert code == 0 and json.loads(report)[1]["error"] is None


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        ("", "empty; pipe `sensorium search ... --json` into it"),
        ("not json", "not JSON"),
        ('{"path": "a.wav"}', "expected a list of hits"),
    ],
)
def test_input_that_is_not_hits_is_a_clear_error(tmp_path: Path, stdin: str, says: str) -> None:
    with pytest.raises(QueryError) as exc:  # the command line prints it as "error: ..." and exits 1
        cli("export", "-", "-o", str(tmp_path / "o"), stdin=stdin)
    assert str(exc.value).startswith("standard input: ") and says in str(exc.value)
    assert not (tmp_path / "o").exists()


def test_moments_keep_their_format_where_a_clip_can_take_it() -> None:
    assert output_suffix("a.mp3", "audio") == ".mp3" and output_suffix("a.oga", "audio") == ".ogg"
    assert output_suffix("a.wma", "audio") == ".m4a" and output_suffix("a.aac", "audio") == ".m4a"
    assert output_suffix("film.mkv", "video") == ".mkv" and output_suffix("old.avi", "video") == ".mp4"
    assert output_suffix("old.mpg", "video") == ".mp4"


def test_an_output_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    with pytest.raises(QueryError, match="is a file; give a folder"):
        cli("export", "-", "-o", str(taken), stdin="[]")
