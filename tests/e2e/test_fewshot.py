"""`classify --examples`: a few of the user's own files per label, where the words alone cannot tell."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from clirun import cli
from sensorium.errors import QueryError


def edited(src: Path, dest: Path) -> Path:
    """Another photo of the same thing, roughly: mirrored, a tenth cropped off, a third smaller."""
    im = ImageOps.mirror(Image.open(src).convert("RGB"))
    w, h = im.size
    im = im.crop((w // 10, h // 10, w, h)).resize((w * 2 // 3, h * 2 // 3))
    im.save(dest, quality=85)
    return dest


# code names, as a product line has: the words say nothing of the pictures
CODE_NAMES = (("model_kx7", "cat-chelsea.png"), ("model_qr2", "rocket-launch.jpg"), ("model_zz9", "coins.png"))


def code_named(samples: Path, folder: Path, another: Callable[[str], Path]) -> None:
    """``folder/<code name>/<sample photo>``, and another photo of each where ``another`` says."""
    for label, name in CODE_NAMES:
        (folder / label).mkdir(parents=True)
        shutil.copy(samples / name, folder / label / name)
        edited(samples / name, another(label))


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fewshot")
    examples, photos = root / "examples", root / "photos"
    photos.mkdir()
    code_named(samples, examples, lambda label: photos / f"{label}.jpg")
    return examples, photos


def labels_of(out: str) -> dict[str, str]:
    return {Path(r["path"]).stem: r["labels"][0]["label"] for r in json.loads(out)}


def test_examples_teach_labels_the_words_cannot(sets, tmp_path: Path) -> None:
    examples, photos = sets
    files = sorted(map(str, photos.iterdir()))
    lib = str(tmp_path / "lib")
    code, out, _ = cli("classify", *files, "--labels", "model kx7, model qr2, model zz9", "-l", lib, "--json")
    assert code == 0
    assert sum(stem.replace("_", " ") == label for stem, label in labels_of(out).items()) < 3  # words: a guess
    code, out, err = cli("classify", *files, "--examples", str(examples), "-l", lib, "--json")
    assert code == 0, err
    assert labels_of(out) == {"model_kx7": "model kx7", "model_qr2": "model qr2", "model_zz9": "model zz9"}
    top = json.loads(out)[0]["labels"]
    assert len(top) == 3 and top[0]["score"] > 0.5 and abs(sum(x["score"] for x in top) - 1) < 1e-3


def test_examples_and_words_together(sets, tmp_path: Path, samples: Path) -> None:
    """Labels given in words join the examples' labels; a label without examples is still chosen by its words."""
    examples, photos = sets
    code, out, err = cli(
        "classify",
        str(photos / "model_kx7.jpg"),
        str(samples / "motorcycle.png"),
        "--labels",
        "a motorcycle",
        "--examples",
        str(examples),
        "-l",
        str(tmp_path / "lib"),
        "--json",
    )
    assert code == 0, err
    assert labels_of(out) == {"model_kx7": "model kx7", "motorcycle": "a motorcycle"}
    assert {x["label"] for x in json.loads(out)[0]["labels"]} == {"a motorcycle", "model kx7", "model qr2", "model zz9"}


def test_a_bad_example_is_left_out_and_bad_sets_are_refused(sets, tmp_path: Path, caplog) -> None:
    examples, photos = sets
    messy = tmp_path / "messy"
    shutil.copytree(examples, messy)
    (messy / "model_kx7" / "broken.jpg").write_bytes(b"not a photo")
    code, out, _ = cli(
        "classify", str(photos / "model_qr2.jpg"), "--examples", str(messy), "-l", str(tmp_path / "l"), "--json"
    )
    assert code == 0 and labels_of(out) == {"model_qr2": "model qr2"}
    assert any("broken.jpg" in r.getMessage() for r in caplog.records)
    one = tmp_path / "one"
    shutil.copytree(examples / "model_kx7", one / "model_kx7")
    for folder, says in [(tmp_path / "none", "no such folder"), (tmp_path, "no examples"), (one, "one label only")]:
        if folder == tmp_path:
            folder = tmp_path / "empty"
            folder.mkdir()
        with pytest.raises(QueryError, match=says):
            cli("classify", str(photos / "model_qr2.jpg"), "--examples", str(folder), "-l", str(tmp_path / "l"))
    with pytest.raises(QueryError, match="single-label"):
        cli(
            "classify",
            str(photos / "model_qr2.jpg"),
            "--examples",
            str(examples),
            "--multi-label",
            "-l",
            str(tmp_path / "l"),
        )


def test_eval_measures_what_examples_would_gain(tmp_path: Path, samples: Path) -> None:
    """`eval --few-shot`: each file classified with the others as examples, beside the words alone."""
    folder = tmp_path / "set"
    code_named(samples, folder, lambda label: folder / label / "another.jpg")
    code, out, err = cli("eval", str(folder), "--few-shot", "--json")
    assert code == 0, err
    report = json.loads(out)
    fs = report["few_shot"]
    assert set(fs) == {"n", "zero_shot_top1", "top1", "weights"} and fs["n"] == 6
    assert fs["top1"] == 1.0 > fs["zero_shot_top1"], fs  # code names: the words alone cannot tell
    assert "few_shot" not in json.loads(cli("eval", str(folder), "--json")[1])  # only when asked


def test_a_label_with_very_many_examples_uses_the_first_few(tmp_path: Path, samples: Path, caplog) -> None:
    from sensorium import adapt

    for i in range(adapt.MAX_PER_LABEL + 3):
        (tmp_path / "ex" / "many").mkdir(parents=True, exist_ok=True)
        (tmp_path / "ex" / "many" / f"{i:03d}.png").write_bytes(b"")
    (tmp_path / "ex" / "one").mkdir()
    (tmp_path / "ex" / "one" / "a.png").write_bytes(b"")
    pairs = adapt.read_examples(tmp_path / "ex")
    assert [label for label, _ in pairs].count("many") == adapt.MAX_PER_LABEL and (
        "one",
        tmp_path / "ex" / "one" / "a.png",
    ) in pairs
    assert any("the first 50 of 53" in r.getMessage() for r in caplog.records)
