"""Vectors out (``sensorium embed``): files and words in the space a search compares, and what the library holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clirun import cli
from sensorium.errors import QueryError


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_files_and_words_land_in_the_space_a_search_compares(indexed, samples: Path) -> None:
    cat, coffee = samples / "cat-chelsea.png", samples / "cup-of-coffee.png"
    code, out, err = cli(
        "embed", str(cat), str(coffee), "-t", "a cat", "-t", "a cup of coffee", "--library", str(indexed.path)
    )
    assert code == 0, err
    rows = _lines(out)
    assert [r["input"] for r in rows] == ["a cat", "a cup of coffee", str(cat), str(coffee)]  # words, then files
    assert [r["kind"] for r in rows] == ["text", "text", "image", "image"]
    v = {r["input"]: np.array(r["vector"]) for r in rows}
    assert {len(x) for x in v.values()} == {indexed.text_encoder.info.dim}
    assert all(abs(np.linalg.norm(x) - 1) < 1e-4 for x in v.values())
    assert v[str(cat)] @ v["a cat"] > v[str(cat)] @ v["a cup of coffee"] + 0.05
    assert v[str(coffee)] @ v["a cup of coffee"] > v[str(coffee)] @ v["a cat"] + 0.05
    # the photo read now is the photo the library holds: one record, the same vector
    code, out, err = cli("embed", "--stored", str(cat), "--library", str(indexed.path), "--perceptual")
    [held] = _lines(out)
    assert code == 0 and held["kind"] == "picture" and (held["start"], held["end"]) == (None, None), err
    assert float(np.array(held["vector"]) @ v[str(cat)]) > 0.9999
    assert len(held["perceptual"]) == indexed.manifest["perceptual_dim"]


def test_stored_gives_a_vector_a_record_and_a_matrix_with_rows(indexed, samples: Path, tmp_path: Path) -> None:
    out_npy = tmp_path / "vectors.npy"
    code, out, err = cli("embed", "--stored", str(samples), "--library", str(indexed.path), "-o", str(out_npy))
    rows = _lines(out)
    matrix = np.load(out_npy)
    assert code == 0 and matrix.dtype == np.float32, err
    held = indexed.store().records_of(sorted({r["input"] for r in rows}))
    assert matrix.shape == (len(held), indexed.text_encoder.info.dim) == (len(rows), matrix.shape[1])
    assert [r["row"] for r in rows] == list(range(len(rows))) and "vector" not in rows[0]
    note = [r for r in rows if r["input"].endswith(".md")]
    assert note and all(r["kind"] == "text" for r in note)  # a note's passages, each a record
    by_id = {(r["path"], r["start"]): np.asarray(r["vector"]) for r in held}
    first = rows[0]
    assert np.allclose(matrix[0], by_id[(first["input"], first["start"])], atol=1e-6)
    with pytest.raises(QueryError, match="already exists; pass --overwrite"):  # never overwritten unasked
        cli("embed", "--stored", str(samples), "--library", str(indexed.path), "-o", str(out_npy))


def test_what_cannot_be_embedded_says_why_and_the_rest_go_on(indexed, samples: Path, tmp_path: Path) -> None:
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"not a picture at all")
    code, out, err = cli("embed", str(bad), str(samples / "coins.png"), "-t", " ", "--library", str(indexed.path))
    rows = _lines(out)
    assert code == 3 and [("error" in r) for r in rows] == [True, True, False], (out, err)
    assert rows[0]["error"] == "empty text: nothing to embed" and str(bad) in err
    folder = tmp_path / "two"
    folder.mkdir()
    for name in ("coins.png", "cat-chelsea.png"):
        (folder / name).write_bytes((samples / name).read_bytes())
    code, out, err = cli("embed", str(folder), "--library", str(indexed.path))  # a folder: each file in it
    assert code == 0 and sorted(Path(r["input"]).name for r in _lines(out)) == ["cat-chelsea.png", "coins.png"], err
    code, out, err = cli("embed", "--stored", str(tmp_path), "--library", str(indexed.path))
    assert code == 3 and "not in the library" in _lines(out)[0]["error"]
    with pytest.raises(QueryError, match="--perceptual: -o writes the vectors of the space only"):
        cli("embed", "-t", "a cat", "--perceptual", "-o", str(tmp_path / "p.npy"), "--library", str(indexed.path))
    with pytest.raises(QueryError, match="cannot be written"):
        cli("embed", "-t", "a cat", "-o", "/proc/v.npy", "--library", str(indexed.path))
    with pytest.raises(QueryError, match=r"numpy \.npy"):
        cli("embed", "-t", "a cat", "-o", str(tmp_path / "v.txt"), "--library", str(indexed.path))
    assert not (tmp_path / "v.txt").exists()


def test_words_from_a_pipe_and_from_python(indexed) -> None:
    code, out, err = cli("embed", "-t", "-", "--json", "--library", str(indexed.path), stdin="a dog\n\nthunder\n")
    rows = json.loads(out)
    assert code == 0 and [r["input"] for r in rows] == ["a dog", "thunder"], err  # a blank line: nothing to embed
    code, _, err = cli("embed", "-t", "-", "--library", str(indexed.path), stdin="\n")
    assert code == 2 and "the pipe held no text" in err
    done = indexed.embed(texts=["a dog", "thunder"])
    assert [e.input for e in done] == ["a dog", "thunder"]
    assert np.allclose(done[0].vector, rows[0]["vector"], atol=1e-5)
    as_notes = indexed.embed(texts="a dog", document=True)[0].vector
    assert 0.5 < float(as_notes @ done[0].vector) < 0.99999  # a passage is embedded unlike a query
    code, _, err = cli("embed", "--library", str(indexed.path))
    assert code == 2 and "give files" in err
