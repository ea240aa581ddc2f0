"""``make bench``: indexing speed and memory, and vector-store latency and recall.

Every figure is printed with its baseline from the same run, as a ratio:

1. images/s indexing (decode + all encoders + write) of ``sensorium index`` against the naive
   path (one image at a time, PyTorch eager, no batching);
2. peak RSS of the indexing process, and the time to decode one 12 MP photo by format (JPEG,
   HEIC, AVIF, camera RAW; ``bench/bench_decode.py``);
3. query latency p50/p95 and recall@10 of the ANN index against exact search at 100k and 1M
   synthetic vectors;
4. sound: indexing speed as a multiple of real time for sound events and for speech, and peak
   RSS on a 3-hour recording (``bench/bench_audio.py``);
5. video: indexing speed of a 1080p file as a multiple of real time (pictures, sound and speech;
   pictures only) against decoding every frame and a naive one-picture-a-second index, and speed
   and peak RSS on a 30-minute file (``bench/bench_video.py``);
6. HTTP API: ``sensorium serve`` on loopback over a 100k-record library: single-client search round trip
   p50/p99, then 50 concurrent clients for 60 s (searches, and media range requests): throughput, p50/p95/p99
   latency and errors (``bench/bench_server.py``);
7. hub tier: CLIP ViT-B/32 image embedding throughput (random weights, real size) against
   open_clip's naive per-image use, and the recall@1 of a binding map fitted through text
   (``bench/bench_hub.py``).

Set BENCH_SIZES=100000 to skip the 1M case, BENCH_IMAGES to change the number of photos,
BENCH_AUDIO_MINUTES (10) and BENCH_LONG_HOURS (3; 0 skips) to resize the sound benchmark,
BENCH_VIDEO_MINUTES (1) and BENCH_VIDEO_LONG_MINUTES (30; 0 skips) to resize the video one,
BENCH_SERVER_SECONDS (60), BENCH_SERVER_CLIENTS (50) and BENCH_SERVER_RECORDS (100000) the server one,
BENCH_HUB_IMAGES (128; 0 skips) the hub one.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
out = Console(width=160)


def photo_folder(dest: Path, n: int) -> list[Path]:
    """``n`` real photos: the dev set when present, else the package samples, repeated."""
    from sensorium.samples import collect_samples

    sources = sorted((REPO.parent / "shared/devset/images").rglob("*.jpg"))
    if not sources:
        sources = [p for p in collect_samples(dest / "_src") if p.suffix in (".png", ".jpg")]
    files = []
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        src = sources[i % len(sources)]
        target = dest / f"{i:05d}-{src.name}"
        shutil.copyfile(src, target)
        files.append(target)
    return files


def bench_indexing(n_images: int, n_naive: int) -> dict:
    from bench.naive_image import naive_encode

    with tempfile.TemporaryDirectory() as tmp:
        files = photo_folder(Path(tmp) / "photos", n_images)
        lib = Path(tmp) / "lib"
        # warm-up run on a few files: ONNX exports and caches are built once, outside the timing
        warm = Path(tmp) / "warm"
        warm.mkdir()
        for f in files[:4]:
            shutil.copyfile(f, warm / f.name)
        warm_cmd = [sys.executable, "-m", "sensorium.cli", "index", str(warm), "-l"]
        subprocess.run([*warm_cmd, str(Path(tmp) / "w")], check=True, capture_output=True)
        # the same four again, caches built: process start, model load and four photos
        t0 = time.perf_counter()
        subprocess.run([*warm_cmd, str(Path(tmp) / "w2")], check=True, capture_output=True)
        startup = time.perf_counter() - t0
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "sensorium.cli", "index", str(Path(tmp) / "photos"), "-l", str(lib), "--json"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        if proc.returncode not in (0, 3):
            raise SystemExit(proc.stderr)
        report = json.loads(proc.stdout)
        rss_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
        t0 = time.perf_counter()
        for f in files[:n_naive]:
            naive_encode(f)
        naive_rate = n_naive / (time.perf_counter() - t0)
    rate = report["indexed"] / wall
    return {
        "images": report["indexed"],
        "seconds": wall,
        "startup_s": startup,
        "rate": rate,
        "rate_steady": (report["indexed"] - len(files[:4])) / max(wall - startup, 1e-9),
        "naive_rate": naive_rate,
        "ratio": rate / naive_rate,
        "peak_rss_mb": rss_kb / 1024,
    }


def video_section() -> None:
    from bench.bench_video import run as bench_video

    out.rule("video (multiple of real time; 2 cores)")
    v = bench_video(
        float(os.environ.get("BENCH_VIDEO_MINUTES", "1")), float(os.environ.get("BENCH_VIDEO_LONG_MINUTES", "30"))
    )
    naive = v["naive"]["index_rt"]
    t = Table("measure", "sensorium", "naive index baseline", "ratio")
    for label, case, key in (
        ("video indexed, pictures + sound + speech, x real time", "all", "rt"),
        ("pictures only, x real time", "pictures", "rt"),
        ("pictures + sound + speech, x real time, start-up excluded", "all", "rt_steady"),
        ("pictures only, x real time, start-up excluded", "pictures", "rt_steady"),
    ):
        rt = v[case][key]
        t.add_row(label, f"{rt:.1f}x", f"{naive:.1f}x", f"{rt / naive:.2f}x")
    t.add_row("decode every frame (no encoding), x real time", "", f"{v['naive']['decode_rt']:.1f}x", "")
    if "long" in v:
        lg = v["long"]
        long_label = f"{lg['video_s'] / 60:.0f} min video"
        t.add_row(f"{long_label}, pictures + sound + speech, x real time", f"{lg['rt']:.1f}x", "", "")
        t.add_row(f"{long_label}, peak RSS (MB)", f"{lg['peak_rss_mb']:.0f}", "", "")
    out.print(t)
    a = v["all"]
    out.print(
        f"{v['video_s']:.0f} s of 1080p25 H.264 + AAC indexed in {a['wall_s']:.1f} s, of which start-up"
        f" {v['startup_s']:.1f} s; {a['records']} records: {a['picture']} pictures (shots), {a['sound']} sound"
        f" windows, {a['speech']} speech; peak RSS {a['peak_rss_mb']:.0f} MB. The naive index decodes every"
        f" frame ({v['naive']['frames']}) and encodes one picture a second, with no sound or speech."
    )


def server_section() -> None:
    from bench.bench_server import MEDIA_EVERY
    from bench.bench_server import run as bench_server

    out.rule("HTTP API: sensorium serve on loopback (clients on the same 2 cores)")
    s = bench_server()
    one, load = s["single"], s["load"]
    t = Table("measure", "search", "media (Range)", "target")
    t.add_row(
        "one client, round trip p50 / p99 (ms)",
        f"{one['search']['p50_ms']:.0f} / {one['search']['p99_ms']:.0f}",
        f"{one['media']['p50_ms']:.1f} / {one['media']['p99_ms']:.0f}",
        "search p50 <= 50",
    )
    t.add_row(f"{s['clients']} clients, requests/s", f"{load['search_rps']:.1f}", f"{load['media_rps']:.1f}", "")
    for p in ("p50", "p95", "p99"):
        t.add_row(
            f"{s['clients']} clients, latency {p} (ms)",
            f"{load['search'][f'{p}_ms']:.0f}",
            f"{load['media'][f'{p}_ms']:.0f}" if load["media"]["n"] else "",
            "",
        )
    t.add_row(f"{s['clients']} clients, errors", str(load["errors"]), "", "0")
    t.add_row("server peak RSS (MB)", f"{s['server_peak_rss_mb']}", "", "")
    out.print(t)
    built = f"built in {s['built_s']:.0f} s" if s["built_s"] is not None else "cached"
    out.print(
        f"{s['records']} records ({s['files']} files; library {built}); {load['requests']} requests in"
        f" {load['wall_s']:.0f} s ({s['seconds']:.0f} s of load, then the requests in flight), one in"
        f" {MEDIA_EVERY} a range (64 KiB, or to the end) of {s['media_file']}; server up in {s['startup_s']:.1f} s,"
        f" first search (models load) {s['first_search_s']:.1f} s; slowest single-client queries (ms):"
        f" {one['slowest_queries']}"
    )
    for line in [*one["error_samples"], *load["error_samples"]]:
        out.print(f"[red]error:[/red] {line}")
    if s["server_log_errors"]:
        out.print(f"[red]server log:[/red] {s['server_log_errors']} error lines")


def decode_section() -> None:
    from bench.bench_decode import SIZE
    from bench.bench_decode import run as bench_decode

    out.rule(f"decoding one {SIZE[0]}x{SIZE[1]} photo for the encoders (longer side 512), by format")
    t = Table("format", "file (MB)", "ms per photo", "against the JPEG")
    for row in bench_decode():
        t.add_row(row["format"], f"{row['mb']:.1f}", f"{row['ms']:.0f}", f"{row['x_jpeg']:.1f}x")
    out.print(t)
    out.print(
        "the same picture in each; the JPEG decodes at reduced scale, a HEIC with a phone's thumbnail from it,"
        " other HEIC and AVIF at full size; best of 5"
    )


def hub_section() -> None:
    from bench.bench_hub import run as bench_hub

    n = int(os.environ.get("BENCH_HUB_IMAGES", "128"))
    if n <= 0:
        return
    out.rule("hub tier: CLIP ViT-B/32 image embeddings on the CPU (2 cores), and binding spaces through text")
    h = bench_hub(n)
    sp, b = h["throughput"], h["binding"]
    t = Table("measure", "sensorium", "open_clip naive per-image", "ratio")
    t.add_row(
        "images/s (decode + preprocess + image tower)",
        f"{sp['ours_per_s']:.1f}",
        f"{sp['naive_per_s']:.1f}",
        f"{sp['ours_per_s'] / sp['naive_per_s']:.2f}x",
    )
    t.add_row("max |difference| of the unit embeddings", f"{sp['max_abs_diff']:.1e}", "", "")
    t.add_row(
        f"binding {b['source']} -> {b['target']} ({b['method']}), recall@1 on held-out sentences",
        f"{b['recall_at_1']:.3f}",
        "",
        "",
    )
    out.print(t)
    out.print(
        f"{sp['images']} real photos; image tower in {sp['engine']}, {sp['threads']} threads; the binding was fitted"
        f" on {b['trained_on']} sentences and tested on {b['held_out']} whose names it never saw ({b['seconds']:.0f} s)"
    )


def machine() -> str:
    """One line on the machine, so figures from different machines can be read side by side.

    The int8 image classifier is fastest where the CPU has VNNI (about 1.4x float32 without it), and
    the pipelines' Python glue runs at the speed a plain loop measures.
    """
    import platform

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), "")
    flags = set(next((ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines() if ln.startswith("flags")), []))
    simd = "VNNI" if flags & {"avx512_vnni", "avx_vnni"} else "AVX2, no VNNI" if "avx2" in flags else "no AVX2"
    t0 = time.perf_counter()
    sum(i * i for i in range(1_000_000))
    loop_ms = (time.perf_counter() - t0) * 1000
    return (
        f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores, {simd}; "
        f"Python {platform.python_version()}, a million-step loop in {loop_ms:.0f} ms"
    )


def main() -> None:
    from sensorium.config import quiet_native_logs

    quiet_native_logs()
    out.print(f"machine: {machine()}")
    n_images = int(os.environ.get("BENCH_IMAGES", "400"))
    sizes = tuple(int(x) for x in os.environ.get("BENCH_SIZES", "100000,1000000").split(","))
    out.rule("indexing images (decode + all encoders + write)")
    r = bench_indexing(n_images, n_naive=min(60, n_images))
    t = Table("measure", "sensorium", "naive baseline", "ratio")
    t.add_row("images/s", f"{r['rate']:.1f}", f"{r['naive_rate']:.1f}", f"{r['ratio']:.2f}x")
    steady = r["rate_steady"]
    naive = r["naive_rate"]
    t.add_row("images/s, start-up excluded", f"{steady:.1f}", f"{naive:.1f}", f"{steady / naive:.2f}x")
    t.add_row("peak RSS (MB)", f"{r['peak_rss_mb']:.0f}", "", "")
    out.print(t)
    out.print(
        f"{r['images']} photos in {r['seconds']:.1f} s, including process start and model load"
        f" ({r['startup_s']:.1f} s with the first four photos, timed alone)"
    )
    decode_section()
    out.rule("sound and speech (multiple of real time; 2 cores)")
    from bench.bench_audio import run as bench_audio

    a = bench_audio(float(os.environ.get("BENCH_AUDIO_MINUTES", "10")), float(os.environ.get("BENCH_LONG_HOURS", "3")))
    t = Table("measure", "sensorium", "naive baseline", "ratio")
    ev, sp = a["events"], a["speech"]
    t.add_row(
        "sound events, x real time", f"{ev['rt']:.0f}x", f"{ev['naive_rt']:.0f}x", f"{ev['rt'] / ev['naive_rt']:.2f}x"
    )
    t.add_row(
        "sound events, x real time, start-up excluded",
        f"{ev['rt_steady']:.0f}x",
        f"{ev['naive_rt']:.0f}x",
        f"{ev['rt_steady'] / ev['naive_rt']:.2f}x",
    )
    t.add_row("speech, x real time", f"{sp['rt']:.1f}x", f"{sp['naive_rt']:.1f}x", f"{sp['rt'] / sp['naive_rt']:.2f}x")
    t.add_row("speech, words transcribed", str(sp["words"]), str(sp["naive_words"]), "")
    if "long" in a:
        lg = a["long"]
        t.add_row(f"{lg['audio_s'] / 3600:.1f} h recording, events + speech, x real time", f"{lg['rt']:.0f}x", "", "")
        t.add_row(
            f"{lg['audio_s'] / 3600:.1f} h recording, events only, x real time", f"{lg['rt_events']:.0f}x", "", ""
        )
        t.add_row(f"{lg['audio_s'] / 3600:.1f} h recording, peak RSS (MB)", f"{lg['peak_rss_mb']:.0f}", "", "")
    out.print(t)
    out.print(
        f"events: {ev['audio_s'] / 60:.0f} min soundscape indexed in {ev['wall_s']:.1f} s, of which start-up"
        f" {ev['startup_s']:.1f} s; speech: {sp['audio_s'] / 60:.1f} min of the espeak-ng meeting, about half speech"
    )
    video_section()
    server_section()
    hub_section()
    out.rule("vector store: ANN against exact search")
    from bench.bench_store import run as bench_store

    rows = bench_store(sizes=sizes)
    t = Table(*rows[0].keys())
    for row in rows:
        t.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    out.print(t)


if __name__ == "__main__":
    main()
