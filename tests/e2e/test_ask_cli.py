"""`sensorium ask`: closed questions about photos, recordings and notes, answered from what the models read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clirun import cli
from sensorium.cli import EXIT_SOME_FAILED
from sensorium.errors import QueryError

SPEECH = Path(__file__).resolve().parent.parent / "data" / "speech" / "meeting.flac"
KEYS = {"path", "question", "kind", "answer", "about", "score", "when", "error"}  # README: ask --json


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    from sensorium.samples import collect_samples, collect_sound_samples

    folder = tmp_path_factory.mktemp("media")
    walk = collect_sound_samples(folder / "sounds")
    if not walk:
        pytest.skip("pygame's sample sounds (a dev extra) are needed for the farm walk")
    for f in (folder / "sounds").iterdir():
        if f.name not in ("farm-walk.wav", "dog.mp3"):
            f.unlink()
    collect_samples(folder)
    shutil.copyfile(SPEECH, folder / "sounds" / "meeting.flac")
    lib = tmp_path_factory.mktemp("lib") / "library"
    code, _, err = cli("index", str(folder / "sounds"), "--library", str(lib))  # the recordings: moments say when
    assert code == 0, err
    return folder, lib, walk


def ask(lib: Path, question: str, *files: Path) -> list[dict]:
    code, out, err = cli("ask", question, *map(str, files), "--library", str(lib), "--json")
    answers = json.loads(out)
    assert all(set(a) == KEYS for a in answers), answers
    assert code == (EXIT_SOME_FAILED if any(a["error"] for a in answers) else 0), err
    return answers


def test_yes_or_no_about_what_a_photo_shows_and_a_recording_holds(media) -> None:
    folder, lib, _ = media
    cat, hopper, dog = folder / "cat-chelsea.png", folder / "grace-hopper.jpg", folder / "sounds" / "dog.mp3"
    answers = ask(lib, "Is there a cat?", cat, hopper, dog)
    assert [a["answer"] for a in answers] == ["yes", "no", "no"], answers
    assert answers[0]["about"] == "a cat" and answers[0]["score"] > answers[2]["score"]
    answers = ask(lib, "Is this a woman in uniform?", hopper, cat)
    assert [a["answer"] for a in answers] == ["yes", "no"], answers


def test_a_recording_says_yes_and_when(media) -> None:
    folder, lib, walk = media
    answers = ask(lib, "can you hear a dog barking?", folder / "sounds" / "farm-walk.wav", folder / "cat-chelsea.png")
    walk_answer, photo = answers
    assert walk_answer["answer"] == "yes" and photo["answer"] != "yes", answers
    start, end = walk["dog"]
    when = walk_answer["when"]
    assert when is not None and when["start"] < end and when["end"] > start, (when, walk["dog"])
    assert photo["when"] is None


def test_how_many_counts_the_detectors_boxes_and_faces(media) -> None:
    folder, lib, _ = media
    answers = ask(lib, "How many people are there?", folder / "grace-hopper.jpg", folder / "cat-chelsea.png")
    assert [(a["answer"], a["about"]) for a in answers] == [(1, "person"), (0, "person")], answers
    answers = ask(lib, "how many faces?", folder / "grace-hopper.jpg", folder / "cat-chelsea.png")
    assert [(a["answer"], a["about"]) for a in answers] == [(1, "face"), (0, "face")], answers  # not the cat's
    [sound] = ask(lib, "how many people?", folder / "sounds" / "dog.mp3")
    assert sound["answer"] is None and "counting works on a picture" in sound["error"]
    [dragons] = ask(lib, "how many dragons?", folder / "rocket-launch.jpg")
    assert "cannot count 'dragons'" in dragons["error"]


def test_what_it_says_reads_the_text_or_hears_the_speech(media) -> None:
    folder, lib, _ = media
    page, note, meeting = (
        folder / "scanned-page.png",
        folder / "observatory-trip.md",
        folder / "sounds" / "meeting.flac",
    )
    read, written, said = ask(lib, "What does it say?", page, note, meeting)
    assert "markers" in read["answer"] and "Andromeda" in written["answer"], (read, written)
    assert "budget" in said["answer"].lower(), said


def test_what_it_shows_is_its_description(media) -> None:
    folder, lib, _ = media
    photo, sound = ask(lib, "What is this?", folder / "cat-chelsea.png", folder / "sounds" / "dog.mp3")
    assert photo["answer"].startswith("A picture") and "cat" in photo["answer"], photo
    assert "dog" in sound["answer"], sound


def test_bad_files_and_questions(media, tmp_path: Path) -> None:
    folder, lib, _ = media
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    missing, ok = ask(lib, "is there a cat?", tmp_path / "nowhere.jpg", folder / "cat-chelsea.png")
    assert missing["answer"] is None and missing["error"] and ok["answer"] == "yes"
    assert "nowhere.jpg" not in missing["error"]  # the answer names the file; its reason does not again
    [cut] = ask(lib, "what is this?", empty)
    assert cut["answer"] is None and "empty" in cut["error"], cut
    with pytest.raises(QueryError, match="cannot answer that"):
        cli("ask", "Why is the sky blue?", str(folder / "cat-chelsea.png"), "--library", str(lib))
