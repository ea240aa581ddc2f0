"""Hub spaces in a library: embedding only what changed, search per space, and sound → picture by binding.

The hub models are tiny, randomly initialised open_clip and CLAP networks saved in their real
formats (``tiny.py``): what these tests check does not depend on their weights being trained
(which files get embedded again, which space answers, that an image finds itself, that a sound
example reaches pictures through a fitted map). The library's own space is the real offline tier.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tiny
from PIL import Image

from sensorium import spaces
from sensorium.errors import QueryError, SensoriumError
from sensorium.library import open_library
from sensorium.models import hub
from sensorium.models.files import package_dir
from sensorium.samples import SAMPLE_PHOTOS


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny image-text models (different weights, both writing space 'clip') and a tiny CLAP."""
    root = tmp_path_factory.mktemp("hub")
    src = tmp_path_factory.mktemp("src")
    hub.add("openclip:tiny-a", root, source=tiny.save_openclip_dir(src / "a"))
    other = dict(tiny.OPENCLIP_CFG, embed_dim=24)
    hub.add("openclip:tiny-b", root, source=tiny.save_openclip_dir(src / "b", model_cfg=other))
    hub.add("clap:tiny", root, source=tiny.save_hf_clap_dir(src / "clap"))
    return root


@pytest.fixture()
def media(tmp_path: Path) -> Path:
    """Three real photos, one real recording (pygame's boom.wav) and a note."""
    folder = tmp_path / "media"
    folder.mkdir()
    for package, inner, name in SAMPLE_PHOTOS[:3]:
        shutil.copyfile(package_dir(package) / inner, folder / name)
    shutil.copyfile(package_dir("pygame") / "examples/data/boom.wav", folder / "boom.wav")
    (folder / "note.md").write_text("A walk on the beach with the dog at sunset.", encoding="utf-8")
    return folder


@pytest.fixture()
def env(hub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENSORIUM_HUB_MODELS", str(hub_dir))
    return hub_dir


def test_index_with_a_model_embeds_only_what_it_has_not_seen(env: Path, media: Path, tmp_path: Path) -> None:
    lib = open_library(tmp_path / "lib")
    first = lib.index([media], models=["openclip:tiny-a"])
    assert first.failed == 0
    clip = first.spaces["clip"]
    assert clip["embedded"] == 5 and clip["failed"] == 0  # the sound is seen (done) but gives no picture vectors
    store = spaces.space_store(lib, "clip")
    assert store.count() == 4  # three photos and one text chunk
    assert spaces.pending_paths(lib, "clip") == set()

    again = open_library(tmp_path / "lib").index([media])
    assert again.spaces["clip"]["embedded"] == 0 and again.spaces["clip"]["unchanged"] == 5

    photo = next(media.glob("*.png"))
    Image.open(photo).convert("L").convert("RGB").save(photo)  # content changed
    (media / "note.md").unlink()
    changed = open_library(tmp_path / "lib").index([media], prune=True)
    assert changed.spaces["clip"]["embedded"] == 1
    assert changed.spaces["clip"]["dropped"] == 1
    lib = open_library(tmp_path / "lib")
    rows = spaces.space_store(lib, "clip").search_vectors(np.ones(32, np.float32) / np.sqrt(32), limit=50)
    assert sorted({r["path"] for r in rows}) == sorted(str(p) for p in media.glob("*.png")) + sorted(
        str(p) for p in media.glob("*.jpg")
    )
    assert len(rows) == 3  # no duplicate of the changed photo, nothing of the deleted note


def test_a_moved_photo_takes_its_vectors_in_a_space_from_the_file_it_was(
    env: Path, media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = open_library(tmp_path / "lib")
    lib.index([media], models=["openclip:tiny-a"])
    store = spaces.space_store(lib, "clip")
    photo = next(media.glob("*.png"))
    before = store.records_of([str(photo)])
    (media / "album").mkdir()
    moved = media / "album" / photo.name
    photo.rename(moved)
    enc = spaces.space_encoder(lib, "clip")
    monkeypatch.setattr(type(enc), "encode", lambda *a, **k: pytest.fail("embedded again"))
    report = open_library(tmp_path / "lib").index([media], prune=True)
    assert report.reused == 1 and report.spaces["clip"]["embedded"] == 1 and report.spaces["clip"]["dropped"] == 1
    store = spaces.space_store(open_library(tmp_path / "lib"), "clip")
    after = store.records_of([str(moved)])
    assert len(after) == len(before) == 1 and not store.records_of([str(photo)])
    np.testing.assert_array_equal(after[0]["vector"], before[0]["vector"])
    assert spaces.pending_paths(open_library(tmp_path / "lib"), "clip") == set()


def test_search_a_space_by_example_finds_the_same_picture_and_says_which_space(
    env: Path, media: Path, tmp_path: Path
) -> None:
    lib_path = tmp_path / "lib"
    open_library(lib_path).index([media], models=["openclip:tiny-a"])
    photo = sorted(media.glob("*.png"))[0]
    cmd = [sys.executable, "-m", "sensorium.cli", "search", "--like", str(photo), "--space", "clip"]
    cmd += ["--json", "--min-score", "0", "-l", str(lib_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert hits and {h["space"] for h in hits} == {"clip"}
    assert hits[0]["path"] == str(photo)
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-3)  # its own vector: cosine 1

    own = open_library(lib_path).search("a walk on the beach", min_score=0)
    assert own and {h.space for h in own} == {open_library(lib_path).manifest["space"]}


def test_files_the_space_has_not_embedded_are_answered_by_the_library_space(
    env: Path, media: Path, tmp_path: Path
) -> None:
    lib = open_library(tmp_path / "lib")
    lib.index([media])
    assert spaces.add_space(lib, "openclip:tiny-a") == "clip"
    assert spaces.pending_paths(lib, "clip") == {str(p) for p in media.iterdir()}
    hits = lib.search("a walk on the beach with the dog", space="clip", min_score=0)
    assert hits and {h.space for h in hits} == {lib.manifest["space"]}  # nothing embedded in clip yet
    assert hits[0].path == str(media / "note.md")
    rows = {r["space"]: r for r in spaces.describe_spaces(lib)}
    assert rows["clip"]["pending"] == 5 and rows["clip"]["records"] == 0


def test_switching_the_model_of_a_space_re_embeds_everything_with_the_new_weights(
    env: Path, media: Path, tmp_path: Path
) -> None:
    lib = open_library(tmp_path / "lib")
    lib.index([media], models=["openclip:tiny-a"])
    switched = open_library(tmp_path / "lib").index([], models=["openclip:tiny-b"])
    assert switched.spaces["clip"]["embedded"] == 5 and switched.spaces["clip"]["unchanged"] == 0
    lib = open_library(tmp_path / "lib")
    assert lib.manifest["spaces"]["clip"]["model"] == "openclip:tiny-b"
    assert spaces.space_store(lib, "clip").count() == 4
    versions = {r["encoder"] for r in spaces.space_store(lib, "clip").files().values()}
    assert versions == {hub.find_installed(env, "openclip:tiny-b").version_key}


def test_a_sound_example_finds_pictures_through_the_clap_to_clip_binding(
    env: Path, media: Path, tmp_path: Path
) -> None:
    lib = open_library(tmp_path / "lib")
    report = lib.index([media], models=["openclip:tiny-a", "clap:tiny"])
    assert report.spaces["clap"]["embedded"] == 5
    clap_rows = spaces.space_store(lib, "clap").files()
    assert clap_rows[str(media / "boom.wav")]["status"] == "done"
    hits = lib.search(like=media / "boom.wav", modality="image", min_score=0)
    assert hits and all(h.modality == "image" and h.space == "clip" for h in hits)
    assert "read in clap" in hits[0].why
    photos = sorted(p for p in media.iterdir() if p.suffix in (".png", ".jpg"))[:2]
    both = lib.search(like=photos, modality="image", min_score=0, limit=2)  # more like these, in the hub space
    assert {Path(h.path).name for h in both} == {p.name for p in photos} and all(h.space == "clip" for h in both)
    bound = spaces.binding(lib, "clap", "clip")
    assert (lib.path / "bindings" / "clap__clip.npz").is_file()
    assert bound.held_out > 100 and 0.0 <= bound.recall_at_1 <= 1.0
    assert bound.weights.shape == (32, 32)
    listed = {r["space"]: r for r in spaces.describe_spaces(lib)}
    assert [b["target"] for b in listed["clap"]["bindings"]] == ["clip"]


def test_an_unknown_model_or_space_is_a_clear_error_and_changes_nothing(env: Path, media: Path, tmp_path: Path) -> None:
    lib = open_library(tmp_path / "lib")
    lib.index([media])
    with pytest.raises(SensoriumError, match=r"openclip:nope.*not installed.*models add"):
        open_library(tmp_path / "lib").index([], models=["openclip:nope"])
    assert "spaces" not in open_library(tmp_path / "lib").manifest
    with pytest.raises(QueryError, match=r"space .clap.*its spaces"):
        open_library(tmp_path / "lib").search("dog", space="clap")


def test_the_http_api_lists_spaces_and_searches_the_one_asked(env: Path, media: Path, tmp_path: Path) -> None:
    """``GET /api/spaces`` is ``sensorium spaces --json``; a search body's ``space`` picks the space that
    answers, by words and by an uploaded example; an unknown space is a 4xx naming the spaces there are."""
    from fastapi.testclient import TestClient

    from sensorium.server import create_app

    lib = open_library(tmp_path / "lib")
    lib.index([media], models=["openclip:tiny-a"])
    client = TestClient(create_app(lib, token="t"), headers={"Authorization": "Bearer t"})
    listed = client.get("/api/spaces").json()["spaces"]
    assert [(s["space"], s["own"]) for s in listed] == [(lib.manifest["space"], True), ("clip", False)]
    assert listed[1]["model"] == "openclip:tiny-a" and listed[1]["pending"] == 0 and listed[1]["records"] == 4

    body = {"text": "a walk on the beach", "min_score": 0}
    own = client.post("/api/search", json=body).json()["hits"]
    assert own and {h["space"] for h in own} == {lib.manifest["space"]}
    clip = client.post("/api/search", json=body | {"space": "clip"}).json()["hits"]
    assert clip and {h["space"] for h in clip} == {"clip"}

    photo = sorted(media.glob("*.png"))[0]
    r = client.post(
        "/api/search/example",
        files={"file": (photo.name, photo.read_bytes(), "image/png")},
        data={"space": "clip", "min_score": "0"},
    )
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert hits[0]["space"] == "clip" and Path(hits[0]["path"]).name == photo.name

    r = client.post("/api/search", json=body | {"space": "nope"})
    assert r.status_code == 400 and "nope" in r.json()["error"] and "clip" in r.json()["error"]


def test_photos_are_embedded_in_batches_and_a_bad_one_fails_alone(env: Path, media: Path, tmp_path: Path) -> None:
    """A space embeds photos many to a model call, with the vectors one call per photo gives; a photo that
    no longer decodes is recorded as failed with its reason, and the others in its batch are embedded."""
    from sensorium.ingest import record_id
    from sensorium.media.image import load_image

    lib = open_library(tmp_path / "lib")
    lib.index([media])
    photos = sorted(media.glob("*.png"))
    broken = photos[0]
    broken.write_bytes(broken.read_bytes()[:200])  # truncated after the library indexed it
    enc = spaces.space_encoder(lib, spaces.add_space(lib, "openclip:tiny-a"))
    calls: list[int] = []
    real = enc.model.encode_images
    enc.model.encode_images = lambda images: calls.append(len(images)) or real(images)
    counts = spaces.sync_space(lib, "clip")
    assert counts["failed"] == 1 and counts["embedded"] == 4  # 2 photos, the note, the sound (no pictures)
    assert calls == [2], calls  # both good photos in one call
    store = spaces.space_store(lib, "clip")
    files = store.files()
    assert files[str(broken)]["status"] == "failed" and "truncated" in files[str(broken)]["error"]
    for photo in photos[1:]:
        (row,) = store.get_records([record_id(str(photo), 0)])
        alone = real([load_image(photo, max_pixels=lib.settings.max_image_pixels)])[0]
        assert np.allclose(row["vector"], alone, atol=1e-5)


def test_a_space_of_a_library_made_before_dates_were_read_gets_them_with_it(
    env: Path, media: Path, tmp_path: Path
) -> None:
    """The cat photo's XMP says 2009-02-09: after the upgrade run, the space's records say so too."""
    import lancedb

    from sensorium.store.base import Filter

    lib = open_library(tmp_path / "lib")
    assert lib.index([media], models=["openclip:tiny-a"]).failed == 0
    dated = sorted(Path(p).name for p, row in lib.store().files().items() if row["taken"] is not None)
    assert "cat-chelsea.png" in dated
    for folder in (tmp_path / "lib" / "lance", tmp_path / "lib" / spaces.SPACES_DIR / "clip" / "lance"):
        db = lancedb.connect(str(folder))  # as 0.3 left them: no dates
        for table in ("records", "files"):
            db.open_table(table).drop_columns(["taken"])
    manifest = json.loads((tmp_path / "lib" / "manifest.json").read_text())
    del manifest["dates"]
    (tmp_path / "lib" / "manifest.json").write_text(json.dumps(manifest))

    lib = open_library(tmp_path / "lib")
    report = lib.index([media])
    assert report.redated == len(dated) and report.indexed == 0 and report.spaces["clip"]["embedded"] == 0
    space = spaces.space_store(lib, "clip")
    in_space = {Path(r["path"]).name for r in space.scan(["path"], Filter(taken=(None, None)))}
    assert in_space == set(dated) - {"boom.wav"}  # the space holds pictures and text: no sound
    hits = lib.search("a photo", space="clip", taken="2009", min_score=0)
    assert [Path(h.path).name for h in hits] == ["cat-chelsea.png"] and hits[0].taken is not None


def test_a_space_search_also_finds_files_by_the_words_they_carry(env: Path, media: Path, tmp_path: Path) -> None:
    """A hub model reads pictures, not a caption or where a phone took the photo: the library's tags records
    join its hits, so "Lisbon" finds the captioned photo in the clip space too."""
    exif = Image.Exif()
    exif[270] = "Breakfast with grandma in Lisbon"
    Image.open(media / SAMPLE_PHOTOS[1][2]).convert("RGB").save(media / "breakfast.jpg", exif=exif)
    lib = open_library(tmp_path / "lib")
    assert lib.index([media], models=["openclip:tiny-a"]).failed == 0
    hits = lib.search("Lisbon", modality="image")  # a space that reads pictures answers --modality image
    assert hits and hits[0].path == str(media / "breakfast.jpg"), hits
    assert 'grandma in Lisbon"' in hits[0].why and "tagged:" in hits[0].why and hits[0].score >= 0.75
    assert hits[0].space == lib.manifest["space"]  # the words were read in the library's own space
    assert all(h.path == str(media / "breakfast.jpg") for h in hits)  # the other photos say nothing of Lisbon
    own = lib.search("Lisbon", modality="image", space="offline")  # as the library's own space scores them
    assert [(h.path, round(h.score, 4)) for h in own] == [(h.path, round(h.score, 4)) for h in hits]
