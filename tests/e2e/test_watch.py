"""`sensorium watch`: a library kept up to date with a folder as photos arrive, change, break and leave."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sensorium.library import open_library
from sensorium.watch import Change


def wait_for(changes: list[Change], test, timeout: float = 60.0) -> Change:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for c in changes:
            if test(c):
                return c
        time.sleep(0.05)
    raise AssertionError(f"no such change within {timeout} s: {[c.to_json() for c in changes]}")


def test_arrivals_edits_failures_and_deletions_are_followed(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(samples / "cat-chelsea.png", folder / "cat.png")
    lib = open_library(tmp_path / "lib")
    changes: list[Change] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=lib.watch, args=([folder],), kwargs={"every": 0.2, "on_change": changes.append, "stop": stop}
    )
    thread.start()
    try:
        first = wait_for(changes, lambda c: c.indexed)
        assert [Path(p).name for p in first.indexed] == ["cat.png"]
        shutil.copy(samples / "rocket-launch.jpg", folder / "rocket.jpg")
        arrived = wait_for(changes, lambda c: any(p.endswith("rocket.jpg") for p in c.indexed))
        assert [Path(p).name for p in arrived.indexed] == ["rocket.jpg"]  # the cat is not indexed again
        assert Path(lib.search("a rocket", limit=1)[0].path).name == "rocket.jpg"
        (folder / "broken.jpg").write_bytes(b"not a photo at all")
        broken = wait_for(changes, lambda c: c.failed)
        assert [Path(p).name for p, _ in broken.failed] == ["broken.jpg"] and "not" in broken.failed[0][1]
        (folder / "cat.png").unlink()
        gone = wait_for(changes, lambda c: c.forgotten)
        assert [Path(p).name for p in gone.forgotten] == ["cat.png"]
        time.sleep(0.6)  # rounds go on; the broken file is not reported again
        assert sum(1 for c in changes if c.failed) == 1
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert {Path(p).name for p, r in lib.store().files().items() if r.get("status") == "done"} == {"rocket.jpg"}


def test_the_command_prints_a_json_line_per_change_and_stops_on_ctrl_c(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(samples / "cat-chelsea.png", folder / "cat.png")
    cmd = [sys.executable, "-m", "sensorium.cli", "watch", str(folder), "-l", str(tmp_path / "lib"), "--every", "0.3"]
    proc = subprocess.Popen([*cmd, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        first = json.loads(proc.stdout.readline())
        assert set(first) == {"at", "indexed", "forgotten", "failed"}
        assert [Path(p).name for p in first["indexed"]] == ["cat.png"]
        shutil.copy(samples / "coins.png", folder / "coins.png")
        second = json.loads(proc.stdout.readline())
        assert [Path(p).name for p in second["indexed"]] == ["coins.png"] and second["forgotten"] == []
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "watching" in err and "stopped" in err


@pytest.mark.parametrize("every", ["0", "nan"])
def test_a_bad_interval_is_refused(tmp_path: Path, every: str) -> None:
    from clirun import cli

    code, _, err = cli("watch", str(tmp_path), "-l", str(tmp_path / "lib"), "--every", every)
    assert code == 2 and "--every" in err
