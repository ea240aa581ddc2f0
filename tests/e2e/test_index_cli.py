"""Indexing as a user runs it: incremental, bad files recorded, resumable after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensorium.cli import EXIT_SOME_FAILED, app
from sensorium.library import open_library
from sensorium.media.tags import picture_tags
from sensorium.store.base import Filter

runner = CliRunner()


def index_json(library: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    result = runner.invoke(app, ["index", *map(str, paths), "--library", str(library), "--json", *extra])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout)


def index_until(folder: Path, lib: Path, files: int, stderr: int) -> tuple[subprocess.Popen[str], int]:
    """``sensorium index`` in a child process, in batches of 4, left running once ``files`` are stored."""
    env = {**os.environ, "SENSORIUM_BATCH_SIZE": "4"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensorium.cli", "index", str(folder), "--library", str(lib)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )
    deadline, done = time.time() + 240, 0
    while time.time() < deadline and proc.poll() is None and done < files:
        time.sleep(0.1)
        try:
            done = sum(1 for r in open_library(lib).store().files().values() if r["status"] == "done")
        except Exception:  # the library may not exist yet, or be mid-write
            continue
    return proc, done


def png_bomb(path: Path, side: int = 30000) -> None:
    """A valid PNG header claiming side×side pixels, with almost no data behind it."""
    ihdr = side.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + len(ihdr).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    idat = b"IDAT" + zlib.compress(b"\x00" * 1000)
    data += (len(idat) - 4).to_bytes(4, "big") + idat + zlib.crc32(idat).to_bytes(4, "big")
    path.write_bytes(data)


@pytest.fixture
def messy(tmp_path: Path, samples: Path) -> Path:
    """Two good photos beside every kind of bad file the issue names."""
    d = tmp_path / "messy"
    d.mkdir()
    shutil.copy(samples / "cat-chelsea.png", d / "cat.png")
    shutil.copy(samples / "rocket-launch.jpg", d / "rocket.jpg")
    jpeg = (samples / "grace-hopper.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (d / "empty.jpg").write_bytes(b"")
    (d / "not-an-image.jpg").write_bytes(b"hello, I am plain text pretending to be a photo\n" * 3 + b"\x00\x01")
    png_bomb(d / "bomb.png")
    os.symlink(d, d / "loop")
    bad_name = os.fsencode(str(d)) + b"/caf\xe9-latin1.png"
    shutil.copyfile(samples / "coins.png", bad_name)
    (d / "report.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)))  # a document whose body is gone
    (d / "notes.zip").write_bytes(b"PK\x03\x04" + bytes(100))
    return d


def test_bad_files_are_recorded_and_the_run_completes(tmp_path: Path, messy: Path) -> None:
    lib = tmp_path / "lib"
    code, report = index_json(lib, messy)
    assert code == EXIT_SOME_FAILED
    reasons = {Path(f["path"]).name: f["error"] for f in report["failures"]}
    assert "empty" in reasons["empty.jpg"]
    assert "not a supported media type" in reasons["not-an-image.jpg"] or "text" in reasons["not-an-image.jpg"]
    assert "truncated" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert "30000x30000" in reasons["bomb.png"] and "raise SENSORIUM_MAX_IMAGE_PIXELS" in reasons["bomb.png"]
    assert any("loop" in r for r in reasons.values())
    assert report["indexed"] == 3  # cat, rocket, and the photo with a non-UTF-8 name
    assert reasons["report.pdf"].startswith("corrupt or truncated PDF")
    # an archive beside the photos is passed over, not failed again in every run
    assert report["not_media"] == 1 and "notes.zip" not in reasons
    errors = json.loads(runner.invoke(app, ["errors", "--library", str(lib), "--json"]).stdout)
    assert {Path(e["path"]).name for e in errors} >= {"empty.jpg", "not-an-image.jpg", "truncated.jpg", "bomb.png"}


def test_reindex_is_incremental_and_prunes_on_request(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "photos"
    shutil.copytree(samples, folder)
    lib = tmp_path / "lib"
    code, first = index_json(lib, folder)
    assert code == 0 and first["indexed"] == len(list(folder.iterdir()))
    code, second = index_json(lib, folder)
    assert (second["indexed"], second["skipped"]) == (0, first["indexed"])
    (folder / "coins.png").unlink()
    os.utime(folder / "cat-chelsea.png", (1, 1))  # touched but unchanged content: still skipped
    result = runner.invoke(app, ["index", str(folder), "--library", str(lib)])
    assert "1 indexed file under these paths no longer exists; run with --prune" in result.stderr
    hits = json.loads(runner.invoke(app, ["search", "coins", "--library", str(lib), "--json"]).stdout)
    gone = [h for h in hits if Path(h["path"]).name == "coins.png"]
    assert gone and gone[0]["why"].endswith("file no longer exists (`index FOLDER --prune` or `forget PATH` drops it)")
    assert all("no longer exists" not in h["why"] for h in hits if h not in gone)
    code, typo = index_json(lib, tmp_path / "nothere")  # a mistyped path fails the run...
    assert code == 3 and typo["failed"] == 1 and typo["gone"] == 0
    assert json.loads(runner.invoke(app, ["errors", "--library", str(lib), "--json"]).stdout) == []  # ...only
    code, third = index_json(lib, folder, extra=("--prune",))
    assert (third["indexed"], third["pruned"], third["gone"]) == (0, 1, 0)
    store = open_library(lib).store()
    assert "coins.png" not in {Path(p).name for p in store.files()}
    assert store.count() == first["records"] - 1


def test_killed_index_resumes_without_loss_or_duplicates(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    photos = [p for p in sorted(samples.iterdir()) if p.suffix in (".png", ".jpg")]
    copies = 20  # enough work that the kill lands mid-run even on a fast machine
    for i in range(copies):
        for p in photos:
            shutil.copy(p, folder / f"{i}-{p.name}")
    lib = tmp_path / "lib"
    proc, done = index_until(folder, lib, 8, stderr=subprocess.DEVNULL)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < done < len(photos) * copies, "the kill must land mid-run"
    code, report = index_json(lib, folder)
    assert code == 0
    assert report["skipped"] >= done
    store = open_library(lib).store()
    total = len(photos) * copies
    assert store.count(Filter(track="picture")) == total
    tagged = sum(1 for p in photos if picture_tags(p).words)  # grace-hopper.jpg names its source in a comment
    assert store.count() == total + tagged * copies  # and its caption's record, once per copy
    assert sum(1 for r in store.files().values() if r["status"] == "done") == total


def test_relative_paths_and_a_model_change_reembed_only_what_is_stale(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    shutil.copytree(samples, work / "photos")
    monkeypatch.chdir(work)
    code, first = index_json(tmp_path / "lib", Path("photos"))
    assert code == 0 and first["failed"] == 0 and first["indexed"] == len(list((work / "photos").iterdir()))
    monkeypatch.setenv("SENSORIUM_DETECTOR_SIDE", "320")  # another image recipe: image vectors are stale
    code, second = index_json(tmp_path / "lib", Path("photos"))
    texts = sum(1 for p in (work / "photos").iterdir() if p.suffix == ".md")
    assert (second["indexed"], second["skipped"]) == (first["indexed"] - texts, texts)


def sensorium_process(*args: str) -> subprocess.CompletedProcess:
    """The installed entry point in a child process, as a shell script sees it."""
    code = "from sensorium.cli import run; run()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_exit_status_says_some_files_failed(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(samples / "cat-chelsea.png", folder / "cat.png")
    (folder / "broken.jpg").write_bytes(bytes(range(256)) * 4)
    proc = sensorium_process("index", str(folder), "--library", str(tmp_path / "lib"), "--json")
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    report = json.loads(proc.stdout)
    assert report["indexed"] == 1 and report["failed"] == 1
    again = sensorium_process("index", str(folder / "cat.png"), "--library", str(tmp_path / "lib"))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("no-such-command",),
        ("search", "a cat", "--limit", "many"),
        ("search", "a cat", "--no-such-flag"),
        ("search", "a cat", "--modality", "sound"),
        ("search", "a cat", "--min-score", "5"),
        ("search", "a cat", "--limit", "99999999999999999999"),
        ("classify", "cat.png", "--labels", "cat, dog", "--top", "0"),
        ("eval", "photos", "--modality", "text"),
        ("eval", "/no/such/labelled/folder"),
        ("search",),  # no words and no example
        ("clip", "x.wav", "--start", "nan", "--end", "1", "-o", "y.wav"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(args: tuple[str, ...]) -> None:
    proc = sensorium_process(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Usage: sensorium" in proc.stdout + proc.stderr


def test_json_output_is_utf8_for_names_that_are_not(tmp_path: Path, samples: Path) -> None:
    """A Latin-1 file name: every command's JSON stays valid UTF-8 and gives back the real name."""
    folder = tmp_path / "photos"
    folder.mkdir()
    raw = os.fsencode(str(folder)) + b"/caf\xe9-cat.png"
    shutil.copyfile(samples / "cat-chelsea.png", raw)
    lib = str(tmp_path / "lib")
    assert sensorium_process("index", str(folder), "--library", lib).returncode == 0
    args = ("--library", lib, "--json")
    search = subprocess.run(
        [sys.executable, "-c", "from sensorium.cli import run; run()", "search", "a cat", "--min-score", "0", *args],
        capture_output=True,
        timeout=300,
    )
    hits = json.loads(search.stdout.decode("utf-8"))  # strict: raises on invalid UTF-8
    assert os.fsencode(hits[0]["path"]) == raw
    classify = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sensorium.cli import run; run()",
            "classify",
            os.fsdecode(raw),
            "--labels",
            "cat, car",
            *args,
        ],
        capture_output=True,
        timeout=300,
    )
    result = json.loads(classify.stdout.decode("utf-8"))
    assert os.fsencode(result[0]["path"]) == raw
    assert result[0]["labels"][0]["label"] == "cat"


def test_a_library_path_that_is_a_file_is_a_clear_error(tmp_path: Path, samples: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("not a library")
    proc = sensorium_process("index", str(samples / "cat-chelsea.png"), "--library", str(not_a_folder))
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        == f"error: {not_a_folder}: is a file, not a library folder; give a folder (new or existing)"
    )
    assert not_a_folder.read_text() == "not a library"


def _notes(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"A short note called {name} about walking in the hills.")
    return folder


def test_one_index_run_at_a_time(tmp_path: Path) -> None:
    """Two runs side by side each stored the same new files: the second now says who holds the library."""
    from sensorium.errors import LibraryError

    notes = _notes(tmp_path / "notes", "a.txt", "b.txt")
    lib = open_library(tmp_path / "library")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from sensorium.library import open_library\n"
            "with open_library(sys.argv[1]).writing():\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(lib.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LibraryError, match=f"another process \\(pid {holder.pid}\\) is indexing"):
            lib.index(notes)
    finally:
        holder.kill()
        holder.wait()
    report = lib.index(notes)  # the lock went with the process
    assert report.indexed == 2 and lib.stats()["files"] == 2
    assert (lib.path / "index.lock").read_bytes() == b""  # a finished run leaves no pid behind


def test_a_library_that_cannot_be_written_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sensorium.errors import LibraryError

    notes = _notes(tmp_path / "notes", "a.txt")
    lib = open_library(tmp_path / "library")
    real_open = os.open

    def read_only(path: object, flags: int, *args: object) -> int:
        if str(path).startswith(str(lib.path)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(LibraryError, match="cannot write the library \\(permission denied\\); give a writable"):
        lib.index(notes)


def test_prune_keeps_what_an_unreadable_folder_hides_and_forgets_its_failure_once_it_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _notes(tmp_path / "notes", "top.txt")
    locked = _notes(root / "locked", "inner-1.txt", "inner-2.txt")
    lib = open_library(tmp_path / "library")
    assert lib.index(root).indexed == 3
    real_scandir, real_lstat = os.scandir, os.lstat

    def scandir(path: object) -> object:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    def lstat(path: object, *a: object, **k: object) -> os.stat_result:
        if str(path).startswith(str(locked) + os.sep):
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *a, **k)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(os, "scandir", scandir)
        m.setattr(os, "lstat", lstat)
        report = lib.index(root, prune=True)
    assert report.failed == 1 and report.pruned == 0  # the two notes are still there, only unseen
    assert lib.stats()["files"] == 3
    assert [f["path"] for f in lib.errors()] == [str(locked)]
    report = lib.index(root, prune=True)
    assert report.failed == 0 and lib.errors() == [] and lib.stats()["failed"] == 0


def test_ctrl_c_says_what_is_kept_and_the_next_run_resumes(tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", *(f"note-{i:03}.txt" for i in range(300)))
    lib = tmp_path / "lib"
    proc, done = index_until(notes, lib, 8, stderr=subprocess.PIPE)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: what was indexed so far is kept" in err, err[-500:]
    assert "Traceback" not in err
    code, report = index_json(lib, notes)
    assert code == 0 and report["skipped"] >= done > 0 and report["skipped"] + report["indexed"] == 300


def test_eval_names_the_files_it_left_out_and_a_mistyped_library_is_an_error(tmp_path: Path, samples: Path) -> None:
    from sensorium.errors import LibraryError

    root = tmp_path / "set"
    for label, name in [("cat", "cat-chelsea.png"), ("rocket", "rocket-launch.jpg")]:
        (root / label).mkdir(parents=True)
        shutil.copyfile(samples / name, root / label / name)
    (root / "cat" / "empty.jpg").write_bytes(b"")
    result = runner.invoke(app, ["eval", str(root), "--library", str(tmp_path / "lib")])
    assert result.exit_code == EXIT_SOME_FAILED
    assert f"failed {root / 'cat' / 'empty.jpg'}: empty file (0 bytes)" in result.stderr
    for command in ("stats", "errors", "spaces"):
        result = runner.invoke(app, [command, "--library", str(tmp_path / "typo")])
        assert isinstance(result.exception, LibraryError) and "no library here yet" in str(result.exception)


def test_errors_clear_forgets_failures_and_the_next_run_records_what_still_fails(tmp_path: Path) -> None:
    notes = _notes(tmp_path / "notes", "a.txt")
    (notes / "empty.txt").write_bytes(b"")
    lib = tmp_path / "lib"
    assert index_json(lib, notes, tmp_path / "typo")[0] == EXIT_SOME_FAILED
    listed = json.loads(runner.invoke(app, ["errors", "--library", str(lib), "--json"]).stdout)
    assert sorted(Path(e["path"]).name for e in listed) == ["empty.txt"]  # a typo fails the run, not the library
    result = runner.invoke(app, ["errors", "--clear", "--library", str(lib), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == {"cleared": 1}
    assert json.loads(runner.invoke(app, ["errors", "--library", str(lib), "--json"]).stdout) == []
    assert index_json(lib, notes)[0] == EXIT_SOME_FAILED  # the empty note still fails
    listed = json.loads(runner.invoke(app, ["errors", "--library", str(lib), "--json"]).stdout)
    assert [Path(e["path"]).name for e in listed] == ["empty.txt"]


def test_classify_table_says_plainly_when_a_label_does_not_fit(tmp_path: Path, samples: Path) -> None:
    """One label under the threshold read "(abstain) a cat 0.01", as if the file were a cat it was unsure of."""
    lib = str(tmp_path / "lib")
    files = [str(samples / "rocket-launch.jpg"), str(samples / "cat-chelsea.png")]
    result = runner.invoke(app, ["classify", *files, "--labels", "a cat", "--library", lib], terminal_width=200)
    lines = result.stdout.splitlines()
    rocket = next(line for line in lines if "rocket-launch.jpg" in line)
    cat = next(line for line in lines if "cat-chelsea.png" in line)
    assert "(not a cat)" in rocket and "(not" not in cat and "a cat" in cat, result.stdout
    result = runner.invoke(
        app, ["classify", files[0], "--labels", "a cat, a dog", "--multi-label", "--library", lib], terminal_width=200
    )
    assert "(none of the labels reach 0.50)" in result.stdout
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = runner.invoke(
        app, ["classify", str(empty), "--labels", "a cat, a dog", "--library", lib], terminal_width=300
    )
    row = next(line for line in result.stdout.splitlines() if "empty.jpg" in line)
    assert row.count("empty.jpg") == 1 and "error" in row and "empty" in row.split("empty.jpg", 1)[1], row


def test_prune_holds_a_folder_whose_every_file_is_missing_until_it_is_forgotten(tmp_path: Path) -> None:
    """A drive that did not mount looks like a folder whose files were all deleted: --prune keeps them."""
    drive = _notes(tmp_path / "drive", "a.txt", "b.txt", "c.txt")
    _notes(drive / "sub", "d.txt")
    other = _notes(tmp_path / "other", "e.txt", "f.txt")
    lib = tmp_path / "lib"
    assert index_json(lib, drive, other)[1]["indexed"] == 6
    drive.rename(tmp_path / "drive.off")
    (other / "f.txt").unlink()
    result = runner.invoke(app, ["index", str(drive), str(other), "--library", str(lib), "--prune"])
    assert result.exit_code == EXIT_SOME_FAILED  # the folder given is not there
    assert f"kept the files under {drive}: every one of them is missing" in result.stderr
    assert f"`sensorium forget {drive}` drops them" in result.stderr
    files = open_library(lib).store().files()
    assert sorted(Path(p).name for p in files) == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]  # f.txt pruned
    drive.mkdir()  # an empty mount point: the same
    code, report = index_json(lib, drive, extra=("--prune",))
    assert (code, report["pruned"], report["held"]) == (0, 0, [str(drive)])
    result = runner.invoke(app, ["forget", str(drive), "--library", str(lib), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["forgotten"] == 4
    store = open_library(lib).store()
    assert sorted(Path(p).name for p in store.files()) == ["e.txt"]
    assert {r["path"] for r in store.search_keywords("note", limit=50)} == {str(other / "e.txt")}
    result = runner.invoke(app, ["forget", str(tmp_path / "nothing"), "--library", str(lib)])
    assert result.exit_code == 0 and "forgot 0 files" in result.stderr


def test_a_file_rewritten_into_junk_loses_what_it_held(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copyfile(samples / "cat-chelsea.png", folder / "cat.png")
    shutil.copyfile(samples / "rocket-launch.jpg", folder / "rocket.jpg")
    lib = tmp_path / "lib"
    assert index_json(lib, folder)[1]["indexed"] == 2
    (folder / "cat.png").write_bytes(bytes(range(256)) * 20)
    code, report = index_json(lib, folder)
    assert code == EXIT_SOME_FAILED and report["failures"][0]["path"] == str(folder / "cat.png")
    hits = json.loads(
        runner.invoke(app, ["search", "a cat", "--library", str(lib), "--json", "--min-score", "0"]).stdout
    )
    assert [Path(h["path"]).name for h in hits] == ["rocket.jpg"]  # not the cat it no longer holds
    result = runner.invoke(app, ["errors", "--library", str(lib), "--json"])
    assert "skip it with --exclude 'cat.png'" in json.loads(result.stdout)[0]["error"]
    code, report = index_json(lib, folder, extra=("--exclude", "cat.png"))  # the advice, taken
    assert code == 0 and json.loads(runner.invoke(app, ["errors", "--library", str(lib), "--json"]).stdout) == []


def test_a_recording_cut_short_by_a_crash_is_listed_and_pruned_with_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sensorium.models.offline_audio import OfflineAudioEncoder

    folder = tmp_path / "talks"
    folder.mkdir()
    shutil.copyfile(Path(__file__).resolve().parent.parent / "data" / "speech" / "meeting.flac", folder / "m.flac")
    _notes(folder, "agenda.txt")
    lib = open_library(tmp_path / "lib", speech="never")
    real = OfflineAudioEncoder._emit_windows

    def crash_after_writing(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise KeyboardInterrupt  # killed mid-file: some records written, the file not done

    with monkeypatch.context() as m:
        m.setattr(OfflineAudioEncoder, "_emit_windows", crash_after_writing)
        with pytest.raises(KeyboardInterrupt):
            lib.index(folder)
    store = lib.store()
    row = store.files()[str(folder / "m.flac")]
    assert row["status"] == "partial" and store.has_records(str(folder / "m.flac"))
    assert (lib.stats()["files"], lib.stats()["partial"]) == (0, 1)  # a partial recording is not counted as indexed
    (folder / "m.flac").unlink()
    report = lib.index(folder, prune=True)
    assert report.pruned == 1 and not store.has_records(str(folder / "m.flac"))
    assert set(store.files()) == {str(folder / "agenda.txt")}


def test_a_moved_renamed_or_copied_file_reuses_the_records_it_had(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reorganising a library re-encoded every file moved: an hour of sound cost a minute again."""
    import numpy as np

    import sensorium.ingest
    from sensorium.models.offline_audio import OfflineAudioEncoder

    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copyfile(samples / "cat-chelsea.png", folder / "cat.png")
    shutil.copyfile(Path(__file__).resolve().parent.parent / "data" / "speech" / "short.flac", folder / "talk.flac")
    lib = open_library(tmp_path / "lib", speech="never")
    first = lib.index(folder)
    assert (first.indexed, first.reused) == (2, 0)
    store = lib.store()
    before = {name: store.records_of([str(folder / name)]) for name in ("cat.png", "talk.flac")}
    assert all(before.values())
    (folder / "sorted").mkdir()
    os.rename(folder / "cat.png", folder / "sorted" / "kitten.png")
    shutil.copyfile(folder / "talk.flac", folder / "talk copy.flac")
    shutil.copyfile(folder / "talk.flac", folder / "talk copy 2.flac")  # two copies of one file in one batch

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded or encoded again")

    with monkeypatch.context() as m:
        m.setattr(sensorium.ingest, "image_segments", refuse)
        m.setattr(OfflineAudioEncoder, "encode_file", refuse)
        second = lib.index(folder)
    assert (second.indexed, second.reused, second.skipped, second.gone) == (3, 3, 1, 1)
    for old, new in (
        ("cat.png", "sorted/kitten.png"),
        ("talk.flac", "talk copy.flac"),
        ("talk.flac", "talk copy 2.flac"),
    ):
        got = store.records_of([str(folder / new)])
        assert [(r["seg_index"], r["start"], r["end"]) for r in got] == [
            (r["seg_index"], r["start"], r["end"]) for r in before[old]
        ]
        for a, b in zip(got, before[old], strict=True):
            np.testing.assert_array_equal(a["vector"], b["vector"])
            assert a["id"] != b["id"] and a["path"] == str(folder / new)
    assert store.files()[str(folder / "sorted" / "kitten.png")]["status"] == "done"
    hits = lib.search("a cat", min_score=0, limit=3)
    assert hits[0].path == str(folder / "sorted" / "kitten.png")  # the copy that exists speaks for the one gone
    third = lib.index(folder, prune=True)
    assert (third.pruned, third.indexed) == (1, 0)
    assert not store.records_of([str(folder / "cat.png")]) and store.records_of([str(folder / "sorted" / "kitten.png")])
    assert len(store.records_of([str(folder / "talk.flac")])) == len(before["talk.flac"])


def test_a_copy_of_a_file_rewritten_in_the_same_run_is_encoded_from_its_own_bytes(
    tmp_path: Path, samples: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copyfile(samples / "cat-chelsea.png", folder / "a.png")
    lib = open_library(tmp_path / "lib")
    lib.index(folder)
    cat_hash = lib.store().files()[str(folder / "a.png")]["content_hash"]
    shutil.copyfile(samples / "rocket-launch.jpg", folder / "a.png")  # the twin now holds a rocket...
    shutil.copyfile(samples / "cat-chelsea.png", folder / "z.png")  # ...and the cat moved here
    report = lib.index(folder)
    assert (report.indexed, report.reused) == (2, 0)
    store = lib.store()
    assert {r["content_hash"] for r in store.records_of([str(folder / "z.png")])} == {cat_hash}
    assert lib.search("a cat", min_score=0, limit=1)[0].path == str(folder / "z.png")
    assert lib.search("a rocket launch", min_score=0, limit=1)[0].path == str(folder / "a.png")


def test_a_folder_indexed_through_a_link_is_held_once(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sensorium.ingest

    real = tmp_path / "photos"
    real.mkdir()
    for name in ("cat-chelsea.png", "rocket-launch.jpg"):
        shutil.copyfile(samples / name, real / name)
    link = tmp_path / "Pictures"
    os.symlink(real, link)
    lib = open_library(tmp_path / "lib")
    with monkeypatch.context() as m:  # as earlier versions stored it: under the link's name
        m.setattr(sensorium.ingest, "canonical", lambda p: Path(os.path.abspath(p)))
        assert lib.index(link).indexed == 2
    assert {Path(p).parent for p in lib.store().files()} == {link}
    report = lib.index(link)  # now under the folder's own name, the records copied and the old names gone
    assert (report.indexed, report.reused) == (2, 2)
    assert {Path(p).parent for p in lib.store().files()} == {Path(os.path.realpath(real))}
    records = lib.store().count()
    again = lib.index(real)
    assert (again.indexed, again.skipped) == (0, 2) and lib.store().count() == records
    assert len(lib.forget(link)) == 2 and lib.store().count() == 0


def test_a_run_killed_while_copying_records_leaves_no_duplicates(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copyfile(samples / "cat-chelsea.png", folder / "cat.png")
    lib = open_library(tmp_path / "lib")
    lib.index(folder)
    shutil.copyfile(folder / "cat.png", folder / "cat again.png")
    store_type = type(lib.store())

    def killed(self, rows):  # the records are written, the files rows that mark them done are not
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(store_type, "upsert_files", killed)
        with pytest.raises(KeyboardInterrupt):
            open_library(tmp_path / "lib").index(folder)
    report = open_library(tmp_path / "lib").index(folder)
    assert (report.indexed, report.reused) == (1, 1)
    store = open_library(tmp_path / "lib").store()
    assert len(store.records_of([str(folder / "cat again.png")])) == 1 and store.count() == 2


def test_rehash_reads_a_file_whose_size_and_time_did_not_change(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "note.txt"
    old, new = "A short note about a cat asleep on a sofa.", "A short note about a dog asleep on a sofa."
    assert len(old) == len(new)
    note.write_text(old)
    lib = tmp_path / "lib"
    assert index_json(lib, folder)[1]["indexed"] == 1
    st = note.stat()
    note.write_text(new)
    os.utime(note, ns=(st.st_atime_ns, st.st_mtime_ns))  # restored with its old time: looks unchanged
    assert index_json(lib, folder)[1]["skipped"] == 1
    code, report = index_json(lib, folder, extra=("--rehash",))
    assert code == 0 and (report["indexed"], report["skipped"]) == (1, 0)
    [record] = open_library(lib).store().records_of([str(note)])
    assert "dog" in record["text"] and "cat" not in record["text"]
    assert index_json(lib, folder, extra=("--rehash",))[1]["skipped"] == 1  # read again, and unchanged


def test_a_folder_with_nothing_to_index_says_so(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    result = CliRunner().invoke(app, ["index", str(tmp_path / "nothing"), "--library", str(tmp_path / "lib")])
    assert result.exit_code == 0 and "nothing to index" in result.stderr, result.stderr
    assert "nothing" in result.stderr.split("no files under ")[1]
