"""LanceDB store: an embedded database in ``<library>/lance`` with a ``records`` and a ``files`` table.

Why these choices:

* Writes are ``merge_insert`` upserts (records on ``id``, files on ``path``), so a batch replayed after a crash
  never duplicates rows.
* Vector search is exact until the table reaches ``LanceSettings.index_min_rows``; :meth:`LanceStore.optimize`
  then trains an ANN index on ``vector`` (cosine) and keeps it current incrementally. Filters are applied before
  the search (prefilter), so a selective filter still returns ``limit`` rows.
* Keyword search uses Lance's native BM25 index on ``keywords``. Rows written after the last build are searched
  by a flat scan until the next :meth:`~LanceStore.optimize`, so they are found either way.

Paths that came from undecodable file names hold lone surrogates (``os.fsdecode``'s ``surrogateescape``), which
Arrow strings cannot carry. ``id`` and ``path`` are therefore stored in an escaped form (``\\`` doubled, each
undecodable byte written ``\\xNN``) and unescaped on read, so every path round-trips exactly and glob filters
still work. Other text columns holding surrogates are stored with ``backslashreplace``, one way only.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any


def _defer_rest_client(name: str = "lance_namespace_urllib3_client") -> None:
    """Register LanceDB's REST namespace client as a package whose ``__init__`` runs on first use.

    ``import lancedb`` imports it for its pydantic request models only, but the package's
    ``__init__`` also builds every REST API class: about 1.2 s of each command's start-up, for a
    client an embedded library never calls. Its submodules (``.models``) still import normally;
    any attribute of the package itself runs the real ``__init__`` first.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attr: str) -> Any:
        module.__dict__.pop("__getattr__", None)
        loader.exec_module(module)
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module


_defer_rest_client()

import lancedb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from lancedb.background_loop import LOOP  # noqa: E402
from lancedb.index import FTS, Bitmap, BTree, HnswSq, IvfPq, IvfRq, IvfSq  # noqa: E402

from sensorium.config import LanceSettings  # noqa: E402
from sensorium.errors import LibraryError  # noqa: E402
from sensorium.store.base import FILE_FIELDS, RECORD_FIELDS, Filter, check_vector_query, search_fields  # noqa: E402
from sensorium.types import SOUND_INDEX_BASE, SPEECH_INDEX_BASE, TAGS_INDEX  # noqa: E402

log = logging.getLogger(__name__)

PERCEPTUAL_MODALITIES: tuple[str, ...] = ("image", "audio", "video")
_TRACK_SQL = {  # sensorium.types.track_of, as SQL
    "picture": f"(modality = 'image' AND seg_index < {TAGS_INDEX}) OR "
    f"(modality = 'video' AND seg_index < {SPEECH_INDEX_BASE})",
    "sound": f"(modality = 'audio' AND seg_index < {SPEECH_INDEX_BASE}) OR "
    f"(modality = 'video' AND seg_index >= {SOUND_INDEX_BASE} AND seg_index < {TAGS_INDEX})",
    "speech": f"modality IN ('audio', 'video') AND seg_index >= {SPEECH_INDEX_BASE} AND seg_index < {SOUND_INDEX_BASE}",
    "text": f"modality = 'text' AND seg_index < {TAGS_INDEX}",
    "tags": f"seg_index >= {TAGS_INDEX}",
}
_ESCAPED_COLUMNS = frozenset({"id", "path"})
_IN_CHUNK = 500  # ids/paths per ``IN (...)`` clause, to keep SQL text small
_UNESCAPE = re.compile(rb"\\(\\|x[0-9a-f]{2})")
_FILE_FORMAT = "2.1"  # measured: fetching the 10 result rows takes half the time it takes in 2.2


def record_schema(dim: int, perceptual_dim: int) -> pa.Schema:
    """The ``records`` table; ``perceptual`` keeps one zero when the library has no perceptual encoder."""
    types: dict[str, pa.DataType] = {
        "seg_index": pa.int32(),
        "start": pa.float64(),
        "end": pa.float64(),
        "taken": pa.float64(),
        "vector": pa.list_(pa.float32(), dim),
        "perceptual": pa.list_(pa.float32(), max(perceptual_dim, 1)),
    }
    return pa.schema([pa.field(n, types.get(n, pa.string()), nullable=n != "id") for n in RECORD_FIELDS])


def file_schema() -> pa.Schema:
    types = {"size": pa.int64(), "mtime": pa.float64(), "updated_at": pa.float64(), "taken": pa.float64()}
    return pa.schema([pa.field(n, types.get(n, pa.string()), nullable=n != "path") for n in FILE_FIELDS])


def escape_text(text: str) -> str:
    """Reversible storage form of ``id``/``path``: backslashes doubled, undecodable bytes as ``\\xNN``."""
    text = text.replace("\\", "\\\\")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate not made by fsdecode (rare, Windows); kept as its UTF-8 bytes
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")
    return text


def unescape_text(text: str) -> str:
    """Inverse of :func:`escape_text`."""
    if "\\" not in text:
        return text
    raw = _UNESCAPE.sub(lambda m: b"\\" if m[1] == b"\\" else bytes([int(m[1][1:], 16)]), text.encode("utf-8"))
    return raw.decode("utf-8", "surrogateescape")


def _lossy_text(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")


def sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def glob_to_like(glob: str) -> str:
    """Shell glob (``*``, ``?``; everything else literal) → SQL LIKE pattern with ``\\`` as escape character."""
    out = []
    for ch in escape_text(glob):
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def where_sql(where: Filter | None) -> str | None:
    """SQL predicate for a :class:`Filter`, or None when it restricts nothing."""
    if where is None:
        return None
    parts = []
    if where.modality is not None:
        parts.append(f"modality = {sql_quote(where.modality)}")
    if where.only_perceptual:
        parts.append(f"modality IN ({', '.join(sql_quote(m) for m in PERCEPTUAL_MODALITIES)})")
    if where.track is not None:
        parts.append(_TRACK_SQL[where.track])
    if where.path_glob is not None:
        parts.append(f"path LIKE {sql_quote(glob_to_like(where.path_glob))} ESCAPE '\\'")
    if where.taken is not None:
        start, end = where.taken
        parts.append(
            " AND ".join(
                ["taken IS NOT NULL"]
                + [f"taken {op} {float(v)!r}" for op, v in ((">=", start), ("<", end)) if v is not None]
            )
        )
    return " AND ".join(f"({p})" for p in parts) or None


def _in_clauses(column: str, values: Sequence[str]) -> Iterator[str]:
    unique = list(dict.fromkeys(escape_text(v) for v in values))
    for start in range(0, len(unique), _IN_CHUNK):
        yield f"{column} IN ({', '.join(sql_quote(v) for v in unique[start : start + _IN_CHUNK])})"


class LanceStore:
    """The default store. See the module docstring for the design.

    Args:
        path: the library folder; the database lives in ``path / "lance"``.
        dim: length of the semantic ``vector``.
        perceptual_dim: length of ``perceptual`` (0 when the library has none).
        options: index and search tuning.

    Raises:
        LibraryError: the folder holds tables made for other vector sizes.
    """

    def __init__(self, path: Path, *, dim: int, perceptual_dim: int, options: LanceSettings | None = None) -> None:
        self.path = Path(path)
        self.dim = dim
        self.perceptual_dim = perceptual_dim
        self.options = options or LanceSettings()
        # Another process (an indexing run beside a server) may write; look for its commits at most every 2 s.
        self._db = lancedb.connect(str(self.path / "lance"), read_consistency_interval=timedelta(seconds=2))
        self._records = self._open_table("records", record_schema(dim, perceptual_dim))
        self._files = self._open_table("files", file_schema())
        self._written_since_optimize = 0
        self._fts_ready = False  # the keyword index exists (it is never dropped once built)

    def _open_table(self, name: str, schema: pa.Schema) -> Any:
        try:
            table = self._db.open_table(name)
        except ValueError:  # not created yet
            options = {"new_table_data_storage_version": _FILE_FORMAT}
            table = self._db.create_table(name, schema=schema, exist_ok=True, storage_options=options)
        missing = [field for field in schema if field.name not in table.schema.names]
        if missing:  # a library made before these columns were: they start empty (None) for what is stored
            try:
                table.add_columns(missing)
            except (OSError, RuntimeError, ValueError) as exc:
                raise LibraryError(
                    f"{self.path}: made by an older Sensorium, its '{name}' table needs the column(s) "
                    f"{', '.join(f.name for f in missing)} added, which failed ({exc}); open it where it can be written"
                ) from exc
        for field in schema:
            if pa.types.is_fixed_size_list(field.type):
                found = table.schema.field(field.name).type.list_size
                if found != field.type.list_size:
                    raise LibraryError(
                        f"{self.path}: store holds {found}-dim '{field.name}' vectors but the encoder makes "
                        f"{field.type.list_size}; re-index into a new library or choose the matching model"
                    )
        return table

    # -- writing ---------------------------------------------------------------------------------------

    def _to_arrow(self, rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
        columns = []
        for field in schema:
            values = [row.get(field.name) for row in rows]
            if pa.types.is_fixed_size_list(field.type):
                columns.append(self._vector_column(field, values))
            elif pa.types.is_string(field.type):
                encode = escape_text if field.name in _ESCAPED_COLUMNS else _lossy_text
                columns.append(pa.array([None if v is None else encode(_as_text(v)) for v in values], pa.string()))
            else:
                columns.append(pa.array(values, field.type))
        return pa.Table.from_arrays(columns, schema=schema)

    def _vector_column(self, field: pa.Field, values: list[Any]) -> pa.FixedSizeListArray:
        size = field.type.list_size
        if field.name == "perceptual" and self.perceptual_dim == 0:
            matrix = np.zeros((len(values), 1), np.float32)
        else:
            matrix = np.zeros((len(values), size), np.float32)
            for i, value in enumerate(values):
                if value is None:
                    continue
                vec = np.asarray(value, np.float32).reshape(-1)
                if vec.shape[0] != size:
                    raise LibraryError(
                        f"{self.path}: a '{field.name}' vector has {vec.shape[0]} values, the store expects {size}; "
                        "re-index into a new library or choose the matching model"
                    )
                matrix[i] = vec
        return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), size)

    def _upsert(self, table: Any, key: str, rows: Sequence[dict[str, Any]], schema: pa.Schema) -> None:
        latest = {row[key]: row for row in rows}  # a key repeated within one batch: the last row wins
        if not latest:
            return
        data = self._to_arrow(list(latest.values()), schema)
        table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)

    def upsert_records(self, rows: Sequence[dict[str, Any]], *, new: bool = False) -> None:
        """Insert or replace rows by ``id``; ``new``: no stored row has these ids, so append them.

        Appending skips the merge on ``id``, whose memory stayed with the process: indexing a 3-hour
        recording grew it by 200 MB in 180 batches. Every ``optimize_every_rows`` rows this also runs
        :meth:`optimize`: a long first indexing run would otherwise pile up one small fragment per batch
        and make each upsert scan every ``id`` written so far.
        """
        if new:
            latest = {row["id"]: row for row in rows}
            if latest:
                self._records.add(self._to_arrow(list(latest.values()), self._records.schema))
        else:
            self._upsert(self._records, "id", rows, self._records.schema)
        self._written_since_optimize += len(rows)
        every = self.options.optimize_every_rows
        if every and self._written_since_optimize >= every:
            self.optimize()

    def upsert_files(self, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(self._files, "path", rows, self._files.schema)

    def has_records(self, path: str) -> bool:
        return self._records.count_rows(f"path = {sql_quote(escape_text(path))}") > 0

    def delete_paths(self, paths: Sequence[str], *, keep_encoder: str | None = None) -> None:
        """Delete the records of ``paths``; with ``keep_encoder``, only those another model version wrote."""
        keep = f" AND (encoder IS NULL OR encoder != {sql_quote(keep_encoder)})" if keep_encoder is not None else ""
        for clause in _in_clauses("path", paths):
            self._records.delete(clause + keep)

    def delete_files(self, paths: Sequence[str]) -> None:
        for clause in _in_clauses("path", paths):
            self._files.delete(clause)

    # -- reading ---------------------------------------------------------------------------------------

    def _rows(self, table: pa.Table) -> list[dict[str, Any]]:
        columns: dict[str, list[Any]] = {}
        for name in table.column_names:
            column = table.column(name).combine_chunks()
            if pa.types.is_fixed_size_list(column.type):
                matrix = column.flatten().to_numpy().reshape(len(column), column.type.list_size)
                if name == "perceptual" and self.perceptual_dim == 0:
                    matrix = matrix[:, :0]
                columns[name] = list(matrix)
            elif name in _ESCAPED_COLUMNS:
                columns[name] = [None if v is None else unescape_text(v) for v in column.to_pylist()]
            else:
                columns[name] = column.to_pylist()
        return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]

    def search_vectors(
        self, vector: np.ndarray, *, column: str = "vector", limit: int = 10, where: Filter | None = None
    ) -> list[dict[str, Any]]:
        """Nearest rows by cosine similarity (``_score``), best first.

        Searching ``perceptual`` only looks at rows of modalities that have perceptual vectors.

        Raises:
            QueryError: unknown column, or a query vector of the wrong length.
        """
        checked = check_vector_query(vector, column, where, dim=self.dim, perceptual_dim=self.perceptual_dim)
        if checked is None:
            return []
        query, where = checked
        builder = self._query().nearest_to(query).column(column).distance_type("cosine").limit(limit)
        builder = builder.select([*search_fields(column), "_distance"])  # asked for: Lance will stop adding it
        # Index parameters are ignored by an exact scan, so they are set without asking whether an index exists.
        builder = builder.nprobes(self.options.nprobes)
        if self.options.refine_factor:
            builder = builder.refine_factor(self.options.refine_factor)
        if self.options.ef:
            builder = builder.ef(self.options.ef)
        sql = where_sql(where)
        if sql:
            # A prefilter. nprobes becomes a floor: Lance probes further when a narrow filter leaves too few
            # rows. Only with a filter, as it costs an unfiltered query about 5 ms.
            builder = builder.where(sql).maximum_nprobes(0)
        rows = self._rows(LOOP.run(builder.to_arrow()))
        for row in rows:
            row["_score"] = 1.0 - float(row.pop("_distance"))
        return rows

    def search_keywords(self, query: str, *, limit: int = 10, where: Filter | None = None) -> list[dict[str, Any]]:
        """Rows whose ``keywords`` match ``query`` (BM25 in ``_score``), best first."""
        if not query.strip() or not self._ensure_fts():
            return []
        builder = self._query().nearest_to_text(query, columns="keywords").limit(limit)
        builder = builder.select([*search_fields("keywords"), "_score"])  # asked for: Lance will stop adding it
        sql = where_sql(where)
        if sql:
            builder = builder.where(sql)  # a prefilter
        return self._rows(LOOP.run(builder.to_arrow()))

    def _query(self) -> Any:  # -> lancedb.query.AsyncQuery
        """A query on the records table through LanceDB's async API, run on the loop its sync API uses.

        The sync query builders ask the table for its schema four or five times per search, each a
        round trip to that loop; searches skip them (2-3 ms of a 40 ms search on 100k rows). The
        async table is the sync one's own, so both see the same writes at once.
        """
        return self._records._table.query()

    def get_records(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Rows with these ids, in the order asked; unknown ids are left out."""
        found: dict[str, dict[str, Any]] = {}
        for clause in _in_clauses("id", ids):
            for row in self._rows(self._records.search().where(clause).limit(None).to_arrow()):
                found[row["id"]] = row
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def records_of(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for clause in _in_clauses("path", paths):
            rows += self._rows(self._records.search().where(clause).limit(None).to_arrow())
        return sorted(rows, key=lambda r: (r["path"], r["seg_index"]))

    def scan(self, columns: Sequence[str], where: Filter | None = None) -> list[dict[str, Any]]:
        query = self._records.search()
        sql = where_sql(where)
        if sql:
            query = query.where(sql)
        return self._rows(query.select(list(columns)).limit(None).to_arrow())

    def count(self, where: Filter | None = None) -> int:
        return self._records.count_rows(where_sql(where))

    def files(self) -> dict[str, dict[str, Any]]:
        return {row["path"]: row for row in self._rows(self._files.to_arrow())}

    # -- maintenance -----------------------------------------------------------------------------------

    def _index_names(self) -> dict[str, str]:
        """Index type by indexed column."""
        return {cfg.columns[0]: cfg.index_type for cfg in self._records.list_indices()}

    def _vector_index(self) -> str | None:
        """Type of the ANN index on ``vector``, or None while searches are exact."""
        return self._index_names().get("vector")

    def _ensure_fts(self) -> bool:
        """Build the keyword index if it is missing; False while there is nothing to index.

        Once seen, the index is remembered: asking Lance for its indexes costs a search 1-2 ms.
        """
        if self._fts_ready:
            return True
        if self._index_names().get("keywords") != "FTS":
            if self._records.count_rows() == 0:
                return False
            self._records.create_index("keywords", config=FTS(), replace=True)
        self._fts_ready = True
        return True

    def optimize(self) -> None:
        """Compact, fold new rows into the indexes, and train the ANN index once the table is big enough.

        Call it at the end of each indexing run. The ANN index is retrained when the table has grown to
        ``retrain_growth`` times the size it was trained on, so partitions stay balanced, and when the
        index settings (type, bits) changed since it was trained.
        """
        self._written_since_optimize = 0
        keep = timedelta(seconds=self.options.keep_versions_s)
        self._ensure_fts()
        self._ensure_scalar_indexes()
        self._records.optimize(cleanup_older_than=keep)
        self._files.optimize(cleanup_older_than=keep)
        rows = self._records.count_rows()
        trained, recipe = self._trained()
        stale = trained is None or rows >= trained * self.options.retrain_growth or recipe != _ann_recipe(self.options)
        if rows >= self.options.index_min_rows and stale:
            self._build_vector_index(rows)

    def _ensure_scalar_indexes(self) -> None:
        """B-tree on ``id``/``path`` (upsert joins, deletes) and ``taken`` (date spans), a bitmap on ``modality``."""
        if self._records.count_rows() == 0:
            return
        have = self._index_names()
        for column, config in (("id", BTree()), ("path", BTree()), ("modality", Bitmap()), ("taken", BTree())):
            if column not in have:
                self._records.create_index(column, config=config)

    def _trained(self) -> tuple[int | None, str | None]:
        """Rows the ANN index was trained on and its recipe (both in its name), or (None, None) without one."""
        for cfg in self._records.list_indices():
            if cfg.columns == ["vector"]:
                match = re.fullmatch(r"vector_([a-z0-9_]+?)_(\d+)", cfg.name)
                if match:
                    return int(match[2]), match[1]
                return self._records.index_stats(cfg.name).num_indexed_rows, None
        return None, None

    def _build_vector_index(self, rows: int) -> None:
        """Train a new ANN index, then drop the old one, so searches never fall back to a full scan meanwhile."""
        old = [cfg.name for cfg in self._records.list_indices() if cfg.columns == ["vector"]]
        name = f"vector_{_ann_recipe(self.options)}_{rows}"
        partitions = self.options.num_partitions or max(1, round(rows / self.options.rows_per_partition))
        log.info("training %s index on %d rows (%d partitions)", self.options.index_type, rows, partitions)
        self._records.create_index("vector", config=_ann_config(self.options, partitions), replace=True, name=name)
        for stale in old:
            if stale != name:
                self._records.drop_index(stale)


def _ann_recipe(opts: LanceSettings) -> str:
    """The index settings that change what the index holds, as a name part: ``ivf_rq4``, ``ivf_pq``..."""
    kind = opts.index_type.lower()
    return f"{kind}{opts.num_bits}" if opts.index_type == "IVF_RQ" else kind


def _ann_config(opts: LanceSettings, partitions: int) -> Any:
    common: dict[str, Any] = {"distance_type": "cosine", "num_partitions": partitions}
    if opts.index_type == "IVF_RQ":
        return IvfRq(**common, num_bits=opts.num_bits)
    if opts.index_type == "IVF_PQ":
        return IvfPq(**common, num_sub_vectors=opts.num_sub_vectors or None)
    if opts.index_type == "IVF_SQ":
        return IvfSq(**common)
    return HnswSq(**common)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
