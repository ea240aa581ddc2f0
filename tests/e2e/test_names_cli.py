"""Names taught by example (``sensorium names``): words no model knows, searched by the user's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from clirun import cli
from sensorium.errors import QueryError


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> tuple[Path, Path]:
    """Six sample photos in a library, and outside it a mirrored, cropped copy of the cat: the example."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("cat-chelsea.png", "cup-of-coffee.png", "rocket-launch.jpg", "motorcycle.png", "coins.png"):
        shutil.copyfile(samples / name, folder / name)
    shutil.copyfile(samples / "astronaut-eileen-collins.png", folder / "astronaut.png")
    lib = tmp_path_factory.mktemp("nameslib") / "library"
    code, out, err = cli("index", str(folder), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["indexed"] == 6, err
    examples = tmp_path_factory.mktemp("examples")
    with Image.open(samples / "cat-chelsea.png") as im:
        w, h = im.size
        ImageOps.mirror(im.convert("RGB")).crop((w // 10, h // 10, w, h)).save(examples / "my-cat.jpg")
    return lib, examples / "my-cat.jpg"


def _search(lib: Path, *args: str) -> list[dict]:
    code, out, err = cli("search", *args, "--library", str(lib), "--json", "--min-score", "0", "--limit", "6")
    assert code == 0, err
    return json.loads(out)


def test_a_taught_name_finds_what_is_like_its_examples(photos: tuple[Path, Path]) -> None:
    lib, example = photos
    untaught = _search(lib, "Tibbles")
    assert untaught[0]["score"] < 0.5  # a name no model knows: nothing clearly relevant
    code, _, err = cli("names", "add", "Tibbles", str(example), "--library", str(lib))
    assert code == 0 and "taught 'Tibbles' by 1 picture: searching 'Tibbles' finds" in err, err
    hits = _search(lib, "tibbles")  # any case
    assert Path(hits[0]["path"]).name == "cat-chelsea.png" and hits[0]["score"] > 0.9, hits[0]
    assert hits[0]["why"].endswith("as taught: Tibbles") and "looks alike" in hits[0]["why"]
    assert hits[1]["score"] < hits[0]["score"] - 0.3
    # with words: the examples and the words together, as --like and words are
    both = _search(lib, "Tibbles on a rocket")
    assert {Path(h["path"]).name for h in both[:2]} == {"cat-chelsea.png", "rocket-launch.jpg"}, both[:2]
    code, out, _ = cli("names", "--library", str(lib), "--json")
    [listed] = json.loads(out)
    assert listed["name"] == "Tibbles" and listed["modality"] == "image" and listed["files"] == [str(example)]
    assert listed["missing"] == [] and "failed" not in listed
    code, _, err = cli("names", "remove", "TIBBLES", "--library", str(lib))
    assert code == 0 and "as taught" not in _search(lib, "Tibbles")[0]["why"]
    assert json.loads(cli("names", "--library", str(lib), "--json")[1]) == []


def test_a_folder_teaches_by_its_files_once_each(photos: tuple[Path, Path], tmp_path: Path) -> None:
    lib, example = photos
    folder = tmp_path / "tibbles"
    folder.mkdir()
    shutil.copyfile(example, folder / "a.jpg")
    shutil.copyfile(example, folder / ".hidden.jpg")  # left out, as index leaves it
    code, out, err = cli("names", "add", "Tibbles", str(folder), str(folder / "a.jpg"), "--library", str(lib), "--json")
    assert code == 0 and json.loads(out)["files"] == [str(folder / "a.jpg")], (out, err)  # given twice: once
    assert _search(lib, "Tibbles in 2019") == []  # a name and days: the examples, among files made then
    assert [Path(h["path"]).name for h in _search(lib, "Tibbles in 2009")] == ["cat-chelsea.png"]  # its XMP date
    assert cli("names", "add", "2019", str(example), "--library", str(lib))[0] == 0
    assert _search(lib, "2019")[0]["why"].endswith("as taught: 2019")  # the user's name before a year
    for name in ("Tibbles", "2019"):
        cli("names", "remove", name, "--library", str(lib))


def test_python_and_http_understand_the_name_too(photos: tuple[Path, Path]) -> None:
    from fastapi.testclient import TestClient

    import sensorium
    from sensorium.server.api import create_app

    path, example = photos
    lib = sensorium.open(path)
    taught = lib.teach("the office cat", [example])
    assert taught.name == "the office cat" and [n.name for n in lib.names()] == ["the office cat"]
    try:
        assert Path(lib.search("the office cat", limit=1)[0].path).name == "cat-chelsea.png"
        client = TestClient(create_app(lib, token="t0ken"), headers={"Authorization": "Bearer t0ken"})
        r = client.post("/api/search", json={"text": "the office   cat", "limit": 1})  # spacing aside
        assert r.status_code == 200 and r.json()["hits"][0]["why"].endswith("as taught: the office cat")
    finally:
        lib.forget_name("the office cat")


def test_the_models_changing_reads_the_examples_again(photos: tuple[Path, Path], tmp_path: Path) -> None:
    lib, example = photos
    mine = tmp_path / "mine.jpg"
    shutil.copyfile(example, mine)
    assert cli("names", "add", "Tibbles", str(mine), "--library", str(lib))[0] == 0
    manifest = json.loads((lib / "manifest.json").read_text())
    manifest["names"]["tibbles"]["version"] = "an older model"
    (lib / "manifest.json").write_text(json.dumps(manifest))
    assert Path(_search(lib, "Tibbles")[0]["path"]).name == "cat-chelsea.png"  # read again from the file
    assert json.loads((lib / "manifest.json").read_text())["names"]["tibbles"]["version"] != "an older model"
    manifest = json.loads((lib / "manifest.json").read_text())
    manifest["names"]["tibbles"]["version"] = "an older model"
    (lib / "manifest.json").write_text(json.dumps(manifest))
    mine.unlink()
    assert json.loads(cli("names", "--library", str(lib), "--json")[1])[0]["missing"] == [str(mine)]
    assert "(gone)" in cli("names", "--library", str(lib))[1]
    with pytest.raises(QueryError, match="'Tibbles': the models changed and its examples are gone; teach it again"):
        cli("search", "Tibbles", "--library", str(lib))
    cli("names", "remove", "Tibbles", "--library", str(lib))


def test_bad_examples_and_names(photos: tuple[Path, Path], tmp_path: Path, samples: Path) -> None:
    lib, example = photos
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    code, out, err = cli("names", "add", "Tibbles", str(broken), str(example), "--library", str(lib), "--json")
    taught = json.loads(out)
    assert code == 3 and taught["files"] == [str(example)] and taught["failed"][0]["path"] == str(broken), err
    with pytest.raises(QueryError, match="no example could be read"):
        cli("names", "add", "Tibbles", str(broken), "--library", str(lib))
    with pytest.raises(QueryError, match="give a word"):
        cli("names", "add", "!!!", str(example), "--library", str(lib))
    for common in ("the", "C++", "a/b", "photos of the"):  # words a search holds all the time, or a letter
        with pytest.raises(QueryError, match="too short or too common"):
            cli("names", "add", common, str(example), "--library", str(lib))
    with pytest.raises(QueryError, match="examples of different kinds"):
        cli("names", "add", "Tibbles", str(example), str(samples / "observatory-trip.md"), "--library", str(lib))
    with pytest.raises(QueryError, match="not taught"):
        cli("names", "remove", "Rex", "--library", str(lib))
    cli("names", "remove", "Tibbles", "--library", str(lib))


def test_a_taught_name_is_a_label_classify_knows(photos: tuple[Path, Path], samples: Path) -> None:
    lib, example = photos
    files = [str(samples / n) for n in ("cat-chelsea.png", "cup-of-coffee.png", "rocket-launch.jpg")]
    labels = "Tibbles, a cup of coffee, a rocket"
    cli("names", "add", "Tibbles", str(example), "--library", str(lib))
    try:
        code, out, err = cli("classify", *files, "--labels", labels, "--library", str(lib), "--json")
        got = {Path(r["path"]).name: r["labels"][0] for r in json.loads(out)}
        assert code == 0 and got["cat-chelsea.png"]["label"] == "Tibbles", (got, err)
        assert got["cat-chelsea.png"]["score"] > 0.5 and got["cup-of-coffee.png"]["label"] == "a cup of coffee"
        code, out, err = cli("ask", "is Tibbles here?", *files[:2], "--library", str(lib), "--json")
        assert code == 0 and [a["answer"] for a in json.loads(out)] == ["yes", "no"], (out, err)  # a question too
        code, out, err = cli("classify", *files, "--labels", labels, "--multi-label", "--library", str(lib), "--json")
        each = {Path(r["path"]).name: {x["label"] for x in r["labels"]} for r in json.loads(out)}
        assert "Tibbles" in each["cat-chelsea.png"] and "Tibbles" not in each["cup-of-coffee.png"], each
    finally:
        cli("names", "remove", "Tibbles", "--library", str(lib))
    code, out, _ = cli("classify", files[0], "--labels", labels, "--library", str(lib), "--json")
    assert json.loads(out)[0]["labels"][0]["label"] != "Tibbles" or json.loads(out)[0]["labels"][0]["score"] < 0.5


def test_names_over_http_keep_their_uploaded_examples(photos: tuple[Path, Path], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    import sensorium
    from sensorium.server.api import create_app

    path, example = photos
    lib = sensorium.open(path)
    client = TestClient(create_app(lib, token="t0ken"), headers={"Authorization": "Bearer t0ken"})
    r = client.post("/api/names", data={"name": "Tibbles"}, files=[("files", ("notes.jpg", b"junk", "image/jpeg"))])
    assert r.status_code == 415 and "notes.jpg" in r.json()["error"]  # nothing that is a picture: said, not taught
    with example.open("rb") as f, (tmp_path / "x").open("wb"):
        r = client.post(
            "/api/names",
            data={"name": "Tibbles"},
            files=[
                ("files", ("my cat.jpg", f, "image/jpeg")),
                ("files", ("notes.jpg", b"junk", "image/jpeg")),
                ("files", ("empty.jpg", b"", "image/jpeg")),
            ],
        )
    assert r.status_code == 200 and r.json()["modality"] == "image", r.text  # the others are kept
    assert {f["path"] for f in r.json()["failed"]} == {"notes.jpg", "empty.jpg"}  # by the names they were sent as
    [kept] = r.json()["files"]
    assert Path(kept).is_file() and Path(kept).is_relative_to(path) and Path(kept).name.endswith("my_cat.jpg")
    with example.open("rb") as f:
        sound = (Path(__file__).resolve().parents[1] / "data" / "speech" / "short.flac").read_bytes()
        r = client.post(
            "/api/names",
            data={"name": "Mixed"},
            files=[("files", ("cat.jpg", f, "image/jpeg")), ("files", ("hello.flac", sound, "audio/flac"))],
        )
    assert r.status_code == 400 and "cat.jpg (image), hello.flac (audio)" in r.json()["error"], r.text
    assert [n["name"] for n in client.get("/api/names").json()["names"]] == ["Tibbles"]
    hits = client.post("/api/search", json={"text": "Tibbles", "limit": 1}).json()["hits"]
    assert Path(hits[0]["path"]).name == "cat-chelsea.png"
    readonly = TestClient(create_app(lib, token="t0ken", read_only=True), headers={"Authorization": "Bearer t0ken"})
    assert readonly.delete("/api/names/Tibbles").status_code == 403
    assert client.delete("/api/names/Tibbles").status_code == 200 and not Path(kept).exists()
    assert client.get("/api/names").json()["names"] == []
    assert client.delete("/api/names/Tibbles").status_code == 400  # not taught: said so


def test_a_name_taught_by_a_sound_means_the_tags_heard_in_it(tmp_path: Path) -> None:
    """Read through the mix of its tags' names, a dog's bark meant "Domestic animals" most: a cow was "Barky"."""
    from sensorium.samples import collect_sound_samples

    sounds = tmp_path / "sounds"
    collect_sound_samples(sounds)
    lib = tmp_path / "library"
    assert cli("names", "add", "Barky", str(sounds / "dog.mp3"), "--library", str(lib))[0] == 0
    code, out, err = cli(
        "classify",
        str(sounds / "dog.mp3"),
        str(sounds / "cow.mp3"),
        "--labels",
        "Barky, a rooster crowing",
        "--multi-label",
        "--library",
        str(lib),
        "--json",
    )
    each = {Path(r["path"]).name: {x["label"] for x in r["labels"]} for r in json.loads(out)}
    assert code == 0 and "Barky" in each["dog.mp3"] and "Barky" not in each["cow.mp3"], (each, err)
