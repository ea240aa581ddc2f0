"""Audio indexing speed (multiple of real time) and memory, each against a baseline from the same run.

* **sound events**: ``sensorium index`` of a long soundscape with speech off, against the naive
  per-window use of the same taggers (each window's spectrogram computed on its own, mn04 in
  PyTorch eager, YAMNet patch by patch without sharing patches between overlapping windows);
* **speech**: Sensorium's transcription (VAD, then Whisper on the speech only, greedy) of a
  speech-heavy recording, against faster-whisper's own default call on the same file
  (``model.transcribe(path, word_timestamps=True)``: beam 5, no VAD);
* **peak RSS** of ``sensorium index`` on a long (default 3 h) recording, events and speech on,
  and its speed with speech on and off.

Start-up (imports, model load) is timed by indexing a one-second file the same way, so the
events figure is given both with it and without it ("steady").

The recordings are made from real ones: the dev set's sounds (or the package samples) and the
espeak-ng meeting of the tests, repeated. Set BENCH_AUDIO_MINUTES and BENCH_LONG_HOURS to resize.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
RATE = 16_000


def _sources() -> list[np.ndarray]:
    from sensorium.media.audio import load_audio
    from sensorium.samples import collect_sound_samples

    files = sorted((REPO.parent / "shared/devset/audio").rglob("*.wav"))
    if not files:
        folder = Path(tempfile.mkdtemp()) / "sounds"
        collect_sound_samples(folder)
        files = sorted(p for p in folder.iterdir() if p.suffix in (".mp3", ".wav"))
    return [load_audio(f, RATE) for f in files]


def soundscape(path: Path, seconds: float, speech_every_s: float = 0.0) -> float:
    """A recording of real sounds back to back (and the meeting every ``speech_every_s``), written in pieces."""
    clips = _sources()
    meeting, mrate = sf.read(REPO / "tests/data/speech/meeting.flac", dtype="float32")
    assert mrate == RATE
    total = round(seconds * RATE)
    written, i, next_speech = 0, 0, speech_every_s
    with sf.SoundFile(path, "w", samplerate=RATE, channels=1, subtype="PCM_16") as f:
        while written < total:
            if speech_every_s and written / RATE >= next_speech:
                piece = meeting
                next_speech += speech_every_s
            else:
                piece = clips[i % len(clips)]
                i += 1
            piece = piece[: total - written]
            f.write(piece)
            written += len(piece)
    return total / RATE


def speech_file(path: Path, seconds: float) -> float:
    """The espeak-ng meeting repeated: about half speech, half pauses between sentences."""
    meeting, _ = sf.read(REPO / "tests/data/speech/meeting.flac", dtype="float32")
    reps = int(np.ceil(seconds * RATE / len(meeting)))
    data = np.tile(meeting, reps)[: round(seconds * RATE)]
    sf.write(path, data, RATE, subtype="PCM_16")
    return len(data) / RATE


def _index(folder: Path, lib: Path, env: dict[str, str]) -> tuple[float, dict, int]:
    """Wall seconds, JSON report and peak RSS (KB) of one ``sensorium index`` process."""
    cmd = [sys.executable, "-m", "bench._rss", sys.executable, "-m", "sensorium.cli", "index", str(folder)]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "-l", str(lib), "--json"], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise SystemExit(proc.stderr[-2000:])
    report_text, _, rss = proc.stdout.rpartition("\n__rss_kb__ ")
    return wall, json.loads(report_text), int(rss.strip())


def naive_events(path: Path, seconds: float = 60.0, window_s: float = 2.0, hop_s: float = 1.0) -> float:
    """Multiple of real time of the per-window baseline on the first ``seconds`` of ``path``."""
    import torch

    from sensorium.config import load_settings
    from sensorium.media.audio import load_audio
    from sensorium.models.efficientat import MN04_WEIGHTS, LogMel, build_torch_model, sigmoid
    from sensorium.models.files import resolve
    from sensorium.models.yamnet import YamnetTagger

    settings = load_settings()
    model = build_torch_model(resolve(MN04_WEIGHTS, settings.models)).eval()
    yamnet = YamnetTagger(settings)
    mel = LogMel()
    w32, w16 = load_audio(path, 32_000, end_s=seconds), load_audio(path, RATE, end_s=seconds)
    t0 = time.perf_counter()
    start = 0.0
    with torch.inference_mode():
        while start + window_s <= seconds:
            a = w32[round(start * 32_000) : round((start + window_s) * 32_000)]
            logits, _ = model(torch.from_numpy(mel(a))[None, None])
            sigmoid(logits.numpy())
            b = w16[round(start * RATE) : round((start + window_s) * RATE)]
            yamnet.patch_scores(b, np.arange(0, len(b) - 15_600 + 1, 7_800))
            start += hop_s
    return seconds / (time.perf_counter() - t0)


def speech_speed(path: Path) -> tuple[float, float, int, int]:
    """(Sensorium ×RT, faster-whisper default ×RT, words found by each) on ``path``."""
    from faster_whisper import WhisperModel

    from sensorium.config import load_settings
    from sensorium.media.audio import stream_audio
    from sensorium.models.whisper import WhisperTranscriber, locate_model

    settings = load_settings()
    duration = sf.info(path).duration
    tr = WhisperTranscriber(settings)
    t0 = time.perf_counter()
    ours = list(tr.transcribe_stream((b.start_s, b.samples[RATE]) for b in stream_audio(path, (RATE,))))
    ours_rt = duration / (time.perf_counter() - t0)
    model = WhisperModel(str(locate_model(settings)[0]), device="cpu", compute_type="int8", local_files_only=True)
    t0 = time.perf_counter()
    segments, _ = model.transcribe(str(path), word_timestamps=True)
    theirs = list(segments)
    naive_rt = duration / (time.perf_counter() - t0)
    words = sum(len(s.text.split()) for s in ours), sum(len(s.text.split()) for s in theirs)
    return ours_rt, naive_rt, *words


def run(minutes: float, long_hours: float) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base_env = dict(os.environ)
        events_env = {**base_env, "SENSORIUM_SPEECH": "never"}
        # warm-up: ONNX exports and concept caches are built once, outside the timing
        warm = root / "warm"
        warm.mkdir()
        soundscape(warm / "warm.wav", 12.0)
        _index(warm, root / "warmlib", base_env)
        # start-up (imports, model load, an empty library): a 1-second file, timed the same way
        one = root / "one"
        one.mkdir()
        sf.write(one / "one.wav", np.zeros(RATE, np.float32), RATE)
        startup, _, _ = _index(one, root / "lib-one", events_env)

        events = root / "events"
        events.mkdir()
        duration = soundscape(events / "soundscape.wav", minutes * 60)
        wall, report, _ = _index(events, root / "lib-events", events_env)
        out["events"] = {
            "audio_s": duration,
            "wall_s": wall,
            "startup_s": startup,
            "rt": duration / wall,
            "rt_steady": duration / max(wall - startup, 1e-3),
            "naive_rt": naive_events(events / "soundscape.wav"),
            "records": report["records"],
        }
        speech = root / "speech.wav"
        sdur = speech_file(speech, min(180.0, minutes * 60))
        ours, naive, w_ours, w_naive = speech_speed(speech)
        out["speech"] = {"audio_s": sdur, "rt": ours, "naive_rt": naive, "words": w_ours, "naive_words": w_naive}
        if long_hours > 0:
            longf = root / "long"
            longf.mkdir()
            ldur = soundscape(longf / "long.wav", long_hours * 3600, speech_every_s=600.0)
            wall, report, rss = _index(longf, root / "lib-long", base_env)
            out["long"] = {"audio_s": ldur, "wall_s": wall, "rt": ldur / wall, "peak_rss_mb": rss / 1024}
            wall_ev, _, _ = _index(longf, root / "lib-long-events", events_env)
            out["long"]["rt_events"] = ldur / wall_ev
            out["long"]["records"] = report["records"]
    return out


if __name__ == "__main__":  # python -m bench.bench_audio [MINUTES [LONG_HOURS]]
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(json.dumps(run(minutes, float(sys.argv[2]) if len(sys.argv) > 2 else 0.0), indent=2))
    print("peak RSS of this process (MB):", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
