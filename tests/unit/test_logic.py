"""Pure logic: config precedence, backend lookup, label parsing, scoring maths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensorium.config import load_settings
from sensorium.errors import ConfigError, QueryError, UnknownBackend
from sensorium.eval import average_precision, label_text
from sensorium.models.registry import Registry
from sensorium.store.registry import store_table
from sensorium.zero_shot import classify_vectors, distribution, parse_labels


def test_config_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "sensorium.toml").write_text('batch_size = 7\nocr = "never"\ntext_encoder = "e5-small-v1"\n')
    monkeypatch.setenv("SENSORIUM_OCR", "always")
    s = load_settings(library=lib, text_encoder="minilm-l6-v1")
    assert s.batch_size == 7  # toml beats default
    assert s.ocr == "always"  # environment beats toml
    assert s.text_encoder == "minilm-l6-v1"  # flag beats toml
    assert s.library_path == lib


def test_config_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSORIUM_OCR", "sometimes")
    with pytest.raises(ConfigError, match="setting ocr"):
        load_settings()


def test_unknown_backend_lists_the_names() -> None:
    with pytest.raises(UnknownBackend, match="choose one of: e5-small-v1, minilm-l6-v1"):
        Registry.default(discover=False).text_encoders.load("clip")
    with pytest.raises(UnknownBackend, match="lancedb, memory"):
        store_table(discover=False).load("milvus-typo")


def test_parse_labels(tmp_path: Path) -> None:
    f = tmp_path / "labels.txt"
    f.write_text("hats\n# a comment\n\nshoes\n", encoding="utf-8")
    assert parse_labels("shoes, shirts,, hats", f) == ["shoes", "shirts", "hats"]
    with pytest.raises(QueryError, match="no labels given"):
        parse_labels(" , ")
    # case and spacing variants are one label (they split its probability); a BOM is not part of one
    assert parse_labels("  a cat ,a dog,, a cat,  ,A CAT, a   dog") == ["a cat", "a dog"]
    f.write_bytes(b"\xef\xbb\xbfa cat\r\na dog\r\n")
    assert parse_labels(file=f) == ["a cat", "a dog"]


def test_distribution_and_abstain() -> None:
    labels = np.eye(3, dtype=np.float32)
    sem = np.array([[1.0, 0.0, 0.0], [0.6, 0.6, 0.0]], dtype=np.float32)
    p = distribution(sem, labels)
    assert np.allclose(p.sum(1), 1.0) and p[0].argmax() == 0
    out = classify_vectors(["a", "b"], sem, ["x", "y", "z"], labels)
    assert out[0].labels[0].label == "x" and not out[0].abstained
    assert out[1].abstained  # x and y tie


def test_average_precision() -> None:
    assert average_precision(np.array([True, False, True])) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(np.array([False, False])) == 0.0
    assert label_text("group_of_people") == "group of people"


@pytest.mark.parametrize(
    ("folder", "label"),
    [
        ("001.Black_footed_Albatross", "Black footed Albatross"),  # CUB-200
        ("012.binoculars", "binoculars"),  # Caltech-256
        ("01_dog", "dog"),
        ("1_dollar_bill", "1 dollar bill"),
        ("3d_printer", "3d printer"),
        ("007", "007"),
    ],
)
def test_label_folders_lose_a_datasets_running_number(folder: str, label: str) -> None:
    assert label_text(folder) == label


def test_merge_moments_joins_overlapping_windows_of_one_file() -> None:
    from sensorium.query import merge_moments
    from sensorium.types import Hit

    def hit(path: str, start: float | None, end: float | None, score: float) -> Hit:
        return Hit(path=path, score=score, modality="audio", start=start, end=end, why=f"w{start}")

    hits = [
        hit("a.wav", 10.0, 12.0, 0.8),
        hit("a.wav", 11.0, 13.0, 0.9),
        hit("a.wav", 12.0, 14.0, 0.78),
        hit("a.wav", 13.0, 15.0, 0.4),  # overlaps but scores far below the peak: absorbed, not extending
        hit("a.wav", 30.0, 32.0, 0.8),  # far away: its own moment
        hit("b.wav", 11.0, 13.0, 0.5),  # another file: never merged with a.wav
        hit("photo.jpg", None, None, 0.95),
    ]
    moments = merge_moments(hits, gap=1.0)
    by = {(m.path, m.start): m for m in moments}
    assert len(moments) == 4
    first = by[("a.wav", 10.0)]
    assert (first.start, first.end, first.score) == (10.0, 14.0, 0.9)
    assert first.why.startswith("w11.0") and "3 parts" in first.why
    assert by[("a.wav", 30.0)].end == 32.0
    assert by[("b.wav", 11.0)].score == 0.5
    assert by[("photo.jpg", None)].start is None


def test_touching_moments_that_score_alike_are_one_hit() -> None:
    """A 24-s speech came back as three hits (1-6, 7-18, 19-24 s) for "a man speaking"."""
    from sensorium.query import join_touching
    from sensorium.types import Hit

    def hit(start: float, end: float, score: float, why: str = "", path: str = "talk.wav") -> Hit:
        return Hit(
            path=path, score=score, modality="audio", start=start, end=end, why=why or f"w{start}", track="sound"
        )

    moments = [
        hit(1.0, 6.0, 0.806, "sounds: speech; 3 parts"),
        hit(7.0, 18.0, 0.804, "sounds: speech; 6 parts"),
        hit(19.0, 24.0, 0.764, "sounds: speech; 3 parts"),
        hit(25.0, 27.0, 0.5),  # touching, but far weaker: stays apart
        hit(40.0, 42.0, 0.8),  # far away: apart
        hit(24.5, 26.0, 0.8, path="other.wav"),
    ]
    out = sorted(join_touching(moments, gap=1.0), key=lambda h: (h.path, h.start))
    assert [(h.path, h.start, h.end) for h in out] == [
        ("other.wav", 24.5, 26.0),
        ("talk.wav", 1.0, 24.0),
        ("talk.wav", 25.0, 27.0),
        ("talk.wav", 40.0, 42.0),
    ]
    assert out[1].score == 0.806 and out[1].why == "sounds: speech; 12 parts"
    shots = [
        Hit(path="v.mp4", score=0.8, modality="video", start=float(s), end=s + 2.0, track="picture") for s in (0, 2)
    ]
    assert len(join_touching(shots)) == 2  # a cut is where a viewer's moment ends


def test_words_lean_to_sounds_or_to_things_seen_and_cut_the_other_track() -> None:
    from types import SimpleNamespace

    from sensorium.query import sound_lean, weigh_tracks
    from sensorium.types import Hit

    basis = np.eye(4, dtype=np.float32)
    image = SimpleNamespace(space=SimpleNamespace(concepts=basis[:1], objects=basis[1:2].reshape(1, 1, 4)))
    sound = SimpleNamespace(concepts=basis[2:3])
    heard = sound_lean(basis[2], image, sound)
    seen = sound_lean(basis[0], image, sound)
    both = sound_lean(l2(basis[0] + basis[2]), image, sound)
    assert heard is not None and seen is not None and both is not None
    assert heard > 0.99 and seen < 0.01 and both == pytest.approx(0.5)
    assert sound_lean(basis[2], SimpleNamespace(), sound) is None  # a hub image model names no concepts

    hits = [
        Hit(path="a.png", score=0.9, modality="image", track="picture"),
        Hit(path="b.wav", score=0.6, modality="audio", track="sound"),
    ]
    cut = {h.path: h.score for h in weigh_tracks(hits, heard, prior=0.7)}
    assert cut["b.wav"] == 0.6 and cut["a.png"] == pytest.approx(0.9 * 0.3, abs=0.01)
    assert {h.path: h.score for h in weigh_tracks(hits, 0.5, prior=0.7)} == {"a.png": 0.9, "b.wav": 0.6}
    assert weigh_tracks(hits[:1], heard, prior=0.7) == hits[:1]  # pictures alone keep their scores


def l2(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


def test_a_document_is_one_hit_its_best_passage() -> None:
    from sensorium.query import merge_moments
    from sensorium.types import Hit

    hits = [
        Hit(path="notes.md", score=0.7, modality="text", why="meaning 0.70", id="n#0"),
        Hit(path="notes.md", score=0.9, modality="text", why="meaning 0.90", id="n#3"),
        Hit(path="notes.md", score=0.6, modality="text", why="meaning 0.60", id="n#5"),
        Hit(path="other.txt", score=0.8, modality="text", why="meaning 0.80", id="o#0"),
        Hit(path="a.png", score=0.5, modality="image", why="meaning 0.50", id="a"),
        Hit(path="b.png", score=0.4, modality="image", why="meaning 0.40", id="b"),
    ]
    out = {h.id: h for h in merge_moments(hits)}
    assert set(out) == {"n#3", "o#0", "a", "b"}
    assert out["n#3"].why == "meaning 0.90; 3 passages" and out["n#3"].score == 0.9
    assert out["o#0"].why == "meaning 0.80"  # one passage: nothing to add


def test_a_files_tags_join_what_was_heard_or_seen_and_never_fold_different_files() -> None:
    from sensorium.query import combine_tracks, fold_copies
    from sensorium.types import Hit

    def hit(path: str, track: str, start: float | None, end: float | None, score: float, why: str) -> Hit:
        modality = "image" if path.endswith(".jpg") else "audio"
        return Hit(path=path, score=score, modality=modality, start=start, end=end, why=why, track=track)

    out = combine_tracks(
        [
            hit("talk.mp3", "tags", 0.0, 600.0, 0.9, "tagged: budget talk"),  # the title spans the file
            hit("talk.mp3", "speech", 61.0, 64.0, 0.7, "said: the budget"),
            hit("talk.mp3", "speech", 300.0, 302.0, 0.6, "said: money"),
            hit("a.jpg", "picture", None, None, 0.55, "concepts: espresso"),
            hit("a.jpg", "tags", None, None, 0.8, "tagged: breakfast"),
            hit("b.mp3", "tags", 0.0, 9.0, 0.6, "tagged: budget"),  # nothing heard: the title is the hit
        ]
    )
    by = {(h.path, h.start): h for h in out}
    talk = by[("talk.mp3", 61.0)]  # the title joined the best moment said, which keeps its span
    assert (talk.end, talk.track) == (64.0, "speech") and talk.why.startswith("speech: said: the budget | tags:")
    assert talk.score == pytest.approx(0.9 + 0.1 * 0.2)  # the higher score leads; the other adds above 0.5
    assert by[("talk.mp3", 300.0)].score == 0.6  # the other moment stays its own
    photo = by[("a.jpg", None)]
    assert photo.track == "picture" and "tags: tagged: breakfast" in photo.why and len(out) == 4
    assert by[("b.mp3", 0.0)].end == 9.0
    same = [hit(p, "tags", None, None, 0.7, 'tagged: "taken in Lisbon"') for p in ("x.jpg", "y.jpg")]
    assert len(fold_copies(same)) == 2  # the same city on two photos: not copies of one photo


def test_merge_moments_respects_the_gap() -> None:
    from sensorium.query import merge_moments
    from sensorium.types import Hit

    a = Hit(path="a.wav", score=0.6, modality="audio", start=0.0, end=2.0)
    b = Hit(path="a.wav", score=0.7, modality="audio", start=2.5, end=4.5)
    assert len(merge_moments([a, b], gap=1.0)) == 1
    assert len(merge_moments([a, b], gap=0.2)) == 2
    c = Hit(path="a.wav", score=0.3, modality="audio", start=4.0, end=6.0)  # overlaps, weak: absorbed, no extension
    d = Hit(path="a.wav", score=0.3, modality="audio", start=5.0, end=7.0)  # near but weak: a moment of its own
    moments = merge_moments([a, b, c, d], gap=1.0)
    assert sorted((m.start, m.end) for m in moments) == [(0.0, 4.5), (5.0, 7.0)]


def test_a_first_export_says_so_once_and_keeps_the_exporters_warnings_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """torch's exporter warns about tracing at every first run; a user sees one line saying why it is slow."""
    import warnings

    import onnx
    from onnx import TensorProto, helper

    from sensorium.models.onnx_export import onnx_session

    def export(out: Path) -> None:
        warnings.warn("TracerWarning: Converting a tensor to a Python boolean", UserWarning, stacklevel=1)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), out)

    path = tmp_path / "tiny-net" / "model.onnx"
    path.parent.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = onnx_session(path, export)
        onnx_session(path, export)  # exported already: nothing said
    assert not caught
    said = [r.getMessage() for r in caplog.records if r.name == "sensorium.models.onnx_export"]
    assert said == ["first use: exporting tiny-net to ONNX Runtime, once"]
    assert session.run(None, {"x": np.ones((1, 2), np.float32)})[0].tolist() == [[1.0, 1.0]]


def test_served_paths_find_a_file_indexed_by_another_process_within_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search already returns it; its media and thumbnail were 404 until the 10 s cache ran out."""
    from sensorium.server import media

    clock = [100.0]
    monkeypatch.setattr(media.time, "monotonic", lambda: clock[0])
    table = {"/photos/a.jpg": (1, 1.0)}
    loads = []

    def load() -> dict:
        loads.append(clock[0])
        return dict(table)

    paths = media.IndexedPaths(load)
    assert "/photos/a.jpg" in paths.get("/photos/a.jpg") and len(loads) == 1
    table["/photos/b.jpg"] = (2, 2.0)  # indexed by another process
    clock[0] += 0.5
    assert "/photos/b.jpg" not in paths.get("/photos/b.jpg")  # a flood of unknown paths: one read a second
    clock[0] += media.RELOAD_GAP_S
    assert "/photos/b.jpg" in paths.get("/photos/b.jpg") and len(loads) == 2
    assert "/photos/a.jpg" in paths.get("/photos/a.jpg") and len(loads) == 2  # known: no read


def test_srt_text_never_reads_as_a_timing_line() -> None:
    """SubRip has no escapes: "-->" in a transcript made a player take the line for a timing."""
    from sensorium.timeline import Description, Event, to_srt

    desc = Description("talk.wav", 5.0, [], [Event(1.0, 2.5, "speech", "Go left --> then right", 0.9)])
    lines = to_srt(desc).splitlines()
    assert lines[:3] == ["1", "00:00:01,000 --> 00:00:02,500", "Go left -> then right"]


def test_one_sound_is_one_caption_cue() -> None:
    """Dog, Bark and Bow-wow over one bark gave three overlapping cues; thunder in rain keeps its own."""
    from sensorium.timeline import Description, Event, to_srt

    events = [
        Event(23.0, 31.0, "sound", "dog", 0.91),
        Event(24.0, 30.0, "sound", "bow-wow", 0.58),
        Event(23.0, 31.0, "sound", "bark", 0.52),
        Event(40.0, 100.0, "sound", "rain", 0.8),
        Event(60.0, 63.0, "sound", "thunder", 0.7),
        Event(70.0, 72.0, "sound", "cattle, bovinae", 0.9),
    ]
    blocks = to_srt(Description("walk.wav", 100.0, [], events)).strip().split("\n\n")
    cues = [b.split("\n")[1:] for b in blocks]
    assert cues == [
        ["00:00:23,000 --> 00:00:31,000", "[dog, bow-wow, bark]"],
        ["00:00:40,000 --> 00:01:40,000", "[rain]"],
        ["00:01:00,000 --> 00:01:03,000", "[thunder]"],
        ["00:01:10,000 --> 00:01:12,000", "[cattle]"],
    ]


def test_sound_events_bridge_one_missed_window_and_need_more_for_background() -> None:
    from sensorium.timeline import sound_events

    starts = np.arange(8, dtype=np.float64)
    ends = starts + 2.0
    probs = np.zeros((8, 3), np.float32)
    probs[:, 0] = [0.9, 0.2, 0.8, 0.9, 0.1, 0.1, 0.1, 0.7]  # dog: 0-5 (window 1 missed), then 7-9
    probs[:, 1] = 0.45  # faint hiss all along: under twice the minimum
    probs[2:4, 2] = 0.65  # loud static
    events = sound_events(starts, ends, probs, ["dog", "white noise", "static"], min_score=0.3)
    assert [(e.text, e.start, e.end) for e in events] == [("dog", 0.0, 5.0), ("dog", 7.0, 9.0), ("static", 2.0, 5.0)]


def test_steady_runs_split_where_the_sound_changes_and_stay_short() -> None:
    from sensorium.models.offline_audio import STEADY_WINDOWS, steady_runs

    hiss, bark = np.full(5, 0.02, np.float32), np.full(5, 0.02, np.float32)
    hiss[0], bark[1] = 0.9, 0.9
    probs = np.stack([hiss] * 4 + [bark] * 3 + [hiss] * (STEADY_WINDOWS + 2))
    assert steady_runs(probs) == [(0, 4), (4, 7), (7, 7 + STEADY_WINDOWS), (7 + STEADY_WINDOWS, 9 + STEADY_WINDOWS)]
    assert steady_runs(np.zeros((0, 5), np.float32)) == []


def test_eval_refuses_folders_that_are_one_label(tmp_path: Path) -> None:
    """ "sheep" and "sheep_" both read as "sheep": two dogs in one scored as sheep, silently."""
    from sensorium.eval import evaluate
    from sensorium.library import open_library

    for name in ("sheep", "sheep_", "dog"):
        (tmp_path / "set" / name).mkdir(parents=True)
    with pytest.raises(QueryError, match="folders sheep, sheep_ are all the label 'sheep'"):
        evaluate(open_library(tmp_path / "lib"), tmp_path / "set")


def test_a_frame_of_the_shot_outranks_shots_that_only_share_its_concepts() -> None:
    """Meaning alone is near 0.95 for every shot of the same kind of scene; the score took the larger of
    meaning and looks, so the very shot (looks alike 0.72) ranked below one that looked nothing like it."""
    from sensorium.query import _score_row
    from sensorium.scoring import Calibrator

    def row(i: str) -> dict:
        return {"id": i, "path": f"/v/{i}.mp4", "modality": "video", "start": 0.0, "end": 2.0, "concepts": "[]"}

    def looks(p: float) -> float:  # the perceptual cosine that calibrates to p
        from sensorium.scoring import PERCEPTUAL_MIDPOINT, PERCEPTUAL_SLOPE

        return PERCEPTUAL_MIDPOINT + float(np.log(p / (1 - p))) / PERCEPTUAL_SLOPE

    perc = {"other": looks(0.25), "same": looks(0.72), "weak": looks(0.3)}
    hit = {i: _score_row(row(i), m, Calibrator, perc, {}, 0.3, set()) for i, m in [("other", 0.954), ("same", 0.949)]}
    assert hit["same"].score > hit["other"].score, hit
    weak = _score_row(row("weak"), 0.3, Calibrator, perc, {}, 0.3, set())
    assert weak.score < 0.5, weak  # two weak signals stay under the default floor


def test_batches_are_written_in_order_one_at_a_time_and_a_failed_write_is_not_lost() -> None:
    import threading
    import time

    from sensorium.ingest import _Writer

    writer, done, inside = _Writer(), [], []

    def write(k: int) -> None:
        inside.append(k)
        assert len(inside) == 1, "two writes at once"
        time.sleep(0.02)
        done.append((k, threading.current_thread().name))
        inside.remove(k)

    for k in range(4):
        writer.submit(lambda k=k: write(k))
    writer.settle()
    assert [k for k, _ in done] == [0, 1, 2, 3] and all(name.startswith("sensorium-write") for _, name in done)

    def broken() -> None:
        raise OSError("disk full")

    writer.submit(broken)
    with pytest.raises(OSError, match="disk full"):  # raised where the next write waits
        writer.submit(lambda: write(9))
    writer.close()
    assert 9 not in [k for k, _ in done]


def test_snippet_shows_the_window_with_the_most_query_words() -> None:
    from sensorium.query import _snippet

    text = (
        "The observatory trip was long. Bring warm clothes: it was freezing at the summit, and the thermos "
        "of hot coffee was the most popular thing in the van. The coffee ran out by noon."
    )
    snippet = _snippet(text, {"summit", "hot", "coffee"})
    assert all(w in snippet for w in ("summit", "hot", "coffee")), snippet  # all three fit in the 80 shown
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) <= 82
    assert _snippet(text, {"coffee", "hot", "summit"}) == snippet  # the same whatever the words' order


@pytest.mark.parametrize(
    ("ocr", "read"),
    [
        (  # what RapidOCR made of a line of 9-point type on a scanned page
            "Line1:thecommitteerevieweditem1oftheagendaandagreedtorevisititinspring.",
            "Line 1: the committee reviewed item 1 of the agenda and agreed to revisit it in spring.",
        ),
        ("McDonaldsrestaurant", "McDonalds restaurant"),  # capitals kept
        ("Region-based segmentation Let us first", "Region-based segmentation Let us first"),  # words stay whole
        ("Donaudampfschifffahrt", "Donaudampfschifffahrt"),  # no clean English cut: left alone
        ("https://example.com/verylongpath", "https://example.com/verylongpath"),  # an address is not prose
        ("Ein Löwe im Zoo", "Ein Löwe im Zoo"),
    ],
)
def test_ocr_lines_get_their_spaces_back(ocr: str, read: str) -> None:
    from sensorium.models.respace import respace

    assert respace(ocr) == read


def test_a_model_files_digest_is_remembered_until_the_file_changes(tmp_path, monkeypatch) -> None:
    """sha256.json keeps what was hashed by path, size, mtime and inode: a file changed in place is hashed again."""
    import hashlib
    import json
    import os

    from sensorium.models import files

    monkeypatch.setenv("SENSORIUM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "_KNOWN", None)
    monkeypatch.setattr(files, "_VERIFIED", {})
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"first weights")
    assert files.sha256_of(weights) == hashlib.sha256(b"first weights").hexdigest()
    stamps = tmp_path / "cache" / "sha256.json"
    assert len(json.loads(stamps.read_text())) == 1
    monkeypatch.setattr(files, "_KNOWN", None)  # a new process: read from disk, the file not read again
    monkeypatch.setattr(files, "_VERIFIED", {})
    monkeypatch.setattr(files, "hashlib", None)  # hashing again would fail
    assert files.sha256_of(weights) == hashlib.sha256(b"first weights").hexdigest()
    monkeypatch.undo()
    monkeypatch.setenv("SENSORIUM_CACHE", str(tmp_path / "cache"))
    st = weights.stat()
    weights.write_bytes(b"other weights")  # same size, and the old time put back: the inode or time still differs
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert files.sha256_of(weights) == hashlib.sha256(b"other weights").hexdigest()
