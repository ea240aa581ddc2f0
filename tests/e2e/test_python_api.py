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
