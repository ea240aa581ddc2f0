"""Near-duplicate photos: edited copies and the two views of a stereo pair group, different photos do not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from sensorium.cli import app
from sensorium.errors import QueryError
from sensorium.library import open_library
from sensorium.models.files import package_dir

runner = CliRunner()


def test_edited_copies_and_a_stereo_pair_are_found_and_different_photos_are_not(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("cat-chelsea.png", "cup-of-coffee.png", "rocket-launch.jpg", "astronaut-eileen-collins.png"):
        shutil.copyfile(samples / name, folder / name)
    cat = Image.open(folder / "cat-chelsea.png")
    cat.resize((cat.width // 2, cat.height // 2)).save(folder / "cat-small.jpg", quality=80)
    cat.save(folder / "cat-q40.jpg", quality=40)
    shutil.copyfile(folder / "cat-chelsea.png", folder / "cat-copy.png")
    skimage_data = package_dir("skimage") / "data"  # a stereo pair: one scene from two points
    for side in ("left", "right"):
        shutil.copyfile(skimage_data / f"motorcycle_{side}.png", folder / f"motorcycle-{side}.png")
    lib = tmp_path / "lib"
    assert runner.invoke(app, ["index", str(folder), "--library", str(lib)]).exit_code == 0

    result = runner.invoke(app, ["duplicates", "--library", str(lib), "--json"])
    assert result.exit_code == 0, result.stderr
    groups = [
        [(Path(f["path"]).name, f["size"], f["similarity"]) for f in g["files"]] for g in json.loads(result.stdout)
    ]
    assert [sorted(n for n, _, _ in g) for g in groups] == [
        ["cat-chelsea.png", "cat-copy.png", "cat-q40.jpg", "cat-small.jpg"],
        ["motorcycle-left.png", "motorcycle-right.png"],
    ]
    for group in groups:
        sizes = [s for _, s, _ in group]
        assert sizes[0] == max(sizes) and group[0][2] == 1.0  # the largest file first
        assert all(0.85 <= sim <= 1.0 for _, _, sim in group[1:])
    cat_sims = {n: sim for n, _, sim in groups[0]}
    assert cat_sims["cat-copy.png"] == cat_sims["cat-chelsea.png"] == 1.0  # identical copies

    only_small = runner.invoke(app, ["duplicates", "--library", str(lib), "--json", "--path", "*-small.jpg"])
    assert json.loads(only_small.stdout) == []  # one photo alone is nobody's duplicate
    (folder / "motorcycle-right.png").unlink()  # gone from disk: not offered as a duplicate
    names = [[Path(f.path).name for f in g.files] for g in open_library(lib).duplicates()]
    assert len(names) == 1 and "motorcycle-left.png" not in names[0]
    table = runner.invoke(app, ["duplicates", "--library", str(lib)])
    assert "cat-q40.jpg" in table.stdout and "1 group: 3 photos beside the largest of each" in table.stderr
    bad = runner.invoke(app, ["duplicates", "--library", str(lib), "--threshold", "0"])
    assert isinstance(bad.exception, QueryError)  # the command line prints it as one line, exit status 1
    assert str(bad.exception).startswith("threshold 0.0: give a similarity above 0 and at most 1")


def test_a_burst_of_shifting_shots_is_not_chained_into_one_group(tmp_path: Path, samples: Path) -> None:
    """Six frames panning across one photo: neighbours alike (0.90-0.94), the two ends not (0.68)."""
    folder = tmp_path / "burst"
    folder.mkdir()
    photo = Image.open(samples / "astronaut-eileen-collins.png").convert("RGB")
    width = int(photo.width * 0.6)
    for k in range(6):
        x = (photo.width - width) * k // 5
        photo.crop((x, 0, x + width, photo.height)).save(folder / f"frame-{k}.png")
    lib = tmp_path / "lib"
    assert runner.invoke(app, ["index", str(folder), "--library", str(lib)]).exit_code == 0

    result = runner.invoke(app, ["duplicates", "--library", str(lib), "--json"])
    assert result.exit_code == 0, result.stderr
    groups = [[(Path(f["path"]).name, f["similarity"]) for f in g["files"]] for g in json.loads(result.stdout)]
    assert groups and all(s >= 0.85 for g in groups for _, s in g)  # every file like its group's first
    assert not any({"frame-0.png", "frame-5.png"} <= {n for n, _ in g} for g in groups)
    assert sum(len(g) for g in groups) >= 4  # the neighbours still group
