"""The contract every store backend keeps; each built-in runs the same tests.

Vectors are seeded random unit vectors: what they mean does not matter here, only where they land.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sensorium.config import LanceSettings
from sensorium.errors import LibraryError, QueryError
from sensorium.store.base import SEARCH_FIELDS, Filter, Store
from sensorium.store.registry import open_store

DIM = 16
PERCEPTUAL_DIM = 8
BACKENDS = ["lancedb", "memory"]


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def record(path: str, seg: int, vector: np.ndarray, **fields: Any) -> dict[str, Any]:
    modality = fields.pop("modality", "image")
    perceptual = fields.pop("perceptual", None)
    if perceptual is None and modality in ("image", "audio"):
        perceptual = np.ones(PERCEPTUAL_DIM, np.float32) / np.sqrt(PERCEPTUAL_DIM)
    return {
        "id": f"{path}:{seg}",
        "path": path,
        "content_hash": "h-" + path,
        "modality": modality,
        "seg_index": seg,
        "start": fields.pop("start", None),
        "end": fields.pop("end", None),
        "vector": vector,
        "perceptual": perceptual,
        "concepts": "[]",
        "objects": "[]",
        "ocr_text": "",
        "text": fields.pop("text", ""),
        "keywords": fields.pop("keywords", ""),
        "encoder": "fake-v1",
        **fields,
    }


def file_row(path: str, status: str = "done", **fields: Any) -> dict[str, Any]:
    base = {
        "path": path,
        "content_hash": "h",
        "size": 10,
        "mtime": 1.5,
        "status": status,
        "error": None,
        "encoder": "fake-v1",
        "updated_at": 2.5,
    }
    return base | fields


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Store:
    return open_store(backend, tmp_path, dim=DIM, perceptual_dim=PERCEPTUAL_DIM, discover=False)


@pytest.fixture
def filled(store: Store) -> tuple[Store, np.ndarray]:
    vectors = unit(np.random.default_rng(0), 60)
    store.upsert_records([record(f"lib/img{i:02d}.jpg", 0, v, keywords=f"photo n{i}") for i, v in enumerate(vectors)])
    return store, vectors


def test_implements_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_nearest_first_with_cosine_scores(filled: tuple[Store, np.ndarray]) -> None:
    store, vectors = filled
    query = vectors[7] + 0.05 * unit(np.random.default_rng(1), 1)[0]
    hits = store.search_vectors(query, limit=5)
    assert hits[0]["path"] == "lib/img07.jpg"
    scores = [h["_score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    expected = vectors @ query / np.linalg.norm(query)
    assert [h["path"] for h in hits] == [f"lib/img{i:02d}.jpg" for i in np.argsort(-expected)[:5]]
    for hit in hits:
        i = int(hit["path"][7:9])
        assert hit["_score"] == pytest.approx(float(expected[i]), abs=1e-4)
        np.testing.assert_allclose(np.asarray(hit["vector"]), vectors[i], atol=1e-6)


def test_upsert_replayed_batch_does_not_duplicate(filled: tuple[Store, np.ndarray]) -> None:
    store, vectors = filled
    store.upsert_records([record("lib/img03.jpg", 0, vectors[3], keywords="changed")])
    store.upsert_records([record("lib/img03.jpg", 0, vectors[3], keywords="changed again")] * 2)
    assert store.count() == 60
    [row] = store.get_records(["lib/img03.jpg:0"])
    assert row["keywords"] == "changed again"


def test_get_records_keeps_order_and_skips_unknown(filled: tuple[Store, np.ndarray]) -> None:
    store, _ = filled
    rows = store.get_records(["lib/img09.jpg:0", "nope:0", "lib/img02.jpg:0"])
    assert [r["id"] for r in rows] == ["lib/img09.jpg:0", "lib/img02.jpg:0"]
    assert rows[0]["seg_index"] == 0 and rows[0]["start"] is None and rows[0]["modality"] == "image"


def test_delete_paths_removes_every_segment(store: Store) -> None:
    v = unit(np.random.default_rng(2), 4)
    store.upsert_records(
        [
            record("a.mp4", 0, v[0], modality="video", start=0.0, end=2.0),
            record("a.mp4", 1, v[1], modality="video", start=2.0, end=4.0),
            record("b.jpg", 0, v[2]),
        ]
    )
    [second] = store.get_records(["a.mp4:1"])
    assert (second["modality"], second["seg_index"], second["start"], second["end"]) == ("video", 1, 2.0, 4.0)
    store.delete_paths(["a.mp4", "not-there.jpg"])
    assert store.count() == 1
    assert [h["path"] for h in store.search_vectors(v[0])] == ["b.jpg"]


def test_delete_paths_can_keep_one_model_versions_records(store: Store) -> None:
    """A file re-encoded by a new model: what the old one wrote and the new one did not must go."""
    v = unit(np.random.default_rng(3), 5)
    old = [record("a.wav", i, v[i], modality="audio", start=float(i), end=i + 2.0) for i in range(4)]
    store.upsert_records([*old, record("b.wav", 0, v[4], modality="audio", start=0.0, end=2.0)])
    store.upsert_records([record("a.wav", 0, v[0], modality="audio", start=0.0, end=9.0, encoder="fake-v2")])
    store.delete_paths(["a.wav"], keep_encoder="fake-v2")
    assert store.count() == 2
    [kept] = store.get_records(["a.wav:0"])
    assert (kept["encoder"], kept["end"]) == ("fake-v2", 9.0)
    assert store.get_records(["b.wav:0"]), "another file's records stay"


def test_new_records_are_appended_and_found_by_path(store: Store) -> None:
    v = unit(np.random.default_rng(4), 3)
    odd = "it's [1] 100%_sure.wav"
    assert not store.has_records(odd)
    store.upsert_records([record(odd, 0, v[0], modality="audio"), record(odd, 1, v[1], modality="audio")], new=True)
    store.upsert_records([record(odd, 2, v[2], modality="audio")], new=True)
    assert store.has_records(odd) and not store.has_records("it's [1] 100%_sure.wa")
    assert store.count() == 3
    assert [h["path"] for h in store.search_vectors(v[2], limit=1)] == [odd]
    store.upsert_records([record(odd, 2, v[2], modality="audio", keywords="again")])
    assert store.count() == 3


def test_records_of_a_path_come_whole_and_can_be_written_under_another(store: Store) -> None:
    v = unit(np.random.default_rng(5), 4)
    odd = "it's [2] 50%_sure.wav"
    store.upsert_records([record(odd, i, v[i], modality="audio", start=float(i), end=i + 1.0) for i in (2, 0, 1)])
    store.upsert_records([record("other.wav", 0, v[3], modality="audio", start=0.0, end=1.0)])
    rows = store.records_of([odd])
    assert [r["seg_index"] for r in rows] == [0, 1, 2] and store.records_of(["it's [2] 50%_sure.wa"]) == []
    assert set(rows[0]) >= {"id", "path", "content_hash", "vector", "perceptual", "keywords", "encoder"}
    np.testing.assert_allclose(rows[1]["vector"], v[1], atol=1e-6)
    for r in rows:
        r["id"], r["path"] = f"copy.wav:{r['seg_index']}", "copy.wav"
    store.upsert_records(rows, new=True)
    assert store.count() == 7 and [r["start"] for r in store.records_of(["copy.wav"])] == [0.0, 1.0, 2.0]
    assert [h["path"] for h in store.search_vectors(v[2], limit=2)] in (["copy.wav", odd], [odd, "copy.wav"])


def test_scan_reads_the_columns_asked_of_every_matching_record(store: Store) -> None:
    v = unit(np.random.default_rng(6), 3)
    store.upsert_records(
        [record("a.jpg", 0, v[0]), record("b.jpg", 0, v[1]), record("c.wav", 0, v[2], modality="audio")]
    )
    rows = store.scan(["path", "perceptual"], Filter(modality="image"))
    assert sorted(r["path"] for r in rows) == ["a.jpg", "b.jpg"] and all(set(r) == {"path", "perceptual"} for r in rows)
    assert rows[0]["perceptual"].shape == (PERCEPTUAL_DIM,)
    assert len(store.scan(["id"])) == 3
    assert [r["path"] for r in store.scan(["path"], Filter(path_glob="*.wav"))] == ["c.wav"]


def test_filter_by_modality_and_perceptual(store: Store) -> None:
    v = unit(np.random.default_rng(3), 3)
    store.upsert_records(
        [
            record("x.jpg", 0, v[0]),
            record("x.wav", 0, v[1], modality="audio"),
            record("x.txt", 0, v[2], modality="text"),
        ]
    )
    assert [h["path"] for h in store.search_vectors(v[0], where=Filter(modality="audio"))] == ["x.wav"]
    assert store.count(Filter(modality="text")) == 1
    # text has no perceptual vector; images and sounds do (compared only within a modality by callers)
    assert sorted(h["path"] for h in store.search_vectors(v[1], where=Filter(only_perceptual=True))) == [
        "x.jpg",
        "x.wav",
    ]
    hits = store.search_vectors(np.ones(PERCEPTUAL_DIM, np.float32), column="perceptual")
    assert sorted(h["path"] for h in hits) == ["x.jpg", "x.wav"]
    sound = Filter(modality="audio", only_perceptual=True)
    hits = store.search_vectors(np.ones(PERCEPTUAL_DIM, np.float32), column="perceptual", where=sound)
    assert [h["path"] for h in hits] == ["x.wav"]
    assert hits[0]["_score"] == pytest.approx(1.0, abs=1e-5)


def test_filter_by_track_tells_a_files_tags_from_what_is_seen_heard_and_said(store: Store) -> None:
    from sensorium.types import SOUND_INDEX_BASE, SPEECH_INDEX_BASE, TAGS_INDEX

    v = unit(np.random.default_rng(4), 10)
    store.upsert_records(
        [
            record("p.jpg", 0, v[0]),
            record("p.jpg", TAGS_INDEX, v[1], text="a caption"),
            record("s.mp3", 0, v[2], modality="audio", start=0.0, end=2.0),
            record("s.mp3", SPEECH_INDEX_BASE, v[3], modality="audio", start=0.0, end=2.0),
            record("s.mp3", TAGS_INDEX, v[4], modality="audio", start=0.0, end=9.0),
            record("v.mp4", 0, v[5], modality="video", start=0.0, end=2.0),
            record("v.mp4", SOUND_INDEX_BASE, v[6], modality="video", start=0.0, end=2.0),
            record("v.mp4", TAGS_INDEX, v[7], modality="video", start=0.0, end=9.0),
            record("n.txt", 0, v[8], modality="text"),
            record("b.epub", TAGS_INDEX, v[9], modality="text", text="a title"),  # a document's own words
        ]
    )

    def track(name: str) -> list[str]:
        rows = store.scan(["id"], Filter(track=name))
        return sorted(r["id"] for r in rows)

    assert track("tags") == sorted(f"{p}:{TAGS_INDEX}" for p in ("p.jpg", "s.mp3", "v.mp4", "b.epub"))
    assert track("picture") == ["p.jpg:0", "v.mp4:0"]
    assert track("sound") == ["s.mp3:0", f"v.mp4:{SOUND_INDEX_BASE}"]
    assert track("speech") == [f"s.mp3:{SPEECH_INDEX_BASE}"]
    assert track("text") == ["n.txt:0"]


def test_search_rows_leave_out_the_perceptual_vector(store: Store) -> None:
    """Only a perceptual search reads the widest column; searches return what hits are made of."""
    v = unit(np.random.default_rng(4), 2)
    store.upsert_records([record("x.jpg", 0, v[0], keywords="red kite"), record("y.jpg", 0, v[1])])
    full = store.get_records(["x.jpg:0"])[0]
    assert "perceptual" in full
    by_meaning = store.search_vectors(v[0], limit=1)[0]
    store.optimize()
    by_words = store.search_keywords("kite", limit=1)[0]
    for row in (by_meaning, by_words):
        assert row["id"] == "x.jpg:0" and "perceptual" not in row
        assert set(row) == set(SEARCH_FIELDS) | {"_score"}
        assert all(row[f] == full[f] for f in SEARCH_FIELDS if f != "vector")
        assert np.allclose(row["vector"], full["vector"])
    looks = store.search_vectors(np.asarray(full["perceptual"]), column="perceptual", limit=1)[0]
    assert np.allclose(looks["perceptual"], full["perceptual"])


def test_glob_treats_sql_wildcards_and_quotes_literally(store: Store) -> None:
    paths = ["it's 100%_x/a.jpg", "it's 1000xx/a.jpg", "its 100%_x/a.jpg", "it's 100%_x/sub/b.png"]
    v = unit(np.random.default_rng(4), len(paths))
    store.upsert_records([record(p, 0, vec) for p, vec in zip(paths, v, strict=True)])

    def found(glob: str) -> set[str]:
        return {h["path"] for h in store.search_vectors(v[0], limit=10, where=Filter(path_glob=glob))}

    assert found("it's 100%_x/*") == {"it's 100%_x/a.jpg", "it's 100%_x/sub/b.png"}
    assert found("it's 100%_x/?.jpg") == {"it's 100%_x/a.jpg"}
    assert found("*.png") == {"it's 100%_x/sub/b.png"}
    assert found("it's 100") == set()
    assert store.count(Filter(path_glob="*'*")) == 3


def test_unusual_paths_round_trip(store: Store) -> None:
    undecodable = os.fsdecode(b"caf\xe9/\xff.jpg") if os.name == "posix" else "caf\udce9/\udcff.jpg"
    paths = [undecodable, "東京/夜.jpg", "C:\\photos\\x41\\é.jpg", "lit\\xe9ral.jpg"]
    v = unit(np.random.default_rng(5), len(paths))
    store.upsert_records([record(p, 0, vec) for p, vec in zip(paths, v, strict=True)])
    store.upsert_files([file_row(p, error=f"{p}: failed") for p in paths])
    assert set(store.files()) == set(paths)
    assert {r["path"] for r in store.get_records([f"{p}:0" for p in paths])} == set(paths)
    assert store.search_vectors(v[0], limit=1)[0]["path"] == undecodable
    assert store.count(Filter(path_glob="caf*")) == 1
    assert store.count(Filter(path_glob="C:\\photos\\*")) == 1
    store.delete_paths(paths[:3])
    store.delete_files(paths[:3])
    assert store.count() == 1 and set(store.files()) == {paths[3]}


def test_keyword_search_finds_words_before_and_after_optimize(store: Store) -> None:
    v = unit(np.random.default_rng(6), 4)
    store.upsert_records(
        [
            record("zoo/1.jpg", 0, v[0], keywords="zebra grass savanna"),
            record("zoo/2.jpg", 0, v[1], keywords="lion savanna"),
            record("zoo/3.wav", 0, v[2], modality="audio", keywords="zebra call"),
        ]
    )
    assert {h["path"] for h in store.search_keywords("zebra")} == {"zoo/1.jpg", "zoo/3.wav"}
    store.optimize()
    store.upsert_records([record("zoo/4.jpg", 0, v[3], keywords="okapi forest")])
    hits = store.search_keywords("okapi")
    assert [h["path"] for h in hits] == ["zoo/4.jpg"] and hits[0]["_score"] > 0
    assert [h["path"] for h in store.search_keywords("zebra", where=Filter(modality="audio"))] == ["zoo/3.wav"]
    assert store.search_keywords("giraffe") == []
    assert store.search_keywords("  ") == []


def test_filters_apply_before_the_limit(store: Store) -> None:
    """A filter narrows what is searched; the best matches it rules out do not use up ``limit``."""
    v = unit(np.random.default_rng(12), 41)
    rows = [record(f"img/{i}.jpg", 0, v[i], keywords="zebra " * (1 + i % 5) + "stripes") for i in range(40)]
    rows.append(record("snd/z.wav", 0, v[40], modality="audio", keywords="zebra and a long tail of other words"))
    store.upsert_records(rows)
    store.optimize()
    assert [h["path"] for h in store.search_keywords("zebra", limit=5, where=Filter(modality="audio"))] == ["snd/z.wav"]
    near_images = store.search_vectors(v[0], limit=5, where=Filter(modality="audio"))
    assert [h["path"] for h in near_images] == ["snd/z.wav"]


def test_filter_by_date_keeps_files_dated_within_the_span(store: Store) -> None:
    """``Filter.taken`` is a half-open span of wall-clock seconds; a record with no date is never in one."""
    from sensorium.media.dates import parse_span

    v = unit(np.random.default_rng(13), 4)
    june, july = parse_span("2023-06")[0] + 3600, parse_span("2023-07-01")[0]  # July 1st at midnight
    store.upsert_records(
        [
            record("june.jpg", 0, v[0], taken=june, keywords="beach"),
            record("july.jpg", 0, v[1], taken=july, keywords="beach"),
            record("undated.jpg", 0, v[2], keywords="beach"),
            record("old.wav", 0, v[3], modality="audio", taken=parse_span("1999")[0], keywords="beach"),
        ]
    )
    store.optimize()

    def found(span: tuple[float | None, float | None], **kw: Any) -> set[str]:
        where = Filter(taken=span, **kw)
        by_vector = {h["path"] for h in store.search_vectors(v[2], limit=10, where=where)}
        by_words = {h["path"] for h in store.search_keywords("beach", limit=10, where=where)}
        assert by_vector == by_words == {r["path"] for r in store.scan(["path"], where)}
        return by_vector

    assert found(parse_span("2023-06")) == {"june.jpg"}  # July 1st 00:00 is the end, not in the span
    assert found(parse_span("2023")) == {"june.jpg", "july.jpg"}
    assert found(parse_span("..2020")) == {"old.wav"}
    assert found(parse_span("2000..")) == {"june.jpg", "july.jpg"}
    assert found(parse_span("..2020"), modality="image") == set()
    assert store.search_vectors(v[0], limit=1)[0]["taken"] == pytest.approx(june)  # hits say when
    assert store.count(Filter(taken=(None, None))) == 3  # any date at all


def test_keyword_search_on_empty_store(store: Store) -> None:
    assert store.search_keywords("anything") == []
    store.optimize()
    assert store.count() == 0


def test_files_upsert_overwrite_delete(store: Store) -> None:
    store.upsert_files([file_row("a.jpg"), file_row("b.jpg", status="failed", error="b.jpg: broken")])
    store.upsert_files([file_row("a.jpg", content_hash="h2", size=99)])
    files = store.files()
    assert set(files) == {"a.jpg", "b.jpg"}
    assert files["a.jpg"]["content_hash"] == "h2" and files["a.jpg"]["size"] == 99
    assert files["b.jpg"]["status"] == "failed" and files["b.jpg"]["error"] == "b.jpg: broken"
    assert files["a.jpg"]["mtime"] == pytest.approx(1.5)
    store.delete_files(["b.jpg"])
    assert set(store.files()) == {"a.jpg"}


def test_bad_column_and_wrong_length_query_are_refused(filled: tuple[Store, np.ndarray]) -> None:
    store, _ = filled
    with pytest.raises(QueryError):
        store.search_vectors(np.zeros(DIM, np.float32), column="keywords")
    with pytest.raises(QueryError):
        store.search_vectors(np.zeros(DIM + 1, np.float32))


def test_store_without_perceptual_vectors(backend: str, tmp_path: Path) -> None:
    plain = open_store(backend, tmp_path, dim=DIM, perceptual_dim=0, discover=False)
    v = unit(np.random.default_rng(7), 2)
    plain.upsert_records([record("a.jpg", 0, v[0]) | {"perceptual": None}])
    assert plain.search_vectors(v[0])[0]["path"] == "a.jpg"
    assert plain.search_vectors(np.zeros(1, np.float32), column="perceptual") == []


# -- LanceDB only ------------------------------------------------------------------------------------


def test_lance_library_made_before_dates_gains_the_column_and_keeps_its_records(tmp_path: Path) -> None:
    """A library written before records and files had ``taken`` opens as it was, the new column empty."""
    import lancedb
    import pyarrow as pa

    from sensorium.store.lancedb import file_schema, record_schema

    v = unit(np.random.default_rng(14), 2)
    old_records = pa.schema([f for f in record_schema(DIM, PERCEPTUAL_DIM) if f.name != "taken"])
    old_files = pa.schema([f for f in file_schema() if f.name != "taken"])
    db = lancedb.connect(str(tmp_path / "lance"))
    rows = [record(f"p{i}.jpg", 0, vec) for i, vec in enumerate(v)]
    for row in rows:
        row["perceptual"] = row["perceptual"].tolist()
        row["vector"] = row["vector"].tolist()
    db.create_table("records", pa.Table.from_pylist(rows, schema=old_records))
    db.create_table("files", pa.Table.from_pylist([file_row("p0.jpg")], schema=old_files))
    store = open_store("lancedb", tmp_path, dim=DIM, perceptual_dim=PERCEPTUAL_DIM, discover=False)
    assert store.count() == 2 and store.files()["p0.jpg"]["taken"] is None
    hit = store.search_vectors(v[1], limit=1)[0]
    assert hit["path"] == "p1.jpg" and hit["taken"] is None
    assert store.count(Filter(taken=(None, None))) == 0
    store.upsert_records([record("p2.jpg", 0, v[0], taken=1.0e9)])
    store.upsert_files([file_row("p2.jpg", taken=1.0e9)])
    assert [r["path"] for r in store.scan(["path"], Filter(taken=(0.0, 2.0e9)))] == ["p2.jpg"]
    assert store.files()["p2.jpg"]["taken"] == pytest.approx(1.0e9)


def test_lance_persists_across_reopen(tmp_path: Path) -> None:
    v = unit(np.random.default_rng(8), 3)
    first = open_store("lancedb", tmp_path, dim=DIM, perceptual_dim=PERCEPTUAL_DIM, discover=False)
    first.upsert_records([record(f"p{i}.jpg", 0, vec, keywords=f"word{i}") for i, vec in enumerate(v)])
    first.upsert_files([file_row("p0.jpg")])
    first.optimize()
    again = open_store("lancedb", tmp_path, dim=DIM, perceptual_dim=PERCEPTUAL_DIM, discover=False)
    assert again.count() == 3 and set(again.files()) == {"p0.jpg"}
    assert again.search_vectors(v[2], limit=1)[0]["path"] == "p2.jpg"
    assert [h["path"] for h in again.search_keywords("word1")] == ["p1.jpg"]
    with pytest.raises(LibraryError, match="16-dim"):
        open_store("lancedb", tmp_path, dim=DIM * 2, perceptual_dim=PERCEPTUAL_DIM, discover=False)


def test_lance_ann_index_keeps_recall_and_filters(tmp_path: Path) -> None:
    options = LanceSettings(index_min_rows=1000, rows_per_partition=250, nprobes=4, retrain_growth=1.3)
    store = open_store("lancedb", tmp_path, dim=DIM, perceptual_dim=0, options=options, discover=False)
    rng = np.random.default_rng(9)
    # Clustered, as real embeddings are: uniform points on a 16-d sphere make recall hinge on k-means' random start.
    centres = unit(rng, 24)
    spread = centres[rng.integers(0, 24, 2000)] + 0.35 / np.sqrt(DIM) * rng.standard_normal((2000, DIM))
    vectors = (spread / np.linalg.norm(spread, axis=1, keepdims=True)).astype(np.float32)
    rows = [record(f"d{i % 4}/{i}.jpg", 0, v, modality="image" if i % 2 else "text") for i, v in enumerate(vectors)]
    store.upsert_records(rows[:1500])
    store.optimize()
    assert store._vector_index() is not None
    store.upsert_records(rows[1500:])  # rows the index has not seen are still searched
    queries = vectors[rng.choice(2000, 20, replace=False)]
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [[int(h["path"].split("/")[1][:-4]) for h in store.search_vectors(q)] for q in queries]
    recall = np.mean([len(set(f) & set(e.tolist())) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.9
    hits = store.search_vectors(queries[0], limit=20, where=Filter(modality="text", path_glob="d2/*"))
    assert len(hits) == 20 and all(h["path"].startswith("d2/") and h["modality"] == "text" for h in hits)
    narrow = store.search_vectors(queries[0], limit=10, where=Filter(path_glob="d1/1?.jpg"))  # rows 13 and 17 only
    assert sorted(h["path"] for h in narrow) == ["d1/13.jpg", "d1/17.jpg"]
    assert store.count() == 2000
    store.optimize()  # 2000 >= 1.3 * 1500: trained again, and the old index dropped
    assert [c.name for c in store._records.list_indices() if c.columns == ["vector"]] == ["vector_ivf_rq4_2000"]
    store.optimize()  # nothing changed: kept
    assert [c.name for c in store._records.list_indices() if c.columns == ["vector"]] == ["vector_ivf_rq4_2000"]
    one_bit = options.model_copy(update={"num_bits": 1})
    coarser = open_store("lancedb", tmp_path, dim=DIM, perceptual_dim=0, options=one_bit, discover=False)
    coarser.optimize()  # other index settings: trained again on the next optimize
    assert [c.name for c in coarser._records.list_indices() if c.columns == ["vector"]] == ["vector_ivf_rq1_2000"]


def test_lance_upserts_optimize_on_their_own_during_long_runs(tmp_path: Path) -> None:
    options = LanceSettings(optimize_every_rows=100)
    store = open_store("lancedb", tmp_path, dim=DIM, perceptual_dim=0, options=options, discover=False)
    vectors = unit(np.random.default_rng(10), 150)
    for start in range(0, 150, 10):
        store.upsert_records([record(f"r/{i}.jpg", 0, vectors[i]) for i in range(start, start + 10)])
    assert {"id", "path", "keywords"} <= set(store._index_names())
    assert store.count() == 150


def test_lancedb_import_defers_its_rest_client() -> None:
    """The REST namespace client's __init__ (1.2 s of every command's start) runs only when used."""
    import subprocess
    import sys

    code = (
        "import sys, sensorium.store.lancedb\n"
        "assert 'lance_namespace_urllib3_client.api.table_api' not in sys.modules, 'REST client built'\n"
        "import lance_namespace_urllib3_client as c\n"
        "assert c.ApiClient.__name__ == 'ApiClient' and 'lance_namespace_urllib3_client.api.table_api' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_lance_searches_ask_for_their_scores(tmp_path: Path) -> None:
    """Vector and keyword searches name ``_distance`` and ``_score`` in what they select: Lance adds them
    unasked today with a deprecation warning, and will stop adding them."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from sensorium.store.lancedb import LanceStore\n"
        "store = LanceStore(Path(sys.argv[1]), dim=4, perceptual_dim=0)\n"
        "v = np.eye(4, dtype=np.float32)\n"
        "store.upsert_records([{'id': f'p{i}:0', 'path': f'p{i}', 'modality': 'text', 'seg_index': 0,\n"
        "    'vector': v[i], 'keywords': 'cat' if i else 'dog'} for i in range(4)])\n"
        "store.optimize()\n"
        "assert [r['path'] for r in store.search_vectors(v[2], limit=1)] == ['p2']\n"
        "assert store.search_keywords('dog', limit=2)[0]['path'] == 'p0'\n"
    )
    env = {**os.environ, "LANCEDB_LOG": "warn", "LANCE_LOG": "warn"}  # the library sets "error" only by default
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lib")], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Deprecation warning" not in proc.stderr, proc.stderr[-500:]
