#!/usr/bin/env bash
# Regenerate the speech fixtures in tests/data/speech/ (FLAC, 16 kHz mono) and fixtures.json,
# which gives the exact start/end of every spoken phrase.
#
# Needs espeak-ng, the Debian package (apt-get install espeak-ng; eSpeak NG 1.51 made the committed
# files; GPL-3.0 program, its output is ours to use), and the project's venv (numpy, soundfile, soxr).
# Each phrase is rendered on its own with a fixed voice, speed, pitch and gap setting, resampled
# to 16 kHz, trimmed to where it is audible, and placed after a known silence, so the times in
# fixtures.json are measured, not guessed. Background noise is seeded, so the output is
# byte-for-byte repeatable with the same espeak-ng version.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null || { echo "error: espeak-ng not found; apt-get install espeak-ng" >&2; exit 1; }
OUT=tests/data/speech
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# say NAME TEXT: one phrase, American English voice, 150 words a minute, default pitch.
say() { espeak-ng -v en-us -s 150 -p 50 -a 100 -w "$TMP/$1.wav" "$2"; }
say m1 "Good morning everyone, let us start the meeting."
say m2 "First we need to discuss the budget for next year."
say m3 "The marketing team wants twenty percent more money."
say m4 "Thank you all, see you next week."
say s1 "The cat is sleeping on the sofa."
say n1 "Please call me back after lunch."

.venv/bin/python - "$TMP" "$OUT" <<'EOF'
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

tmp, out = Path(sys.argv[1]), Path(sys.argv[2])
RATE = 16000


def phrase(name: str) -> np.ndarray:
    """A rendered phrase at 16 kHz, trimmed to its audible part (above -40 dBFS)."""
    wave, rate = sf.read(tmp / f"{name}.wav", dtype="float32")
    wave = soxr.resample(wave, rate, RATE)
    loud = np.flatnonzero(np.abs(wave) > 0.01)
    return wave[loud[0] : loud[-1] + 1]


def build(file: str, parts: list, noise_dbfs: float | None = None) -> dict:
    """parts: seconds of silence (float) or (phrase name, text); silence follows the last phrase."""
    chunks, phrases, t = [], [], 0
    for part in parts:
        if isinstance(part, float):
            chunks.append(np.zeros(round(part * RATE), np.float32))
        else:
            name, text = part
            w = phrase(name)
            phrases.append({"text": text, "start": round(t / RATE, 3), "end": round((t + len(w)) / RATE, 3)})
            chunks.append(w)
        t += len(chunks[-1])
    wave = np.concatenate(chunks) * 0.7
    if noise_dbfs is not None:
        # Brown-ish noise (integrated white noise, DC removed): like a room's rumble, and small as FLAC.
        white = np.random.default_rng(7).standard_normal(len(wave))
        brown = np.cumsum(white)
        brown -= np.convolve(brown, np.ones(801) / 801, mode="same")
        wave = wave + brown / np.sqrt(np.mean(brown**2)) * 10 ** (noise_dbfs / 20)
    # 12-bit steps in 16-bit FLAC (the 4 unused bits cost nothing): keeps every file under 150 KB;
    # quantisation noise stays 60 dB below full scale, far under what the recogniser notices.
    wave = np.round(np.clip(wave, -1, 1) * 2048) / 2048
    sf.write(out / file, wave, RATE, format="FLAC", subtype="PCM_16", compression_level=1.0)
    return {"duration": round(len(wave) / RATE, 3), "rate": RATE, "phrases": phrases}


fixtures = {
    "meeting.flac": build(
        "meeting.flac",
        [
            2.0,
            ("m1", "Good morning everyone, let us start the meeting."),
            3.0,
            ("m2", "First we need to discuss the budget for next year."),
            2.0,
            ("m3", "The marketing team wants twenty percent more money."),
            4.0,
            ("m4", "Thank you all, see you next week."),
            2.0,
        ],
    ),
    "short.flac": build("short.flac", [0.3, ("s1", "The cat is sleeping on the sofa."), 0.3]),
    "noisy.flac": build("noisy.flac", [1.0, ("n1", "Please call me back after lunch."), 1.0], noise_dbfs=-26.0),
}
note = (
    "Made by scripts/make_speech_fixtures.sh with espeak-ng (voice en-us, 150 wpm); "
    "times in seconds, measured when building"
)
(out / "fixtures.json").write_text(json.dumps({"note": note, "files": fixtures}, indent=2) + "\n", encoding="utf-8")
for name, f in fixtures.items():
    print(f"{out / name}: {f['duration']} s, {(out / name).stat().st_size // 1024} KB, {len(f['phrases'])} phrases")
EOF
