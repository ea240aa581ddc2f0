"""Vectors out: files and words as a library's space reads them, for other tools to use.

``sensorium embed`` is the way out for people who keep their own index (a numpy matrix, another
vector database), or who cluster, plot and compare: the vectors a search compares. Files are
read as a search by example reads them (a picture; a recording's or a video's pooled vectors; a
note's passages averaged), words as a search reads them (or, with ``document``, as a note's passage
is stored), and :func:`stored` gives what the library keeps for files it has indexed: one vector a
record (a photo, each window of a recording, each shot of a video, each passage of a note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.errors import QueryError
from sensorium.models.base import l2_normalise

if TYPE_CHECKING:
    from sensorium.library import Library


@dataclass(frozen=True)
class Embedded:
    """One input's vector in ``space``, or the reason it has none (``error``).

    ``kind``: ``text`` for words, else what the file is (``image``, ``audio``, ``video``, ``text``);
    for stored records, their track (``picture``, ``sound``, ``speech``, ``text``, ``tags``) with
    ``start`` and ``end`` (seconds; None for a still picture). ``perceptual``: what ``--like``
    compares within a kind (a picture's classifier features, a sound's embedding), where there is one.
    """

    input: str
    kind: str = ""
    space: str = ""
    vector: np.ndarray | None = None
    perceptual: np.ndarray | None = None
    start: float | None = None
    end: float | None = None
    error: str | None = None
    record: bool = False  # a stored record (``start`` and ``end`` said), not an input read now

    def to_json(self, *, perceptual: bool = False, vectors: bool = True) -> dict[str, Any]:
        if self.error is not None:
            return {"input": self.input, "error": self.error}
        out: dict[str, Any] = {"input": self.input, "kind": self.kind, "space": self.space}
        if self.record:
            out.update(start=self.start, end=self.end)
        if vectors:
            out["vector"] = _rounded(self.vector)
            if perceptual:
                out["perceptual"] = _rounded(self.perceptual)
        return out


def _rounded(vec: np.ndarray | None) -> list[float] | None:
    return None if vec is None else [round(float(x), 6) for x in vec]


def embed_texts(
    lib: Library, texts: Sequence[str], *, space: str | None = None, document: bool = False
) -> list[Embedded]:
    """Words as vectors of ``space`` (default: the library's own): as a search reads its words, or
    (``document``) as a note's passage is stored. Blank texts are errors."""
    from sensorium import spaces
    from sensorium.scoring import Calibrator

    name = space or spaces.main_space(lib)
    kept = [t for t in texts if t.strip()]
    if name == spaces.main_space(lib):
        if document:
            vecs = lib.text_vectors(kept) if kept else np.zeros((0, 0), np.float32)
        else:
            cal = Calibrator.for_library(lib)
            vecs = np.stack([cal.query_vector(t) for t in kept]) if kept else np.zeros((0, 0), np.float32)
    else:
        vecs = np.asarray(spaces.space_encoder(lib, name).encode_text(kept)) if kept else np.zeros((0, 0))
    found = iter(l2_normalise(np.asarray(vecs, dtype=np.float32)) if kept else [])
    return [
        Embedded(t, "text", name, next(found)) if t.strip() else Embedded(t, error="empty text: nothing to embed")
        for t in texts
    ]


def files_of(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files given, a folder standing for every file under it (as ``index`` walks it: hidden
    ones left out); and ``(path, reason)`` for what in a folder could not be walked."""
    from sensorium.media.walk import walk

    found: list[Path] = []
    problems: list[tuple[str, str]] = []
    for path in paths:
        if Path(path).is_dir():
            found += walk([Path(path)], on_error=lambda where, why: problems.append((where, why)))
        else:
            found.append(Path(path))
    return found, problems


def embed_files(lib: Library, paths: Sequence[Path], *, space: str | None = None) -> list[Embedded]:
    """Files as vectors of ``space``, read as a search by example reads them (a folder: each file under
    it); a file that cannot be read gets its reason and the others go on."""
    from sensorium import spaces
    from sensorium.media.probe import probe
    from sensorium.query import encode_example

    name = space or spaces.main_space(lib)
    paths, problems = files_of(paths)
    out = [Embedded(where, error=why) for where, why in problems]
    for path in paths:
        try:
            if name == spaces.main_space(lib):
                example = encode_example(lib, Path(path))
                kind = probe(Path(path))
                out.append(Embedded(str(path), kind, name, example.semantic, example.perceptual))
            else:
                vec, _ = spaces.example_vector(lib, name, Path(path))
                out.append(Embedded(str(path), probe(Path(path)), name, l2_normalise(np.asarray(vec, np.float32))))
        except QueryError as exc:
            out.append(Embedded(str(path), error=str(exc).removeprefix("example ").removeprefix(f"{path}: ")))
    return out


def stored(lib: Library, paths: Sequence[Path]) -> list[Embedded]:
    """The vectors the library keeps for indexed files, one per record in the order of time; a folder
    gives every indexed file under it. A file the library does not hold gets that as its reason."""
    from sensorium import spaces
    from sensorium.types import track_of

    if not lib.exists:
        raise QueryError(f"{lib.path} holds nothing yet: index files first (`sensorium index PATH`)")
    store = lib.store()
    held = store.files()
    name = spaces.main_space(lib)
    out = []
    for path in paths:
        wanted = _held_under(held, Path(path))
        if not wanted:
            out.append(Embedded(str(path), error="not in the library; index it first (`sensorium index PATH`)"))
            continue
        rows = sorted(store.records_of(wanted), key=lambda r: (r["path"], r.get("start") or 0.0, r["seg_index"]))
        for r in rows:
            vec = np.asarray(r["vector"], dtype=np.float32)
            perc = np.asarray(r["perceptual"], dtype=np.float32) if r.get("perceptual") is not None else None
            kind = track_of(r["modality"], int(r.get("seg_index") or 0))
            perc = perc if perc is not None and perc.any() else None  # a library without perceptual vectors keeps zeros
            out.append(Embedded(r["path"], kind, name, vec, perc, r.get("start"), r.get("end"), record=True))
    return out


def _held_under(held: dict[str, Any], path: Path) -> list[str]:
    """The library's files that are ``path``, or under it when it is a folder (as indexed: absolute)."""
    full = str(path.resolve()) if path.exists() else str(path.absolute())
    if full in held:
        return [full]
    prefix = full.rstrip("/") + "/"
    return sorted(p for p in held if p.startswith(prefix))
