"""Names taught by example: words the models do not know, given meaning by a few of the user's files.

No model knows "Rex" (a dog), "the blue mug" or "our doorbell". ``sensorium names add Rex
rex1.jpg rex2.jpg`` keeps those examples, read as a search by example reads them, under the
name; afterwards a search whose words hold the name searches by the examples in its place:
"Rex" alone is a search like the examples, and "Rex on the beach" is the examples and "on the
beach" together (as ``--like`` and words are). This is adaptation without training, the same
examples that ``classify --examples`` counts beside words, kept in the library so that every
search, from the CLI, Python, HTTP or the web page, understands the name.

A name's examples are kept as the vectors they gave (``names/<key>.npz`` in the library) and the
paths they came from; when the models change, they are read again from those paths.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.errors import QueryError

if TYPE_CHECKING:
    from sensorium.library import Library
    from sensorium.query import Example

NAMES_DIR = "names"
MAX_NAME_CHARS = 64
MAX_EXAMPLES = 50  # as a search's --like files: each is decoded and encoded when taught
# Words that cannot be a name: a search's words hold them all the time ("the budget", "photos of")
_COMMON = """a an and at by for from in into of on or the to with without this that these those my our your his her
their it its is are was photo photos picture pictures image images video videos sound sounds file files"""
_NOT_NAMES = frozenset(_COMMON.split())


@dataclass(frozen=True)
class TaughtName:
    """A name and what it was taught from: ``files`` read, ``failed`` ``(path, reason)`` not read."""

    name: str
    modality: str
    files: tuple[str, ...]
    failed: tuple[tuple[str, str], ...] = ()

    @property
    def missing(self) -> list[str]:
        """Example files no longer there: the name still works from their vectors until the models change."""
        return [f for f in self.files if not Path(f).exists()]

    def to_json(self, *, failed: bool = True) -> dict[str, Any]:
        """``failed``: the files that could not be read (what ``names add`` says); else, as a listing
        says, the files no longer there (``missing``)."""
        out: dict[str, Any] = {"name": self.name, "modality": self.modality, "files": list(self.files)}
        if failed:
            out["failed"] = [{"path": p, "error": e} for p, e in self.failed]
        else:
            out["missing"] = self.missing
        return out


def name_key(name: str) -> str:
    """How a name is matched and stored: its words, lower case, single-spaced.

    Raises:
        QueryError: no word in it, or too long.
    """
    words = re.findall(r"\w+", name.casefold())
    if not words:
        raise QueryError(f"name {name!r}: give a word or a few, such as 'Rex' or 'the blue mug'")
    if len(name) > MAX_NAME_CHARS:
        raise QueryError(f"name {name[:20]!r}...: {len(name)} characters; give at most {MAX_NAME_CHARS}")
    if all(len(w) < 2 or w in _NOT_NAMES for w in words):  # "C++" would be "c", "the" every other search
        said = " ".join(words)
        raise QueryError(
            f"name {name!r}: searches match a name by its words ({said!r}), which are too short or too common"
            " to tell it; give a name with a word of its own, such as 'Rex' or 'the blue mug'"
        )
    return " ".join(words)


def teach(lib: Library, name: str, files: Sequence[str | Path], *, keep_in: Path | None = None) -> TaughtName:
    """Teach ``name`` by ``files`` (pictures, or recordings, or notes: one kind); teaching a name again
    replaces its examples. A file that cannot be read is reported and the others are kept.
    ``keep_in``: a folder the examples read are moved into and kept from (uploads, which would vanish).

    Raises:
        QueryError: no file given, none could be read, or examples of different kinds.
    """
    from sensorium.embed import files_of
    from sensorium.query import encode_example, pool_examples

    key = name_key(name)
    paths, problems = files_of([Path(f).expanduser() for f in files])
    paths = list({p.resolve(): p for p in paths}.values())  # one file given twice is one example
    if not paths:
        raise QueryError(f"name {name!r}: give the example files it is taught by (a folder of them will do)")
    if len(paths) > MAX_EXAMPLES:
        raise QueryError(f"name {name!r}: {len(paths)} examples; give at most {MAX_EXAMPLES}")
    examples, read, failed = [], [], list(problems)
    for path in paths:
        try:
            examples.append(encode_example(lib, path))
            read.append(path)
        except QueryError as exc:
            failed.append((str(path), str(exc).removeprefix("example ").removeprefix(f"{path}: ")))
    if not examples:
        said = "; ".join(f"{p}: {e}" for p, e in failed)
        raise QueryError(f"name {name!r}: no example could be read ({said})")
    pooled = pool_examples(examples, read)
    lib.store(create=True)
    if keep_in is not None:
        shutil.rmtree(keep_in, ignore_errors=True)  # taught again: the old uploads go
        keep_in.mkdir(parents=True)
        read = [Path(shutil.move(str(p), keep_in / f"{i}-{p.name}")) for i, p in enumerate(read)]
    _save(lib, key, pooled)
    names = dict(lib.manifest.get("names") or {})
    names[key] = {
        "name": name.strip(),
        "modality": pooled.modality,
        "files": [str(p.resolve()) for p in read],
        "version": lib.version_key(_encoder_modality(pooled.modality)),
        "added": time.time(),
    }
    lib.manifest["names"] = names
    lib._write_manifest()
    return TaughtName(name.strip(), pooled.modality, tuple(str(p) for p in read), tuple(failed))


def taught(lib: Library) -> list[TaughtName]:
    """Every name the library was taught, in the order of their keys."""
    return [
        TaughtName(v["name"], v["modality"], tuple(v["files"]))
        for _, v in sorted((lib.manifest.get("names") or {}).items())
    ]


def forget(lib: Library, name: str) -> None:
    """Drop a taught name and its examples' vectors (the files themselves are not touched).

    Raises:
        QueryError: no such name.
    """
    key = name_key(name)
    names = dict(lib.manifest.get("names") or {})
    if key not in names:
        raise QueryError(f"name {name!r}: not taught to {lib.path} (`sensorium names` lists those that are)")
    del names[key]
    lib.manifest["names"] = names
    lib._write_manifest()
    (lib.path / NAMES_DIR / f"{_file_key(key)}.npz").unlink(missing_ok=True)
    shutil.rmtree(uploads_folder(lib, key), ignore_errors=True)


def uploads_folder(lib: Library, key: str) -> Path:
    """Where the examples of a name taught by upload (HTTP) are kept, to be read again when models change."""
    folder = lib.path / NAMES_DIR / "files" / _file_key(key)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class NamesSaid:
    """The taught names found in a query's words, their example (pooled), and the words without them."""

    names: tuple[str, ...]
    example: Example
    rest: str


def names_said(lib: Library, text: str) -> NamesSaid | None:
    """The taught names ``text`` holds as whole words (longest first), or None where it holds none.

    Raises:
        QueryError: names of different kinds in one query, or a name whose examples can no longer
            be read after a change of model.
    """
    from sensorium.query import pool_examples

    names = lib.manifest.get("names") or {}
    if not names or not text:
        return None
    found: list[str] = []
    rest = text
    for key in sorted(names, key=len, reverse=True):
        pattern = r"(?<!\w)" + r"\W+".join(re.escape(w) for w in key.split()) + r"(?!\w)"
        rest, n = re.subn(pattern, " ", rest, flags=re.IGNORECASE)
        if n:
            found.append(key)
    if not found:
        return None
    examples = [_example(lib, key) for key in found]
    labels = [Path(names[k]["name"]) for k in found]  # pool_examples names each example by its path's name
    return NamesSaid(tuple(names[k]["name"] for k in found), pool_examples(examples, labels), " ".join(rest.split()))


def taught_vector(lib: Library, label: str) -> np.ndarray | None:
    """A label's vector where it holds a taught name, or None where it holds none.

    A label that is the name ("Rex", or "Rex here" as a question asks it) is its examples' pooled
    vector; one with words of its own beside the name ("Rex on a sofa") is those words' vector and
    the examples' together, as a search mixes ``--like`` and words.
    """
    from sensorium.models.base import l2_normalise
    from sensorium.models.concepts import label_vectors

    said = names_said(lib, label)
    if said is None:
        return None
    if _only_the_name(said):
        return said.example.semantic
    words = label_vectors(lib.text_encoder, [said.rest], space=getattr(lib.image_encoder, "space", None))[0]
    return l2_normalise(said.example.semantic + words)


def taught_tags(lib: Library, label: str) -> np.ndarray | None:
    """The tags heard in the examples of a name taught by recordings, where ``label`` is that name alone."""
    if not lib.manifest.get("names"):
        return None
    said = names_said(lib, label)
    if said is None or said.example.tags is None:
        return None
    return said.example.tags if _only_the_name(said) else None


_FILLERS = frozenset(("here", "there", "present", "visible", "shown", "seen", "heard", "any", "some"))


def _only_the_name(said: NamesSaid) -> bool:
    """Whether the words hold nothing beside the names but fillers ("Rex here"), not words of their own."""
    return all(w in _NOT_NAMES or w in _FILLERS for w in re.findall(r"\w+", said.rest.casefold()))


def named_files(lib: Library, said: Sequence[str]) -> list[Path]:
    """The example files of names as said (for a hub space, whose own model reads them)."""
    names = lib.manifest.get("names") or {}
    return [Path(f) for n in said for f in names.get(name_key(n), {}).get("files", []) if Path(f).exists()]


def _example(lib: Library, key: str) -> Example:
    """A taught name's pooled example, read once per library object (classify asks for it per file)."""
    entry = lib.manifest["names"][key]
    cache = lib.__dict__.setdefault("_taught_examples", {})
    stamp = (key, entry.get("added"), entry.get("version"))  # taught again, or read again: another
    if stamp not in cache:
        example = _read_example(lib, key, entry)  # may bring the entry's version up to date
        cache[(key, entry.get("added"), entry.get("version"))] = example
        return example
    return cache[stamp]


def _read_example(lib: Library, key: str, entry: dict[str, Any]) -> Example:
    from sensorium.query import Example, encode_example, pool_examples

    if entry.get("version") != lib.version_key(_encoder_modality(entry["modality"])):  # the models changed
        paths = [Path(p) for p in entry["files"] if Path(p).exists()]
        if not paths:
            raise QueryError(
                f"name {entry['name']!r}: the models changed and its examples are gone; teach it again"
                f" (`sensorium names add {entry['name']!r} FILE...`)"
            )
        pooled = pool_examples([encode_example(lib, p) for p in paths], paths)
        _save(lib, key, pooled)
        entry["version"] = lib.version_key(_encoder_modality(entry["modality"]))
        lib._write_manifest()
        return pooled
    with np.load(lib.path / NAMES_DIR / f"{_file_key(key)}.npz", allow_pickle=False) as data:
        values: dict[str, Any] = {f.name: (data[f.name] if f.name in data.files else None) for f in fields(Example)}
    values["modality"] = str(values["modality"])
    objects = values.pop("objects")
    values["objects"] = tuple((str(n), float(s)) for n, s in objects) if objects is not None else ()
    return Example(**values)


def _save(lib: Library, key: str, example: Example) -> None:
    folder = lib.path / NAMES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        f.name: getattr(example, f.name)
        for f in fields(example)
        if f.name not in ("modality", "objects") and getattr(example, f.name) is not None
    }
    arrays["modality"] = np.array(example.modality)
    arrays["objects"] = np.array([[n, f"{s:.6f}"] for n, s in example.objects], dtype=str).reshape(-1, 2)
    tmp = folder / f".{_file_key(key)}.part.npz"
    np.savez(tmp, **arrays)
    tmp.replace(folder / f"{_file_key(key)}.npz")


def _file_key(key: str) -> str:
    import hashlib

    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _encoder_modality(modality: str) -> str:
    return {"video": "image"}.get(modality, modality)
