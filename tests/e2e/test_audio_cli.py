"""Sound and speech end to end: real recordings indexed, searched, classified, described and cut."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clirun import cli

SPEECH = Path(__file__).resolve().parent.parent / "data" / "speech"
FIXTURES = json.loads((SPEECH / "fixtures.json").read_text())["files"]


@pytest.fixture(scope="session")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[float, float]]]:
    from sensorium.samples import collect_sound_samples

    folder = tmp_path_factory.mktemp("sounds")
    places = collect_sound_samples(folder)
    shutil.copyfile(SPEECH / "meeting.flac", folder / "meeting.flac")
    return folder, places


@pytest.fixture(scope="session")
def audio_lib(tmp_path_factory: pytest.TempPathFactory, sounds) -> Path:
    lib = tmp_path_factory.mktemp("audiolib") / "library"
    code, out, _ = cli("index", str(sounds[0]), "--library", str(lib), "--json")
    report = json.loads(out)
    assert code == 0, report["failures"]
    assert report["failed"] == 0 and report["indexed"] == len(list(sounds[0].iterdir()))
    return lib


def search(lib: Path, *args: str) -> list[dict]:
    code, out, err = cli("search", *args, "--library", str(lib), "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("a dog barking", "dog"), ("a rooster crowing", "rooster"), ("a cow mooing", "cow"), ("an owl hooting", "owl")],
)
def test_sound_found_by_words(audio_lib: Path, query: str, expected: str) -> None:
    hits = search(audio_lib, query, "--modality", "audio", "--min-score", "0", "--limit", "3")
    names = [Path(h["path"]).stem for h in hits]
    # the animal's own clip, or its moment inside the farm walk, comes first
    assert names[0] in (expected, "farm-walk"), hits
    assert expected in names, hits


def test_a_sound_scores_by_its_tags_meaning_not_again_by_their_words(audio_lib: Path) -> None:
    """Tag names are a sound's keywords, and tag matching reads them already: no second boost.

    Counted twice, "cats" in a forest walk's weak tag "roaring cats" lifted it over a cat's meow.
    """
    hits = search(audio_lib, "a dog barking", "--modality", "audio", "--min-score", "0", "--limit", "5")
    sounds = [h for h in hits if "sounds:" in h["why"]]
    assert sounds and all("keywords" not in h["why"] for h in sounds), hits
    for h in sounds:  # one track, no example: the score is the meaning
        assert f"meaning {h['score']:.2f}" in h["why"], h


@pytest.mark.parametrize("query", ["a rabbit in the grass", "skyscrapers at night", "a spreadsheet of numbers"])
def test_words_that_name_no_sound_find_no_confident_sound(audio_lib: Path, query: str) -> None:
    """Tag matching has a "no sound" option: the least bad tag ("Pig" for a rabbit) is not a confident answer."""
    hits = search(audio_lib, query, "--modality", "audio", "--min-score", "0", "--limit", "5")
    assert hits and max(h["score"] for h in hits) < 0.5, hits
    named = search(audio_lib, "a pig oinking", "--modality", "audio", "--min-score", "0", "--limit", "1")
    assert named[0]["score"] > 0.8, named  # a word that names a sound keeps its weight


def test_moment_inside_a_long_recording(audio_lib: Path, sounds) -> None:
    _, places = sounds
    hits = search(audio_lib, "a dog barking", "--path", "*farm-walk.wav", "--min-score", "0", "--limit", "3")
    best = hits[0]
    start, end = places["dog"]
    assert best["start"] is not None and best["end"] > best["start"]
    assert abs(best["start"] - start) <= 2.0 and abs(best["end"] - end) <= 2.0, (best, places["dog"])
    # merged: no two results of one file overlap
    spans = sorted((h["start"], h["end"]) for h in hits)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_a_clip_of_the_sound_outranks_its_moment_in_a_long_recording(audio_lib: Path, sounds) -> None:
    """A moment is ranked on its minute too: the dog in a farm walk is a dog among cows and a rooster."""
    _, places = sounds
    for animal, query in (("dog", "a dog barking"), ("horse", "a horse neighing"), ("cow", "a cow mooing")):
        hits = search(audio_lib, query, "--modality", "audio", "--min-score", "0", "--limit", "5")
        names = [Path(h["path"]).stem for h in hits]
        assert names[:2] == [animal, "farm-walk"], hits
        start, end = places[animal]
        assert abs(hits[1]["start"] - start) <= 2.0 and abs(hits[1]["end"] - end) <= 2.0, (hits[1], places[animal])


def test_steady_sound_is_one_record_not_one_a_second(sounds, tmp_path: Path) -> None:
    """A quiet two-hour recording was 7,200 records (101 MB): the hiss between the animals is one record a stretch."""
    lib = str(tmp_path / "lib")
    code, out, _ = cli("index", str(sounds[0] / "farm-walk.wav"), "--library", lib, "--json")
    assert code == 0
    assert json.loads(out)["records"] <= 35  # 65 windows of 2 s every 1 s
    hits = search(Path(lib), "a dog barking", "--min-score", "0", "--limit", "1")
    start, end = sounds[1]["dog"]
    assert abs(hits[0]["start"] - start) <= 2.0 and abs(hits[0]["end"] - end) <= 2.0, (hits, sounds[1]["dog"])


def test_a_new_recipe_leaves_no_records_of_the_old_one(sounds, tmp_path: Path, monkeypatch) -> None:
    """A recipe that merges windows makes fewer records: the old ones it no longer writes must not linger."""
    from sensorium.models import offline_audio

    lib = str(tmp_path / "lib")
    walk = str(sounds[0] / "farm-walk.wav")
    with monkeypatch.context() as m:  # the recipe before steady runs: one record a window
        m.setattr(offline_audio, "STEADY_WINDOWS", 1)
        m.setattr(offline_audio, "RECIPE_VERSION", "old")
        code, out, _ = cli("index", walk, "--library", lib, "--json")
        assert code == 0 and json.loads(out)["records"] >= 60
    code, out, _ = cli("index", walk, "--library", lib, "--json")
    report = json.loads(out)
    assert code == 0 and report["indexed"] == 1 and report["records"] <= 35
    import sensorium

    assert sensorium.open(lib).store().count() == report["records"]
    hits = search(Path(lib), "a dog barking", "--min-score", "0", "--limit", "50")
    spans = sorted((h["start"], h["end"]) for h in hits)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans


def test_speech_found_by_meaning_and_keyword_with_its_time(audio_lib: Path) -> None:
    phrase = FIXTURES["meeting.flac"]["phrases"][1]  # "First we need to discuss the budget for next year."
    for query in ("where they discuss the budget", "budget"):
        hits = search(audio_lib, query, "--limit", "3")
        top = hits[0]
        assert Path(top["path"]).name == "meeting.flac", hits
        assert abs(top["start"] - phrase["start"]) <= 1.0 and abs(top["end"] - phrase["end"]) <= 1.0, top
        assert "budget" in top["why"]


def test_search_by_example_sound(audio_lib: Path, sounds) -> None:
    hits = search(audio_lib, "--like", str(sounds[0] / "horse.mp3"), "--modality", "audio", "--limit", "3")
    assert Path(hits[0]["path"]).name in ("horse.mp3", "farm-walk.wav")
    assert "looks alike" in hits[0]["why"] or "sounds" in hits[0]["why"]


def test_classify_sounds(sounds) -> None:
    folder = sounds[0]
    labels = "dog barking, cat meowing, cow mooing, rooster crowing, explosion"
    files = ["dog.mp3", "cat.mp3", "cow.mp3", "rooster.mp3", "boom.wav"]
    code, out, _ = cli("classify", *[str(folder / f) for f in files], "--labels", labels, "--json")
    assert code == 0
    got = [r["labels"][0]["label"] for r in json.loads(out)]
    want = ["dog barking", "cat meowing", "cow mooing", "rooster crowing", "explosion"]
    assert sum(g == w for g, w in zip(got, want, strict=True)) >= 4, got


def test_a_single_label_is_scored_on_its_own(sounds) -> None:
    """One label has no rival: a softmax would give it 1.0 for any file."""
    folder = sounds[0]
    code, out, _ = cli("classify", str(folder / "dog.mp3"), str(folder / "meeting.flac"), "--labels", "dog", "--json")
    assert code == 0
    dog, meeting = json.loads(out)
    assert dog["labels"][0]["label"] == "dog" and dog["labels"][0]["score"] > 0.5 and not dog["abstained"]
    assert meeting["abstained"] and all(x["score"] < 0.5 for x in meeting["labels"])
    assert [x["label"] for x in meeting["labels"]] == ["dog"]  # its score is shown (the list was empty)


def test_a_few_milliseconds_are_not_an_example(audio_lib, tmp_path: Path) -> None:
    """128 samples are all padding to the taggers: an error, not three unrelated hits at 1.0."""
    from sensorium.errors import QueryError

    tiny = tmp_path / "tiny.wav"
    sf.write(tiny, np.random.default_rng(0).normal(0, 0.1, 128).astype(np.float32), 16_000)
    with pytest.raises(QueryError, match=r"only 8 ms of sound \(at least 0.1 s needed\)"):
        cli("search", "--like", str(tiny), "--library", str(audio_lib))
    code, out, _ = cli("classify", str(tiny), "--labels", "dog, rain", "--json")
    assert code == 3 and "only 8 ms" in json.loads(out)[0]["error"]


def test_multi_label_hears_each_animal_anywhere_in_a_long_recording(sounds) -> None:
    labels = "dog barking, cow mooing, rooster crowing, horse neighing, explosion, rain, music, speech"
    code, out, _ = cli("classify", str(sounds[0] / "farm-walk.wav"), "--multi-label", "--labels", labels, "--json")
    assert code == 0
    kept = {x["label"] for x in json.loads(out)[0]["labels"]}
    assert kept == {"dog barking", "cow mooing", "rooster crowing", "horse neighing"}, kept


def test_speech_is_people_talking_not_music(sounds) -> None:
    """Tag matching gave "people talking" the tag Conversation alone: one man speaking came out "music"."""
    labels = "a dog barking, traffic, music, a rabbit, people talking"
    code, out, _ = cli("classify", str(sounds[0] / "meeting.flac"), "--labels", labels, "--json")
    assert code == 0
    ranked = json.loads(out)[0]["labels"]
    assert ranked[0]["label"] == "people talking" and ranked[0]["score"] > 2 * ranked[1]["score"], ranked


def test_describe_json_srt_vtt(sounds, tmp_path: Path) -> None:
    meeting = sounds[0] / "meeting.flac"
    code, out, _ = cli("describe", str(meeting), "--json")
    assert code == 0
    desc = json.loads(out)
    speech = [e for e in desc["events"] if e["kind"] == "speech"]
    assert any("budget" in e["text"].lower() for e in speech)
    phrase = FIXTURES["meeting.flac"]["phrases"][1]
    budget = next(e for e in speech if "budget" in e["text"].lower())
    assert abs(budget["start"] - phrase["start"]) <= 1.0

    code, out, _ = cli("describe", str(sounds[0] / "farm-walk.wav"), "--format", "vtt", "--no-speech")
    assert code == 0
    _check_vtt(out)
    assert "[" in out and any(w in out.lower() for w in ("dog", "bark"))
    dog_cues = [c for c in out.split("\n\n") if "dog" in c or "bark" in c]
    assert len(dog_cues) == 1, out  # one cue however many tags name the bark
    assert "noise" not in out, out  # the walk's faint hiss is not captioned between the animals

    code, out, _ = cli("describe", str(meeting), "--format", "vtt", "--no-speech")
    assert code == 0 and "[speech" in out  # no transcript: the captions still say someone speaks

    srt_path = tmp_path / "meeting.srt"
    code, _, _ = cli("describe", str(meeting), "--format", "srt", "-o", str(srt_path))
    assert code == 0
    _check_srt(srt_path.read_text())


def test_describe_output_never_loses_a_file(sounds, tmp_path: Path) -> None:
    src = tmp_path / "dog.mp3"
    shutil.copyfile(sounds[0] / "dog.mp3", src)
    from sensorium.errors import QueryError

    before = src.read_bytes()
    with pytest.raises(QueryError, match="is a file being described"):
        cli("describe", str(src), "--no-speech", "-o", str(src))
    assert src.read_bytes() == before
    with pytest.raises(QueryError, match=r"folder .* does not exist; create it first"):
        cli("describe", str(src), "--no-speech", "-o", str(tmp_path / "no" / "d.json"))
    out = tmp_path / "d.json"
    assert cli("describe", str(src), "--no-speech", "-o", str(out))[0] == 0
    first = json.loads(out.read_text())
    with pytest.raises(QueryError, match="already exists; pass --overwrite"):
        cli("describe", str(src), "--no-speech", "-o", str(out), "--format", "vtt")
    assert json.loads(out.read_text()) == first
    assert cli("describe", str(src), "--no-speech", "-o", str(out), "--format", "vtt", "--overwrite")[0] == 0
    assert out.read_text().startswith("WEBVTT")


def test_a_described_recording_is_kept_in_the_library_until_it_changes(
    sounds, audio_lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sensorium.timeline

    src = tmp_path / "walk.wav"
    shutil.copyfile(sounds[0] / "farm-walk.wav", src)
    args = ("describe", str(src), "--no-speech", "--json", "--library", str(audio_lib))
    code, first, _ = cli(*args)
    assert code == 0 and json.loads(first)["events"]
    real = sensorium.timeline._describe
    calls: list[str] = []

    def counted(lib, path, **kwargs):
        calls.append(path.name)
        return real(lib, path, **kwargs)

    monkeypatch.setattr(sensorium.timeline, "_describe", counted)
    renamed = tmp_path / "renamed.wav"
    shutil.copyfile(src, renamed)
    assert cli(*args)[1] == first and calls == []  # kept: not decoded again
    again = json.loads(cli("describe", str(renamed), "--no-speech", "--json", "--library", str(audio_lib))[1])
    assert again == {**json.loads(first), "path": str(renamed)} and calls == []  # same content, another name
    assert cli(*args, "--min-score", "0.5")[0] == 0 and calls == ["walk.wav"]  # other options: described
    shutil.copyfile(sounds[0] / "dog.mp3", src)  # new content under the old name
    code, changed, _ = cli(*args)
    assert code == 0 and calls == ["walk.wav", "walk.wav"] and changed != first


def test_forgetting_a_recording_forgets_its_kept_timeline_unless_a_copy_is_indexed(sounds, tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    one, two = folder / "dog.mp3", folder / "copy.mp3"
    shutil.copyfile(sounds[0] / "dog.mp3", one)
    shutil.copyfile(one, two)
    lib = str(tmp_path / "lib")
    assert cli("index", str(folder), "--library", lib)[0] == 0
    assert cli("describe", str(one), "--no-speech", "--json", "--library", lib)[0] == 0
    kept = list((tmp_path / "lib" / "described").glob("*/*.json"))
    assert len(kept) == 1 and "dog" in kept[0].read_text()
    assert cli("forget", str(one), "--library", lib)[0] == 0
    assert kept[0].is_file()  # the copy holds the same sound
    two.unlink()
    assert cli("index", str(folder), "--prune", "--library", lib)[0] == 0
    assert not kept[0].parent.exists()


def test_usage_errors_exit_2(sounds) -> None:
    dog = str(sounds[0] / "dog.mp3")
    for args in (
        ("describe", dog, "--format", "xml"),
        ("describe", dog, dog, "--format", "srt"),
        ("describe", dog, "--format", "vtt", "--json"),
        ("classify", dog),
        ("classify", dog, "--labels", " , "),
        ("clip", dog, "-s", "-1", "-e", "2", "-o", "x.wav"),
        ("clip", dog, "-s", "3", "-e", "2", "-o", "x.wav"),
        ("clip", dog, "-s", "nan", "-e", "2", "-o", "x.wav"),
    ):
        code, _, err = cli(*args)
        assert code == 2 and "Usage:" in err, (args, code, err)


def _check_srt(text: str) -> None:
    import re

    blocks = [b for b in text.strip().split("\n\n") if b]
    assert blocks
    last_start = -1.0
    for i, block in enumerate(blocks, 1):
        lines = block.split("\n")
        assert lines[0] == str(i)
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})", lines[1])
        assert m, lines[1]
        v = [int(x) for x in m.groups()]
        start = v[0] * 3600 + v[1] * 60 + v[2] + v[3] / 1000
        end = v[4] * 3600 + v[5] * 60 + v[6] + v[7] / 1000
        assert end > start >= last_start
        last_start = start
        assert len(lines) >= 3 and all(lines[2:])


def _check_vtt(text: str) -> None:
    import re

    assert text.startswith("WEBVTT\n")
    cues = [b for b in text.split("\n\n")[1:] if b.strip()]
    assert cues
    for cue in cues:
        lines = cue.strip("\n").split("\n")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", lines[0]), lines[0]
        assert len(lines) >= 2


def test_not_steers_sound_search_away(audio_lib) -> None:
    """Sounds are scored by tag matching; --not must demote what it names even when a broad tag ("Animal") matches."""

    def dog_rank(*extra: str) -> tuple[int, float]:
        hits = search(audio_lib, "an animal", "--modality", "audio", "--min-score", "0", "--limit", "20", *extra)
        return next(((i, h["score"]) for i, h in enumerate(hits) if Path(h["path"]).name == "dog.mp3"), (99, 0.0))

    (plain, score), (steered, _) = dog_rank(), dog_rank("--not", "dog")
    assert plain <= 3 and steered >= plain + 3
    # the avoided words cut the bark's own score, not only its rank (it kept 0.92 of 0.93)
    _, barking = dog_rank("--not", "a dog barking")
    assert score > 0.5 and barking < 0.3, (score, barking)


def test_not_steers_a_search_by_example_sound(audio_lib, sounds) -> None:
    dog = str(sounds[0] / "dog.mp3")

    def dog_places(*extra: str) -> list[int]:
        hits = search(audio_lib, "--like", dog, "--modality", "audio", "--min-score", "0", "--limit", "10", *extra)
        return [i for i, h in enumerate(hits) if "bark" in h["why"]]

    assert dog_places()[0] == 0  # the bark itself, first
    assert min(dog_places("--not", "dog barking"), default=10) >= 4  # barks go below other animals


def test_a_video_example_is_heard_when_sounds_are_asked_for(audio_lib, sounds, tmp_path: Path) -> None:
    """A phone video of a barking dog finds the recorded barks by its sound track."""
    import av

    from sensorium.media.audio import load_audio

    wave = load_audio(sounds[0] / "dog.mp3", 44_100)
    video = tmp_path / "dog-video.mp4"
    with av.open(str(video), "w") as out:
        vs = out.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        aus = out.add_stream("aac", rate=44_100, layout="mono")
        for i in range(round(len(wave) / 44_100 * 10)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        for i in range(0, len(wave) - 1024, 1024):
            af = av.AudioFrame.from_ndarray(wave[None, i : i + 1024].astype(np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts = 44_100, i
            out.mux(aus.encode(af))
        out.mux(aus.encode(None))
    hits = search(audio_lib, "--like", str(video), "--modality", "audio", "--limit", "3")
    assert hits and "bark" in hits[0]["why"], hits
    silent_film = tmp_path / "no-sound.mp4"
    with av.open(str(video)) as src, av.open(str(silent_film), "w") as out:
        vs = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = vs
                out.mux(packet)
    from sensorium.errors import QueryError

    with pytest.raises(QueryError, match="it has no sound track; drop --modality audio"):
        cli("search", "--like", str(silent_film), "--modality", "audio", "--library", str(audio_lib))


def test_a_silent_example_is_refused(audio_lib, tmp_path: Path) -> None:
    from sensorium.errors import QueryError

    sf.write(tmp_path / "silence.wav", np.zeros(16_000 * 3, np.float32), 16_000)
    with pytest.raises(QueryError, match="it is silent"):
        cli("search", "--like", str(tmp_path / "silence.wav"), "--library", str(audio_lib))


def test_clip_exports_the_moment(sounds, tmp_path: Path) -> None:
    out_path = tmp_path / "dog-moment.wav"
    code, out, _ = cli(
        "clip", str(sounds[0] / "farm-walk.wav"), "--start", "10.5", "--end", "12.25", "-o", str(out_path), "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["copied"] is True and (result["start"], result["end"]) == (10.5, 12.25)
    data, rate = sf.read(out_path)
    src, _ = sf.read(sounds[0] / "farm-walk.wav")
    assert len(data) == round(1.75 * rate)
    assert np.allclose(data, src[round(10.5 * rate) : round(12.25 * rate)], atol=1e-4)


def test_clip_of_an_mp3_reports_clean_times(sounds, tmp_path: Path) -> None:
    """An MP3's first packet carries a negative time (encoder delay); the report never starts before 0."""
    out_path = tmp_path / "dog-start.mp3"
    code, out, _ = cli("clip", str(sounds[0] / "dog.mp3"), "--start", "0", "--end", "1", "-o", str(out_path), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["copied"] is True and result["start"] == 0.0
    assert 0.9 <= result["end"] <= 1.1 and result["end"] == round(result["end"], 6)
    from sensorium.errors import MediaError

    with pytest.raises(MediaError, match="already exists; pass --overwrite"):
        cli("clip", str(sounds[0] / "dog.mp3"), "--start", "0", "--end", "1", "-o", str(out_path))


def test_a_wav_moment_goes_into_mp4_as_aac(sounds, tmp_path: Path) -> None:
    """ffmpeg would copy PCM into MP4, which few players play."""
    import av

    out_path = tmp_path / "moment.mp4"
    code, out, _ = cli("clip", str(sounds[0] / "farm-walk.wav"), "-s", "1", "-e", "2", "-o", str(out_path), "--json")
    assert code == 0 and json.loads(out)["copied"] is False
    with av.open(str(out_path)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


def test_bad_recordings_are_reported_and_the_batch_goes_on(tmp_path: Path, sounds) -> None:
    import av

    folder = tmp_path / "bad"
    folder.mkdir()
    good = sounds[0] / "dog.mp3"
    shutil.copyfile(good, folder / "good.mp3")
    (folder / "empty.wav").write_bytes(b"")
    data = good.read_bytes()
    (folder / "truncated.mp3").write_bytes(data[: len(data) // 2])
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)
    rate = 16_000
    t = np.arange(rate * 2) / rate
    sf.write(folder / "silent.wav", np.zeros(rate * 2, np.float32), rate)
    sf.write(folder / "clipped.wav", np.clip(3 * np.sin(2 * np.pi * 220 * t), -1, 1), rate)
    sf.write(folder / "wide-192k-8ch.wav", np.tile(0.1 * np.sin(2 * np.pi * 440 * t[:, None]), (1, 8)), 192_000)
    sf.write(folder / "low-5k.wav", 0.1 * np.sin(2 * np.pi * 440 * np.arange(5000 * 2) / 5000), 5000)
    with av.open(str(folder / "no-audio.mp4"), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    lib = tmp_path / "lib"
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    report = json.loads(out)
    failed = {Path(f["path"]).name: f["error"] for f in report["failures"]}
    assert code == 3
    assert set(failed) >= {"empty.wav", "corrupt.wav"}
    assert "good.mp3" not in failed and "silent.wav" not in failed and "truncated.mp3" not in failed
    assert "clipped.wav" not in failed
    assert "wide-192k-8ch.wav" not in failed and "low-5k.wav" not in failed
    assert all(reason for reason in failed.values())
    # indexing again changes nothing and duplicates nothing
    code, out2, _ = cli("index", str(folder), "--library", str(lib), "--json")
    again = json.loads(out2)
    assert again["indexed"] == 0 and again["records"] == 0
    code, out3, _ = cli("stats", "--library", str(lib), "--json")
    assert json.loads(out3)["records"] == report["records"]


def test_a_clip_shorter_than_asked_says_so(sounds, tmp_path: Path) -> None:
    """A clip past the end was written shorter than asked, with only the printed times to tell."""
    out_path = tmp_path / "tail.wav"
    code, _, err = cli("clip", str(sounds[0] / "dog.mp3"), "-s", "1", "-e", "60", "-o", str(out_path))
    assert code == 0 and "note: the clip ends at" in err and "before the 60 s asked" in err, err
    code, _, err = cli("clip", str(sounds[0] / "dog.mp3"), "-s", "1", "-e", "2", "-o", str(tmp_path / "in.wav"))
    assert code == 0 and "note:" not in err, err


def test_words_that_name_a_sound_rank_sounds_above_pictures_in_a_mixed_library(
    sounds, samples: Path, tmp_path: Path
) -> None:
    """Photos of people outranked the meeting for "people talking" (0.87 against 0.73)."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("meeting.flac", "dog.mp3", "rooster.mp3"):
        shutil.copyfile(sounds[0] / name, folder / name)
    for name in ("cameraman.png", "astronaut-eileen-collins.png", "grace-hopper.jpg", "cup-of-coffee.png"):
        shutil.copyfile(samples / name, folder / name)
    lib = tmp_path / "lib"
    assert cli("index", str(folder), "--library", str(lib), "--json")[0] == 0
    for query, first in (("people talking", "meeting.flac"), ("a cup of coffee", "cup-of-coffee.png")):
        hits = search(lib, query, "--min-score", "0", "--limit", "3")
        assert Path(hits[0]["path"]).name == first, [(Path(h["path"]).name, h["score"]) for h in hits]
    pictures = search(lib, "people talking", "--min-score", "0", "--modality", "image", "--limit", "1")
    assert pictures[0]["score"] > 0.8  # a library of one kind (here: the photos alone) keeps its scores
