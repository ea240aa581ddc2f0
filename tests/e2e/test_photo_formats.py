"""What phones, cameras and the web write (HEIC, RAW, AVIF), indexed, searched and classified end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, features

from clirun import cli
from sensorium.cli import EXIT_SOME_FAILED

pillow_heif = pytest.importorskip("pillow_heif")
pytest.importorskip("rawpy")


@pytest.fixture(scope="module")
def phone_folder(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    """The sample photos as a phone's camera roll (HEIC, one cut short), a camera's RAW and an AVIF from the web."""
    from camera_raw import write_camera_roll

    if not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF")
    return write_camera_roll(samples, tmp_path_factory.mktemp("camera-roll"))


def test_a_camera_roll_of_heic_and_avif(phone_folder: Path, tmp_path: Path) -> None:
    lib = str(tmp_path / "lib")
    code, out, _ = cli("index", str(phone_folder), "--library", lib, "--json")
    assert code == EXIT_SOME_FAILED  # the cut copy failed; every other photo is indexed
    report = json.loads(out)
    assert (report["indexed"], report["failed"]) == (4, 1)
    [(path, reason)] = [(f["path"], f["error"]) for f in report["failures"]]
    assert Path(path).name == "IMG_0004.HEIC" and reason.startswith("truncated HEIF image")
    expected_first = {"a cat": "IMG_0001.HEIC", "a motorbike": "motorbike.avif", "a rocket": "DSC_0003.NEF"}
    expected_first["photos from Lisbon"] = "IMG_0001.HEIC"  # where the phone says it was taken (EXIF in HEIC)
    for query, expected in expected_first.items():
        code, out, _ = cli("search", query, "--library", lib, "--json", "--min-score", "0")
        assert code == 0
        assert Path(json.loads(out)[0]["path"]).name == expected, query
    code, out, _ = cli("search", "photos", "--taken", "2024-05-18", "--library", lib, "--json", "--min-score", "0")
    assert [(Path(h["path"]).name, h["taken"]) for h in json.loads(out)] == [("IMG_0001.HEIC", "2024-05-18T10:42:07")]
    files = [str(phone_folder / n) for n in ("IMG_0001.HEIC", "IMG_0002.HEIC", "motorbike.avif", "DSC_0003.NEF")]
    code, out, _ = cli("classify", *files, "--labels", "cat, coffee, motorcycle, rocket", "--library", lib, "--json")
    assert code == 0
    assert [r["labels"][0]["label"] for r in json.loads(out)] == ["cat", "coffee", "motorcycle", "rocket"]


def test_the_web_page_gets_jpeg_thumbnails_of_heic_and_raw(phone_folder: Path, tmp_path: Path) -> None:
    from sensorium.server.media import content_type, thumbnail

    for name, mime in [("IMG_0001.HEIC", "image/heif"), ("DSC_0003.NEF", "image/x-dcraw")]:
        path = phone_folder / name
        assert content_type(path.read_bytes()[:64], path.name) == mime
        data = thumbnail(tmp_path / "lib", str(path), 0.0, max_pixels=100_000_000)
        assert data is not None and data[:3] == b"\xff\xd8\xff"
        with Image.open(io.BytesIO(data)) as im:
            assert max(im.size) <= 320 and im.size[0] > im.size[1]  # both photos are landscape


def test_the_web_page_thumbnail_of_a_phones_heic_is_its_embedded_one(
    phone_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IMG_0001 carries a phone's thumbnail of 320 px: the web page's 320 px thumbnail is that one,
    # read in milliseconds, not the picture decoded whole (0.5 s for 12 MP)
    from pillow_heif.as_plugin import HeifImageFile

    from sensorium.server.media import thumbnail

    chosen = []
    draft = HeifImageFile.draft

    def spy(self, mode, size):
        chosen.append(draft(self, mode, size))
        return chosen[-1]

    monkeypatch.setattr(HeifImageFile, "draft", spy)
    data = thumbnail(tmp_path / "lib", str(phone_folder / "IMG_0001.HEIC"), 0.0, max_pixels=100_000_000)
    assert chosen and chosen[0] is not None  # the embedded thumbnail was selected
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (320, 212)  # the phone's thumbnail as it is (resized, it would be 320x213)


def test_a_heic_and_a_raw_are_duplicates_of_their_jpegs(tmp_path: Path, samples: Path) -> None:
    # what phones and cameras leave: a HEIC and the JPEG a transfer made of it; a RAW shot with its JPEG
    import numpy as np

    from camera_raw import write_dng

    folder = tmp_path / "exports"
    folder.mkdir()
    with Image.open(samples / "cat-chelsea.png") as im:
        # with a phone's thumbnail, which indexing reads: still a duplicate of the full-size JPEG
        pillow_heif.from_pillow(im.convert("RGB")).save(folder / "IMG_0001.HEIC", quality=80, thumbnails=[320])
        im.convert("RGB").save(folder / "IMG_0001.JPG", quality=90)
    with Image.open(samples / "rocket-launch.jpg") as im:
        write_dng(folder / "DSC_0003.NEF", np.asarray(im.convert("RGB")))
        im.convert("RGB").save(folder / "DSC_0003.JPG", quality=90)
    with Image.open(samples / "cup-of-coffee.png") as im:
        pillow_heif.from_pillow(im.convert("RGB")).save(folder / "IMG_0002.HEIC", quality=80)
    lib = str(tmp_path / "lib")
    assert cli("index", str(folder), "--library", lib)[0] == 0
    code, out, _ = cli("duplicates", "--library", lib, "--json")
    assert code == 0
    groups = sorted(sorted(Path(f["path"]).name for f in g["files"]) for g in json.loads(out))
    assert groups == [["DSC_0003.JPG", "DSC_0003.NEF"], ["IMG_0001.HEIC", "IMG_0001.JPG"]]
