"""Search: a text, an example file, or both, against one library.

Candidates come from the ANN index (semantic vectors), the perceptual index (for an example
image) and the full-text index (concept names, objects, OCR and document text); they are
scored on one calibrated scale (0..1), where 0.5 means "clearly more related than a typical
concept", so that a query with nothing relevant can return nothing.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium import thumbnails
from sensorium.errors import MediaError, QueryError
from sensorium.media.audio import has_audio_track
from sensorium.media.dates import format_date, parse_span
from sensorium.media.days_asked import days_asked, taken_in_words
from sensorium.media.image import image_segments
from sensorium.media.pdf import PAGE_MARK
from sensorium.media.places import PlacesAsked, places_asked
from sensorium.media.probe import probe
from sensorium.media.video import video_or_sound
from sensorium.models.base import l2_normalise, valid_utf8
from sensorium.models.hierarchy import Kind, kind_of
from sensorium.names import NamesSaid, named_files, names_said
from sensorium.scoring import Calibrator, sigmoid
from sensorium.store.base import Filter, pad_perceptual
from sensorium.types import KEYWORD_WEIGHT, LIKE_WEIGHT, MAX_LIMIT, MODALITIES, TAGS_INDEX, Hit, track_of

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)
DEFAULT_MIN_SCORE = 0.5
NEGATIVE_TEMPERATURE = 0.02  # cosine margin over which --not goes from keeping a row to dropping it
# Words that name a sound ("coughing", "a bell") rank sounds above pictures, and words that name a
# thing seen ("a castle") the other way: the other track's scores are cut by up to TRACK_PRIOR as
# the words lean (see :func:`sound_lean`, :func:`weigh_tracks`). Fitted on the dev set's photos and
# recordings indexed together, every label a query (`python -m bench.eval_mixed`).
TRACK_PRIOR = 0.7
LEAN_TAU = 0.05  # cosine gap between the nearest sound tag and the nearest thing seen that makes a clear lean


@dataclass(frozen=True)
class Example:
    """An example file turned into query vectors; ``perceptual`` compares only with its own ``modality``."""

    semantic: np.ndarray
    perceptual: np.ndarray | None
    modality: str = "image"
    tags: np.ndarray | None = None  # sound: pooled tag probabilities (for tag matching)
    window_tags: np.ndarray | None = None  # sound: (n, C) per window, for "is it anywhere in the file"
    concepts: np.ndarray | None = None  # picture: the classifier's concept probabilities (classification votes)
    objects: tuple[tuple[str, float], ...] = ()  # picture: the detector's objects and scores (kinds of thing)


def example_problem(exc: MediaError) -> str:
    """Why an example cannot be used, with the file's own advice when it has some (a pixel limit to raise).

    Advice meant for indexing ("skip it with --exclude") is not given: search and classify have no such option.
    """
    if exc.hint and "--exclude" not in exc.hint:
        return exc.detail
    return f"{exc.reason}; use a readable image, video, sound or text file"


def encode_example(lib: Library, path: Path, modality: str | None = None) -> Example:
    """Decode and encode an example file (image, sound, video or text).

    A video is its pictures, or its sound track when ``modality`` asks for sounds ("audio").

    Raises:
        QueryError: the file cannot be read or is not a supported example.
    """
    s, wanted = lib.settings, modality
    try:
        kind = probe(path)
        if kind == "image":
            segs = image_segments(
                path, max_pixels=s.max_image_pixels, max_side=getattr(lib.image_encoder, "max_side", 512)
            )
            enc = lib.image_encoder.encode(segs)
            perc = enc.perceptual[0] if enc.perceptual is not None else None
            concepts = enc.concept_probs[0] if enc.concept_probs is not None else None
            objects = tuple((o.name, o.score) for o in enc.facts[0].objects)
            return Example(enc.semantic[0], perc, concepts=concepts, objects=objects)
        if kind == "text":
            segs = lib.note_segments(path)
            vecs = lib.text_vectors([x.payload for x in segs])
            return Example(l2_normalise(vecs.mean(0)), None, "text")
        if kind == "video" and video_or_sound(path) == "video":
            if wanted != "audio":
                return _video_example(lib, path)
            if not has_audio_track(path):
                hint = "drop --modality audio to search by its pictures"
                raise QueryError(f"example {path}: it has no sound track; {hint}")
        if kind in ("audio", "video"):
            clip = lib.audio_encoder.clip_vectors(path)
            if clip.silent:
                raise QueryError(f"example {path}: it is silent (no sample above -80 dBFS); give a sound to search for")
            return Example(clip.semantic, clip.perceptual, "audio", clip.probs, clip.windows)
    except MediaError as exc:
        raise QueryError(f"example {path}: {example_problem(exc)}") from exc
    except OSError as exc:
        raise QueryError(f"example {path}: cannot read ({exc.strerror or exc}); check the path") from exc
    raise QueryError(f"example {path}: {kind} examples are not supported; use an image, video, sound or text file")


_TRACK_LABEL = {"picture": "concepts", "sound": "sounds"}


MAX_EXAMPLES = 50  # example files one search may give (each is decoded and encoded)


def example_paths(like: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """The example files of a search, as paths: none, one, or several ("more like these").

    Raises:
        QueryError: not a path or a list of paths, or more than :data:`MAX_EXAMPLES`.
    """
    if like is None:
        return []
    items = [like] if isinstance(like, (str, Path)) else like
    if not isinstance(items, Sequence) or not all(isinstance(x, (str, Path)) for x in items):
        raise QueryError(f"like={like!r}: give example files as str or pathlib.Path, one or a list")
    if len(items) > MAX_EXAMPLES:
        raise QueryError(f"{len(items)} examples: give at most {MAX_EXAMPLES}")
    return [Path(x).expanduser() for x in items]


def pool_examples(examples: Sequence[Example], paths: Sequence[Path]) -> Example:
    """Several examples of one kind as one: their vectors averaged, their tags and concepts too.

    Raises:
        QueryError: examples of different kinds (a picture and a sound have no common look).
    """
    if len(examples) == 1:
        return examples[0]
    kinds = {e.modality if e.modality != "video" else "image" for e in examples}
    if len(kinds) > 1:
        said = ", ".join(f"{p.name} ({e.modality})" for p, e in zip(paths, examples, strict=True))
        raise QueryError(f"examples of different kinds: {said}; give pictures, or sounds, or notes")

    def mean(arrays: list[np.ndarray | None]) -> np.ndarray | None:
        return None if any(a is None for a in arrays) else np.mean(np.stack(arrays), axis=0)  # type: ignore[arg-type]

    perceptual = mean([e.perceptual for e in examples])
    tags = mean([e.tags for e in examples])
    windows = None
    if tags is not None:  # "is it anywhere in the file": every window of every example
        windows = np.concatenate([e.window_tags if e.window_tags is not None else e.tags[None, :] for e in examples])  # type: ignore[index]
    objects: dict[str, float] = {}
    for e in examples:
        for name, score in e.objects:
            objects[name] = max(objects.get(name, 0.0), score)
    return Example(
        l2_normalise(np.mean(np.stack([e.semantic for e in examples]), axis=0)),
        l2_normalise(perceptual) if perceptual is not None else None,
        examples[0].modality,
        tags,
        windows,
        mean([e.concepts for e in examples]),
        tuple(objects.items()),
    )


def _video_example(lib: Library, path: Path) -> Example:
    """A video as an example: its shots' pictures pooled, each weighed by how long it shows."""
    from sensorium.models.offline_video import OfflineVideoEncoder

    semantic, perceptual, concepts, weights = [], [], [], []
    objects: dict[str, float] = {}  # each object at its best score in any shot

    def collect(segs: list, encoded: Any) -> None:
        for facts in encoded.facts:
            for o in facts.objects:
                objects[o.name] = max(objects.get(o.name, 0.0), o.score)
        semantic.append(encoded.semantic)
        if encoded.perceptual is not None:
            perceptual.append(encoded.perceptual)
        if encoded.concept_probs is not None:
            concepts.append(encoded.concept_probs)
        weights.extend(max((s.end_s or 0.0) - (s.start_s or 0.0), 1e-3) for s in segs)

    OfflineVideoEncoder(lib.settings, lib.image_encoder, None).encode_file(path, collect)
    if not semantic:
        raise MediaError(str(path), "no picture could be decoded")
    w = np.asarray(weights, dtype=np.float32)[:, None]
    sem = l2_normalise((np.concatenate(semantic) * w).sum(0))
    perc = l2_normalise((np.concatenate(perceptual) * w).sum(0)) if perceptual else None
    seen = (np.concatenate(concepts) * w).sum(0) / w.sum() if len(concepts) == len(semantic) else None
    return Example(sem, perc, "image", concepts=seen, objects=tuple(objects.items()))


def _why(row: dict[str, Any], query_words: set[str], parts: list[str], track: str, facts: dict[str, Any]) -> str:
    concepts = [c[0] for c in facts["concepts"][:3]]
    objects = [o[0] for o in facts["objects"][:3]]
    why = list(parts)
    if concepts and track in _TRACK_LABEL:
        why.append(f"{_TRACK_LABEL[track]}: " + ", ".join(concepts))
    if objects and track == "picture":  # a sound's "objects" are its tags for matching, not things seen
        why.append("objects: " + ", ".join(objects))
    said = {"speech": "said", "tags": "tagged"}.get(track, "text")
    for field, label in (("ocr_text", "text in image"), ("text", said)):
        text = row.get(field) or ""
        page = PAGE_MARK.match(text) if track == "text" else None
        if page:  # a PDF's passage says where it is, whichever words the snippet shows
            text, label = text[page.end() :], f"text, page {page.group(1)}"
        snippet = _snippet(text, query_words)
        if snippet:
            why.append(f'{label}: "{snippet}"')
    return "; ".join(why)


def _snippet(text: str, words: set[str], width: int = 80) -> str:
    """The ``width`` characters of ``text`` that hold the most query words."""
    if not text:
        return ""
    low = text.lower()
    found = sorted(m.start() for w in words for m in re.finditer(re.escape(w), low))  # ties: the first, every run

    def shown(p: int) -> int:  # query words in the window shown for a match at p
        start = max(0, p - width // 4)
        return sum(w in low[start : start + width] for w in words)

    best = max(found, key=shown, default=0)
    start = max(0, best - width // 4)
    out = " ".join(text[start : start + width].split())
    return ("…" if start else "") + out + ("…" if start + width < len(text) else "")


MAX_QUERY_CHARS = 2000  # a sentence encoder reads 256 tokens; longer text only slows the keyword search


def query_text(text: object, what: str = "query") -> str | None:
    """Query words, stripped, or None; a lone surrogate (bytes that were not UTF-8) becomes "?".

    Raises:
        QueryError: not a string, or longer than :data:`MAX_QUERY_CHARS`.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise QueryError(f"{what} {text!r}: give words as a string")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"{what} of {len(text)} characters: at most {MAX_QUERY_CHARS}; search for a passage's gist")
    return valid_utf8(text).strip() or None


def path_pattern(glob: str | None) -> str | None:
    """A ``--path`` glob as matched against stored (absolute) paths.

    ``~`` is the home folder, and a relative glob matches below any folder (``photos/*`` is
    ``*/photos/*``): matched as written it could only ever match nothing.
    """
    if glob is None:
        return None
    glob = os.path.expanduser(glob)
    return glob if glob.startswith(("/", "*")) else "*/" + glob


def taken_span(taken: object) -> tuple[float | None, float | None] | None:
    """``search(taken=...)`` as wall-clock seconds (from, to), or None for no limit.

    Days in words are taken too, where the words say nothing else: "last summer", "yesterday",
    "June 2023" (:mod:`sensorium.media.days_asked`).

    Raises:
        QueryError: not a span of days (:func:`sensorium.media.dates.parse_span`).
    """
    if taken is None or (isinstance(taken, str) and not taken.strip()):
        return None
    if isinstance(taken, str):
        try:
            return parse_span(taken)
        except ValueError as exc:
            said = taken_in_words(taken)
            if said is not None:
                return said.span
            raise QueryError(f"taken {exc}") from None
    if (
        isinstance(taken, (tuple, list))
        and len(taken) == 2
        and all(v is None or (isinstance(v, (int, float)) and math.isfinite(v)) for v in taken)
    ):
        return (None if taken[0] is None else float(taken[0]), None if taken[1] is None else float(taken[1]))
    raise QueryError(f"taken {taken!r}: give a span of days such as '2023-06' or '2021..2023'")


def check_options(*, limit: object, modality: object, like_weight: object, min_score: object) -> None:
    """The checks the CLI's parser makes, for callers of the Python API and the server."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit {limit!r}: give a whole number from 1 to {MAX_LIMIT}")
    if modality is not None and modality not in MODALITIES:
        raise QueryError(f"modality {modality!r}: one of {', '.join(MODALITIES)}")
    for name, value in (("like_weight", like_weight), ("min_score", min_score)):
        if value is not None and (not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0):
            raise QueryError(f"{name} {value!r}: give a number from 0 to 1")


def search(
    lib: Library,
    text: str | None = None,
    *,
    like: str | Path | Sequence[str | Path] | None = None,
    like_weight: float = LIKE_WEIGHT,
    negative: str | None = None,
    limit: int = 10,
    modality: str | None = None,
    path_glob: str | None = None,
    min_score: float | None = None,
    keyword_weight: float = KEYWORD_WEIGHT,
    space: str | None = None,
    taken: str | tuple[float | None, float | None] | None = None,
    read_dates: bool = True,
) -> list[Hit]:
    """Ranked hits, best first, each with a calibrated ``score`` in 0..1 and a ``why``.

    Args:
        text: what to look for, in words.
        like: an example file, or several of one kind ("more like these": their vectors averaged);
            combined with ``text`` by ``like_weight`` (0 = text only).
        negative: words whose meaning is pushed away from the query.
        min_score: drop hits below this calibrated score (default 0.5; 0 keeps everything).
        limit: how many results: still images, text documents (their best passage) and moments
            (merged windows of sound or video) each count as one.
        space: search a hub model's space (``clip``, ``clap``: see :mod:`sensorium.spaces`); by
            default the library's own, or the hub space that reads ``modality`` when there is one.
        taken: only files made in this span of days, as their own dates say (a photo's EXIF, a
            video's creation time: :mod:`sensorium.media.dates`): ``"2023"``, ``"2023-06"``,
            ``"2023-06-14"``, ``"2021..2023-03"``, ``"..2019"``; or wall-clock seconds (from, to).
            Files that give no date are left out. Given without words or an example: the files
            made in those days, in the order they were made (:func:`made_in`).
        read_dates: where ``taken`` is not given, days said in the words ("a beach in summer 2019",
            "photos from last year": :mod:`sensorium.media.days_asked`) are read as ``taken`` and
            taken out of the words; False searches the words as written.
    """
    text = query_text(text)
    span = taken_span(taken)
    said = None
    named = names_said(lib, text) if text else None  # names the library was taught by example, first:
    if named is not None:  # a name that reads as days ("2019") is the user's before it is a year
        text = named.rest if _names_something(named.rest) or _has_days(named.rest) else None
    if span is None and text and read_dates:
        text, span, said = words_and_days(text)
    negative = query_text(negative, "negative")
    path_glob = path_pattern(path_glob)
    likes = example_paths(like)
    check_options(limit=limit, modality=modality, like_weight=like_weight, min_score=min_score)
    if text is None and not likes and named is None and negative is None and span is not None:
        return made_in(lib, span, limit=limit, modality=modality, path_glob=path_glob)
    if text is None and not likes and named is None:
        raise QueryError("empty query: give words to search for, an example file (--like), days (taken), or both")
    lib.check_space()
    if space is not None or lib.manifest.get("spaces"):
        from sensorium import spaces

        target = spaces.target_space(lib, space, modality)
        if target is not None:
            found = spaces.search_space(
                lib,
                target,
                text,
                like=[*likes, *(named_files(lib, named.names) if named else [])] or None,
                like_weight=like_weight,
                negative=negative,
                limit=limit,
                modality=modality,
                path_glob=path_glob,
                min_score=min_score,
                taken=span,
            )
            return [_said_of(_if_gone(h), said, named) for h in found]
    store = lib.store()
    cal = Calibrator.for_library(lib)
    example = pool_examples([encode_example(lib, p, modality) for p in likes], likes) if likes else None
    if named is not None:  # the name's examples, as --like files would be (pooled with any given)
        both = [example, named.example] if example is not None else [named.example]
        example = pool_examples(both, [*likes[:1], Path(named.names[0])])
    if example is not None and example.perceptual is not None:
        padded = pad_perceptual(example.perceptual, lib.manifest.get("perceptual_dim", 0))
        example = replace(example, perceptual=padded[0] if padded is not None else None)
    qvec = cal.query_vector(text) if text else None
    sem = _combine(qvec, example.semantic if example else None, like_weight)
    away = cal.query_vector(negative) if negative else None
    if away is not None:
        sem = l2_normalise(sem - 0.5 * away)
    where = Filter(modality=modality, path_glob=path_glob, taken=span)
    sounds_matter = (text or away is not None) and modality in (None, "audio", "video")
    matcher = lib.audio_encoder if sounds_matter and has_sound(lib) else None
    words = {w for w in re.findall(r"\w+", (text or "").lower()) if len(w) > 2}
    lean = sound_lean(qvec, lib.image_encoder, matcher) if qvec is not None and matcher is not None else None
    kind = picture_kind(lib, text)
    floor = DEFAULT_MIN_SCORE if min_score is None else min_score
    k = candidate_count(lib, limit)
    gap = lib.settings.audio_hop_s
    found = -1
    asked = places_asked(text) if text else PlacesAsked()
    while True:
        hits, saturated = _candidates(
            store, cal, sem, text, example, where, k, keyword_weight, words, matcher, away, qvec, like_weight, kind
        )
        if lean is not None:
            hits = weigh_tracks(hits, lean)
        elsewhere = 0
        if asked.countries:
            hits = keep_to_named_places(store, asked, hits, words)
            elsewhere = sum(h.why.endswith(ELSEWHERE_WHY) for h in hits)
        kept = [h for h in hits if h.score >= floor]
        moments = fold_copies(combine_tracks(join_touching(merge_moments(kept, gap=gap), gap=gap)))
        # Windows of one long recording, or copies of one photo, can fill the candidate list: widen it
        # until `limit` hits are found. Only then: when fewer than `limit` candidates clear the floor,
        # rows further out will not; and a wider list that found no more hits will not either (each
        # round parsed thousands more rows: "thunder" with 18 hits asked took 0.9 s against 0.035).
        # Files taken elsewhere than the words ask count as clearing it: rows further out may be there.
        if len(moments) >= limit or len(kept) + elsewhere < limit or not saturated or k * 4 > MAX_CANDIDATES:
            break
        if len(moments) <= found:
            break
        found = len(moments)
        k *= 4
    moments.sort(key=lambda h: (-h.score, h.path, h.start or 0.0))
    own = lib.manifest.get("space") or ""
    found = [_if_gone(replace(_with_thumbnail(lib, h), space=own)) for h in moments[:limit]]
    return [_said_of(h, said, named) for h in found]


def _said_of(hit: Hit, said: str | None, named: NamesSaid | None) -> Hit:
    """A hit's why, with the day it was made where the words asked for days, and the names they said."""
    if said:
        hit = _made_when(hit)
    if named is not None:
        hit = replace(hit, why=f"{hit.why}; as taught: {', '.join(named.names)}")
    return hit


def _has_days(words: str) -> bool:
    return days_asked(words) is not None


def _names_something(words: str) -> bool:
    return bool({w for w in re.findall(r"\w+", words.lower()) if len(w) > 2} - ASKING_WORDS - _LISTING_WORDS)


def words_and_days(text: str) -> tuple[str | None, tuple[float | None, float | None] | None, str | None]:
    """``text`` without the days it says, those days as ``taken`` gives them, and the words that said
    them: ``"a beach in summer 2019"`` → ``("a beach", (June 2019, September 2019), "in summer 2019")``.
    Words left that name nothing ("photos from 2019" leaves "photos") are no words to search: the
    files made in those days are listed in the order they were made."""
    asked = days_asked(text)
    if asked is None:
        return text, None, None
    return (asked.rest if _names_something(asked.rest) else None), asked.span, asked.said


def _made_when(hit: Hit) -> Hit:
    day = format_date(hit.taken)
    return replace(hit, why=f"{hit.why}; made {day[:10]}") if day else hit


def tagged_hits(
    lib: Library,
    text: str,
    *,
    negative: str | None = None,
    modality: str | None = None,
    path_glob: str | None = None,
    taken: tuple[float | None, float | None] | None = None,
    limit: int = 10,
) -> list[Hit]:
    """What files say of themselves (captions, titles, places: their tags records), scored against
    ``text`` as :func:`search` scores them, and nothing else.

    A hub space's search (:func:`sensorium.spaces.search_space`) adds these: its model reads the
    pictures and sounds, not the words a file carries, so "photos from Lisbon" found no photo by
    its GPS position there.
    """
    where = Filter(modality=modality, path_glob=path_glob, taken=taken, track="tags")
    store = lib.store()
    if not store.count(where):  # no file here says anything of itself: no text encoder to load
        return []
    cal = Calibrator.for_library(lib)
    qvec = cal.query_vector(text)
    away = cal.query_vector(negative) if negative else None
    sem = qvec if away is None else l2_normalise(qvec - 0.5 * away)
    words = {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}
    k = candidate_count(lib, limit)
    hits, _ = _candidates(store, cal, sem, text, None, where, k, KEYWORD_WEIGHT, words, None, away, qvec)
    own = lib.manifest.get("space") or ""
    return [replace(h, space=own) for h in hits if h.track == "tags"]


def fold_copies(hits: list[Hit]) -> list[Hit]:
    """One hit per set of identical copies (the same picture or moment: equal score, span and facts).

    An archive holds the same photo under many names; 31 copies of one dog filled the first 31
    results for "a dog". The best-named copy (first by path of those that still exist) stays, and
    says how many others there are and where (``copies`` in JSON).
    """
    groups: dict[tuple, list[Hit]] = {}
    for h in hits:
        key = (h.modality, h.track, h.start, h.end, round(h.score, 6), json.dumps(h.facts, sort_keys=True))
        if h.track == "tags":  # the same words (a city) on different photos: not copies of one
            key += (h.path,)
        groups.setdefault(key, []).append(h)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        group.sort(key=lambda h: (not os.path.lexists(h.path), h.path))  # a file moved: its new name speaks
        n = len(group) - 1
        note = f"{n} identical cop{'y' if n == 1 else 'ies'}"
        out.append(replace(group[0], why=f"{group[0].why}; {note}", copies=tuple(h.path for h in group[1:])))
    return out


GONE_NOTE = "file no longer exists (`index FOLDER --prune` or `forget PATH` drops it)"


_LISTED = ("id", "path", "modality", "seg_index", "start", "end", "taken", "concepts", "objects", "ocr_text", "text")


def made_in(
    lib: Library,
    taken: str | tuple[float | None, float | None],
    *,
    limit: int = 10,
    modality: str | None = None,
    path_glob: str | None = None,
) -> list[Hit]:
    """The files made in a span of days, in the order they were made: a search by date alone.

    "My photos from June 2023" asks for no meaning, so nothing is ranked: every file in the span
    matches it wholly (score 1.0), and a recording or a video is listed whole (``start``/``end``
    None), with its first shot's picture.
    """
    span = taken_span(taken)
    if span is None:
        raise QueryError("taken: give a span of days such as '2023-06' or '2021..2023'")
    where = Filter(modality=modality, path_glob=path_pattern(path_glob), taken=span)
    first: dict[str, dict[str, Any]] = {}
    for row in lib.store().scan(_LISTED, where):
        if row["path"] not in first or row["seg_index"] < first[row["path"]]["seg_index"]:
            first[row["path"]] = row
    rows = sorted(first.values(), key=lambda r: (r["taken"], r["path"]))[:limit]
    own = lib.manifest.get("space") or ""
    hits = []
    for row in rows:
        made = (format_date(row["taken"]) or "").replace("T", " ")
        facts = {k: json.loads(row.get(k) or "[]") for k in ("concepts", "objects")}
        facts["ocr_text"] = row.get("ocr_text") or ""
        track = _track(row)  # what the file is, as a search's why says it: its concepts, sounds or words
        why = _why(row, set(), [f"made {made}"], track, facts)
        hit = Hit(
            row["path"],
            1.0,
            row["modality"],
            why=why,
            id=row["id"],
            facts=facts,
            track=track,
            space=own,
            taken=row["taken"],
        )
        if row["modality"] == "video" and row["start"] is not None:
            shot = _with_thumbnail(lib, replace(hit, start=row["start"], end=row["end"]))
            hit = replace(hit, thumbnail=shot.thumbnail)
        hits.append(_if_gone(hit))
    return hits


def _if_gone(hit: Hit) -> Hit:
    """A hit on a file renamed or deleted since indexing says so: it scored 1.00 beside its new name."""
    if os.path.lexists(hit.path):
        return hit
    return replace(hit, why=f"{hit.why}; {GONE_NOTE}" if hit.why else GONE_NOTE)


def _with_thumbnail(lib: Library, hit: Hit) -> Hit:
    if hit.modality != "video" or hit.start is None:
        return hit
    mid = (hit.start + (hit.end if hit.end is not None else hit.start)) / 2
    found = thumbnails.find(lib.path, hit.path, mid)
    return replace(hit, thumbnail=str(found.resolve())) if found is not None else hit


MAX_CANDIDATES = 20_000


def _candidates(
    store: Any,
    cal: Calibrator,
    sem: np.ndarray,
    text: str | None,
    example: Example | None,
    where: Filter,
    k: int,
    keyword_weight: float,
    words: set[str],
    tag_matcher: Any = None,
    away: np.ndarray | None = None,
    qvec: np.ndarray | None = None,
    like_weight: float = 0.5,
    kind: Kind | None = None,
) -> tuple[list[Hit], bool]:
    """Scored hits for the best ``k`` rows of each index; ``saturated`` when an index gave all ``k``.

    Rows come from ``sem`` (the words and the example mixed); each is then scored on the words and
    on the example apart, each on its own calibrated scale, mixed by ``like_weight``: an example's
    vector is a whole picture or sound, far closer to its kind than any words are, so the words'
    scale would call every row a perfect match.

    Words that name a kind of thing the classifier knows (``kind``: "dog", the 118 breeds under it)
    also rank pictures by how much of what they show is of that kind, and bring in the pictures that
    keep its names.
    """
    rows_by_id: dict[str, dict[str, Any]] = {}
    found = store.search_vectors(sem, limit=k, where=where)
    saturated = len(found) >= k
    rows_by_id.update((r["id"], r) for r in found)
    perc_scores: dict[str, float] = {}
    if example is not None and example.perceptual is not None and where.modality in (None, example.modality, "video"):
        track = "picture" if example.modality == "image" else "sound"
        pwhere = replace(where, only_perceptual=True, track=track)  # every filter of the words' search too
        for r in store.search_vectors(example.perceptual, column="perceptual", limit=k, where=pwhere):
            if not np.isfinite(r["_score"]) or not np.any(r["perceptual"]):
                continue  # rows without a perceptual vector of their own (speech)
            rows_by_id.setdefault(r["id"], r)
            perc_scores[r["id"]] = r["_score"]
    kw_scores: dict[str, float] = {}
    if text:
        rows = store.search_keywords(text, limit=k, where=where)
        saturated = saturated or len(rows) >= k
        top = max((r["_score"] for r in rows), default=0.0)
        for r in rows:
            rows_by_id.setdefault(r["id"], r)
            kw_scores[r["id"]] = r["_score"] / top if top > 0 else 0.0
    shares = kind_shares(kind, found)  # empty without a kind
    if kind is not None and sum(x >= KIND_FOUND for x in shares.values()) < k // 2:
        # few of the nearest rows are of the kind: the rows keeping its names (5-10 ms on 100k rows)
        for r in store.search_keywords(kind.terms, limit=k, where=where):
            rows_by_id.setdefault(r["id"], r)
    rows = list(rows_by_id.values())
    shares.update(kind_shares(kind, [r for r in rows if r["id"] not in shares]))
    if not rows:
        return [], saturated
    vectors = np.stack([np.asarray(r["vector"], dtype=np.float32) for r in rows])
    sounds = [i for i, r in enumerate(rows) if _track(r) == "sound"] if tag_matcher is not None else []
    heard = [json.loads(rows[i].get("objects") or "[]") for i in sounds]
    w = 0.0 if example is None else 1.0 if qvec is None else min(max(like_weight, 0.0), 1.0)
    meaning = np.zeros(len(rows), dtype=np.float64)
    if text and qvec is not None:  # the words' vector: there are words whenever there is text
        # A kind the words name (models.hierarchy) moves each picture's cosine by what it adds over
        # chance; and a picture that is mostly of that kind matches at least that much: "an animal" is
        # far from the name "Egyptian cat", and the cat photo (97% animal) scored 0.45.
        share = np.array([shares.get(r["id"], 0.0) for r in rows])
        shift = np.array([kind.shift(shares[r["id"]]) if r["id"] in shares else 0.0 for r in rows])  # type: ignore[union-attr]
        if away is not None and example is None:
            # Words steered away from words: each row scores on the words as written, cut by how much
            # closer it is to the avoided words than to them ("an animal" without "a dog" keeps the lion,
            # drops the dogs; the words pushed off the negative kept the dogs at 0.80).
            said = np.maximum(cal.scores((vectors @ qvec + shift)[:, None], qvec[None, :])[:, 0], share)
            said *= 1.0 - sigmoid(((vectors @ away) - (vectors @ qvec)) / NEGATIVE_TEMPERATURE)
        else:
            worded = qvec if away is None else l2_normalise(qvec - 0.5 * away)
            cos = vectors @ worded + shift
            said = np.maximum(cal.scores(cos[:, None], worded[None, :])[:, 0], share)  # background stats once per query
        if sounds:  # sounds: tag matching beats ConSE for words (offline_audio.TAG_TAU)
            # The words as written (a vector pushed off them names odd tags); the avoided words cut the
            # calibrated score by their own match, as for an example (:func:`_steered`).
            matched = cal.tag_score(tag_matcher.heard_scores(heard, qvec))
            if away is not None:
                matched = matched * (1.0 - cal.tag_score(tag_matcher.heard_scores(heard, away)))
            said[sounds] = matched
        tagged = [i for i, r in enumerate(rows) if _track(r) == "tags"]
        if tagged:  # a file's own words: a sentence against the words, on a sentence's scale too
            said[tagged] = np.minimum(said[tagged], cal.sentence_score(vectors[tagged] @ qvec))
        meaning += (1.0 - w) * said
    if example is not None:
        cos = vectors @ example.semantic
        if example.modality == "text":  # a note is words: the words' scale fits it
            shown = cal.scores(cos[:, None], example.semantic[None, :])[:, 0]
        else:
            shown = cal.example_score(cos)
        meaning += w * shown
    hits = [
        _score_row(r, float(m), cal, perc_scores, kw_scores, keyword_weight, words, w, shares.get(r["id"]), text)
        for r, m in zip(rows, meaning, strict=True)
    ]
    if not text and away is not None:
        hits = _steered(hits, rows, vectors, away, cal, sounds, heard, tag_matcher)
    return hits, saturated


def _steered(
    hits: list[Hit],
    rows: list[dict[str, Any]],
    vectors: np.ndarray,
    away: np.ndarray,
    cal: Calibrator,
    sounds: list[int],
    heard: list[Any],
    tag_matcher: Any,
) -> list[Hit]:
    """An example steered away from words: each hit's score is cut by how well it matches them.

    A hit that looks or sounds like the example still goes down when it is what the words name
    ("like dog.mp3, not dog barking"); the words' match is their calibrated score for that hit
    (tag matching for sounds).
    """
    avoided = cal.scores((vectors @ away)[:, None], away[None, :])[:, 0]
    if sounds:
        avoided[sounds] = cal.tag_score(tag_matcher.heard_scores(heard, away))
    out = []
    for hit, a in zip(hits, avoided, strict=True):
        why = f"{hit.why}; avoided {a:.2f}" if a >= 0.005 else hit.why
        out.append(replace(hit, score=hit.score * (1.0 - float(a)), why=why))
    return out


KIND_FOUND = 0.5  # a picture at least this much of the kind the words name counts as found by the vectors
KIND_SHOWN = 0.1  # a picture's share of the kind the words name is given as a reason from this much
LOOKS_BOOST = 0.5  # share of the weaker of meaning and looks that adds to the stronger (_score_row)
MOMENT_DROP = 0.15  # a moment extends over neighbouring windows scoring at most this much below its peak
# A file whose own words (tags) hold every word of the query (of three letters or more, but for those
# below) matches at least this: names the sentence encoder does not know ("Grace Hopper" met her
# photo's "File:Grace Hopper.jpg" comment at a meaning of 0.10) are what a file's tags are searched by.
TAGGED_ALL_WORDS = 0.75
PLACE_ELSEWHERE = 0.3  # a file whose position is in another country than the words name scores at most this
ELSEWHERE_WHY = "not where the words ask"
# ...the words of a query that name nothing of their own ("photos from Lisbon" asks for "Lisbon")
_ASKING = """the and from with for this that these those photo photos picture pictures image images video videos
clip clips recording recordings sound sounds file files taken shot made where when"""
ASKING_WORDS = frozenset(_ASKING.split())
# ...nor do these, once the days are read out of them ("show me all my photos from 2019")
_LISTING_WORDS = frozenset(("all", "any", "every", "some", "our", "show", "find", "give", "list", "me", "you", "them"))


CANDIDATES_STILL = 2  # rows asked of each index per hit wanted, in a library of stills and text...
CANDIDATES_TIMED = 5  # ...and where windows of recordings and videos merge into fewer moments


def picture_kind(lib: Library, text: str | None) -> Kind | None:
    """The kind of thing ``text`` names among what the offline image models see ("dogs"), if any."""
    enc = lib.image_encoder
    classes = getattr(enc, "class_ids", None)
    space = getattr(enc, "space", None)
    if not text or classes is None or space is None:
        return None
    return kind_of(text, classes, space.vocabulary.names)


def kind_shares(kind: Kind | None, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Each picture row's share of ``kind`` (its kept concepts under it, or a detected object of it)."""
    if kind is None:
        return {}
    return {
        r["id"]: kind.share(json.loads(r.get("concepts") or "[]"), json.loads(r.get("objects") or "[]"))
        for r in rows
        if _track(r) == "picture"
    }


def candidate_count(lib: Library, limit: int) -> int:
    """Rows to ask of each index for ``limit`` hits; the search widens it when moments come up short.

    Each row costs: the ANN index re-ranks ``refine_factor`` times as many full vectors, and every
    row is scored and explained. On 100k photos, 40 rows instead of 100 take 15 ms off a search.
    """
    timed = {"audio", "video"} & set(lib.manifest.get("encoders") or {})
    return max(limit * CANDIDATES_TIMED, 50) if timed else max(limit * CANDIDATES_STILL, 20)


def sound_lean(qvec: np.ndarray, image_encoder: Any, sound_encoder: Any) -> float | None:
    """How much the words name a sound rather than something seen, 0..1 (0.5: either or both).

    The nearest AudioSet tag against the nearest ImageNet concept or COCO object, in the text space:
    "applause" is 0.87 from a tag and 0.35 from a concept, "a castle" 0.25 and 0.74, "a dog" 0.95
    and 0.94. None when either encoder has no such names (hub models).
    """
    space = getattr(image_encoder, "space", None)
    tags = getattr(sound_encoder, "concepts", None)
    if space is None or tags is None:
        return None
    seen = max(float((space.concepts @ qvec).max()), float((space.objects.reshape(-1, qvec.shape[0]) @ qvec).max()))
    heard = float((tags @ qvec).max())
    return float(sigmoid((heard - seen) / LEAN_TAU))


def weigh_tracks(hits: list[Hit], lean: float, prior: float | None = None) -> list[Hit]:
    """Pictures cut by up to ``prior`` as words lean to a sound, sounds as they lean to a thing seen
    (nothing at an even lean), when both tracks are among ``hits``.

    Indexed together, the dev set's photos came before the right recordings for half the sound
    labels ("coughing": a water drop, stained glass); a library of one kind keeps its scores.
    """
    tracks = {h.track for h in hits}
    if not {"picture", "sound"} <= tracks:
        return hits
    prior = TRACK_PRIOR if prior is None else prior
    cut = {"picture": 1.0 - prior * max(0.0, 2.0 * lean - 1.0), "sound": 1.0 - prior * max(0.0, 1.0 - 2.0 * lean)}
    return [replace(h, score=h.score * cut[h.track]) if h.track in cut else h for h in hits]


def has_sound(lib: Library) -> bool:
    """Whether the library holds sound records (then the sound encoder is needed to score them)."""
    return "audio" in (lib.manifest.get("encoders") or {})


def merge_moments(hits: list[Hit], gap: float = 1.0, drop: float = MOMENT_DROP) -> list[Hit]:
    """Merge hits on nearby spans of one file and one track into moments.

    The best window of a file starts a moment, which grows over neighbouring windows (overlapping,
    or within ``gap`` seconds) that score at most ``drop`` below it; any other window overlapping
    the moment is absorbed into it. Then the next best remaining window starts the next moment.
    A moment's score and reasons are those of its peak. Pictures of a video never grow into the
    next shot (a shot is the unit a viewer means); pictures of one shot share its span and merge.
    Still images pass unchanged; a document's passages become one hit (:func:`best_passages`).
    """
    out = best_passages([h for h in hits if h.start is None or h.end is None])
    timed: dict[tuple[str, str], list[Hit]] = {}
    for h in hits:
        if h.start is not None and h.end is not None:
            timed.setdefault((h.path, h.track), []).append(h)
    for (_, track), group in timed.items():
        group.sort(key=lambda h: (h.start, h.end))
        left = set(range(len(group)))
        grow = track != "picture"
        for peak in sorted(left, key=lambda i: -group[i].score):
            if peak not in left:
                continue
            lo = hi = peak
            start, end = group[peak].start, group[peak].end
            floor = group[peak].score - drop
            while grow and lo - 1 in left and group[lo - 1].end >= start - gap and group[lo - 1].score >= floor:  # type: ignore[operator]
                lo -= 1
                start = min(start, group[lo].start)  # type: ignore[type-var]
            while grow and hi + 1 in left and group[hi + 1].start <= end + gap and group[hi + 1].score >= floor:  # type: ignore[operator]
                hi += 1
                end = max(end, group[hi].end)  # type: ignore[type-var]
            parts = [group[i] for i in range(lo, hi + 1)]
            left -= set(range(lo, hi + 1))
            absorbed = {i for i in left if group[i].start < end and group[i].end > start}  # type: ignore[operator]
            left -= absorbed
            out.append(_moment(parts, len(absorbed) if not grow else 0))
    return out


def join_touching(moments: list[Hit], gap: float = 1.0, drop: float = MOMENT_DROP) -> list[Hit]:
    """Moments of one file and one sound or speech track that touch (within ``gap`` seconds) and score
    alike (within ``drop``) become one.

    A moment stops growing at a weaker window; the next strong stretch then starts its own, and a
    24-s speech came back as three hits, 1-6, 7-18 and 19-24 s, for "a man speaking". A strong
    moment beside weak ones (a bark in the hiss of a walk) keeps its span. Shots (pictures) stay
    apart: a cut is where a viewer's moment ends.
    """
    out = [m for m in moments if m.start is None or m.end is None or m.track == "picture"]
    runs: dict[tuple[str, str], list[Hit]] = {}
    for m in moments:
        if m.start is not None and m.end is not None and m.track != "picture":
            runs.setdefault((m.path, m.track), []).append(m)
    for group in runs.values():
        group.sort(key=lambda h: (h.start, h.end))
        run = [group[0]]
        for m in group[1:]:
            scores = [h.score for h in (*run, m)]
            if m.start <= max(h.end for h in run) + gap and min(scores) >= max(scores) - drop:  # type: ignore[operator, type-var]
                run.append(m)
            else:
                out.append(_joined(run))
                run = [m]
        out.append(_joined(run))
    return out


def _joined(run: list[Hit]) -> Hit:
    if len(run) == 1:
        return run[0]
    best = max(run, key=lambda h: h.score)
    parts = sum(_parts(h) for h in run)
    why = re.sub(r"; \d+ parts$", "", best.why)
    start = min(h.start for h in run)  # type: ignore[type-var]
    end = max(h.end for h in run)  # type: ignore[type-var]
    return replace(best, start=start, end=end, why=f"{why}; {parts} parts")


def _parts(hit: Hit) -> int:
    found = re.search(r"; (\d+) parts$", hit.why)
    return int(found.group(1)) if found else 1


def best_passages(hits: list[Hit]) -> list[Hit]:
    """One hit per text document: its best passage, saying how many more matched.

    A long note is indexed as many passages; without this its near-identical chunks fill the
    results, as overlapping windows would for a recording.
    """
    best: dict[str, Hit] = {}
    count: dict[str, int] = {}
    out: list[Hit] = []
    for h in hits:
        if h.modality != "text":
            out.append(h)
            continue
        count[h.path] = count.get(h.path, 0) + 1
        if h.path not in best or h.score > best[h.path].score:
            best[h.path] = h
    for path, h in best.items():
        out.append(replace(h, why=f"{h.why}; {count[path]} passages") if count[path] > 1 else h)
    return out


def _moment(parts: list[Hit], same_span: int = 0) -> Hit:
    if len(parts) == 1 and not same_span:
        return parts[0]
    best = max(parts, key=lambda h: h.score)
    start = min(h.start for h in parts)  # type: ignore[type-var]
    end = max(h.end for h in parts)  # type: ignore[type-var]
    said = [h for h in parts if h is not best and "said:" in h.why]
    why = best.why + (f"; {said[0].why[said[0].why.index('said:') :]}" if said and "said:" not in best.why else "")
    count = len(parts) + same_span
    return replace(best, start=start, end=end, why=f"{why}; {count} {'pictures' if same_span else 'parts'}")


SUPPORT_FLOOR = 0.5  # another track's moment adds to a video moment by how far it scores above this


def combine_tracks(moments: list[Hit]) -> list[Hit]:
    """One moment per stretch of a timed file, and one hit per photo, scored on what is seen, heard,
    said and tagged together.

    The best moment of a video or recording takes in the other tracks' moments that overlap it:
    each but the best adds ``(1 - score) * (its score - SUPPORT_FLOOR)``, and its reasons follow the peak's,
    named by track. The span stays the peak's (a shot, or where a sound or a phrase is). A file's
    tags (its title, a photo's caption) span all of it: they join the best moment of another track
    rather than lead, so that a hit keeps the place it was found at; alone, they are the hit.
    """
    out = [m for m in moments if m.modality == "text"]
    by_file: dict[str, list[Hit]] = {}
    for m in moments:
        if m.modality != "text":
            by_file.setdefault(m.path, []).append(m)
    for group in by_file.values():
        several = len(group) > 1  # (a list being sorted reads as empty to its key function)
        group.sort(key=lambda h: (h.track == "tags" and several, -h.score))
        taken: set[int] = set()
        for i, peak in enumerate(group):
            if i in taken:
                continue
            taken.add(i)
            support: dict[str, Hit] = {}
            for j, other in enumerate(group):
                if j in taken or other.track == peak.track or other.track in support:
                    continue
                if _overlap(peak, other):
                    support[other.track] = other
                    taken.add(j)
            if not support:
                out.append(peak)
                continue
            scores = sorted([peak.score, *(o.score for o in support.values())], reverse=True)
            score = scores[0]  # the peak's, unless tags that joined it score higher
            for s in scores[1:]:
                score += (1.0 - score) * max(0.0, s - SUPPORT_FLOOR)
            why = [f"{h.track}: {h.why}" for h in (peak, *support.values())]
            out.append(replace(peak, score=score, why=" | ".join(why)))
    return out


def _overlap(a: Hit, b: Hit) -> bool:
    """Whether two hits on one file cover the same time (a photo's, or a file's tags, cover all of it)."""
    if a.start is None or a.end is None or b.start is None or b.end is None:
        return True
    return b.start < a.end and b.end > a.start


def keep_to_named_places(store: Any, asked: PlacesAsked, hits: list[Hit], words: set[str]) -> list[Hit]:
    """Where the words ask for places (``asked``: :func:`sensorium.media.places.places_asked`: a country,
    a continent's, a city's), the hits of files whose GPS position is in another country (that their
    own words do not name) score :data:`PLACE_ELSEWHERE` at most, whatever matched: "a beach in Spain"
    is not a beach in Portugal, nor "photos from Europe" a photo taken in Japan. Files that say nothing
    of where they were taken keep their score.

    Where the words (``words``, the query's) name nothing but the place, a file taken in one of its
    countries is what they ask for: its own words score :data:`TAGGED_ALL_WORDS` at least, as when they
    hold every word asked. "Europe" is far in meaning from "taken in Intendente, Lisbon, Portugal"
    (0.31), which holds every word of "photos from Portugal" but none of "photos from Europe".
    """
    from sensorium.ingest import record_id
    from sensorium.media.places import taken_in_country

    if not asked.countries:
        return hits
    ids = sorted({record_id(h.path, TAGS_INDEX) for h in hits if h.modality != "text"})
    said = {r["path"]: r.get("text") or "" for r in store.get_records(ids)} if ids else {}
    only_place = not (words - ASKING_WORDS - asked.words)
    countries = set(asked.countries)
    out = []
    for h in hits:
        country = _taken_elsewhere(countries, said[h.path]) if h.path in said else None
        if country is not None and h.score > PLACE_ELSEWHERE:
            h = replace(h, score=PLACE_ELSEWHERE, why=f"{h.why}; taken in {country.title()}, {ELSEWHERE_WHY}")
        elif only_place and h.track == "tags" and h.score < TAGGED_ALL_WORDS:
            here = taken_in_country(said.get(h.path, ""))
            if here in asked.countries:
                h = replace(h, score=TAGGED_ALL_WORDS, why=f"{h.why}; taken in {here.title()}, where the words ask")
        out.append(h)
    return out


def _taken_elsewhere(asked: set[str], words: str) -> str | None:
    """The country a file's words say it was taken in, where the query asks for others and not it.

    Places of one region are near in meaning: "photos from Spain" met "taken in São Mamede, Lisbon,
    Portugal" at 0.51, over the default floor, and "photos taken in Italy" at 0.50.
    """
    from sensorium.media.places import countries_named, taken_in_country

    country = taken_in_country(words)
    if country is None or country in asked or countries_named(words) & asked:
        return None
    return country


def _track(row: dict[str, Any]) -> str:
    return track_of(row["modality"], int(row.get("seg_index") or 0))


def _combine(qvec: np.ndarray | None, evec: np.ndarray | None, like_weight: float) -> np.ndarray:
    if qvec is None:
        return evec  # type: ignore[return-value]
    if evec is None:
        return qvec
    w = min(max(like_weight, 0.0), 1.0)
    return l2_normalise((1 - w) * qvec + w * evec)


def _score_row(
    row: dict[str, Any],
    score: float,
    cal: Calibrator,
    perc: dict[str, float],
    kw: dict[str, float],
    keyword_weight: float,
    words: set[str],
    like_share: float = 1.0,
    kind_share: float | None = None,
    text: str | None = None,
) -> Hit:
    """One row as a hit; looking like the example counts by ``like_share`` (``like_weight`` beside words).

    Meaning and looks combine as the stronger of the two, raised by half the weaker's share of
    what is left: with meaning alone near 0.95 for every photo of the same kind of scene, a frame
    of the very shot (looks alike 0.72) ranked below shots that merely share its concepts (0.25).
    Two weak signals stay weak (0.3 and 0.3 give 0.41, under the default floor).
    """
    track = _track(row)
    parts = [f"meaning {score:.2f}"]
    if kind_share is not None and kind_share >= KIND_SHOWN:
        parts.append(f"seen as {text} {kind_share:.2f}")
    if row["id"] in perc and like_share > 0:
        p = like_share * cal.perceptual_score(perc[row["id"]])
        parts.append(f"looks alike {p / like_share:.2f}")
        high, low = max(score, p), min(score, p)
        score = high + LOOKS_BOOST * low * (1.0 - high)
    if kw.get(row["id"], 0.0) > 0 and track != "sound":
        # A sound's keywords are its tag names, which tag matching has already read for meaning:
        # "cats" in "roaring cats (lions, tigers)" lifted a forest walk (meaning 0.14) over a cat's meow.
        k = kw[row["id"]]
        parts.append(f"keywords {k:.2f}")
        score = score + keyword_weight * k * (1.0 - score)
    named = words - ASKING_WORDS
    if track == "tags" and named and named <= set(re.findall(r"\w+", (row.get("text") or "").lower())):
        parts.append("every word tagged")
        score = max(score, TAGGED_ALL_WORDS)
    facts = {
        "concepts": json.loads(row.get("concepts") or "[]"),
        "objects": json.loads(row.get("objects") or "[]"),
        "ocr_text": row.get("ocr_text") or "",
    }
    page = PAGE_MARK.match(row.get("text") or "") if track == "text" else None
    return Hit(
        path=row["path"],
        score=score,
        modality=row["modality"],
        start=row.get("start"),
        end=row.get("end"),
        why=_why(row, words, parts, track, facts),
        id=row["id"],
        track=track,
        facts=facts,
        page=int(page.group(1)) if page else None,
        taken=row.get("taken"),
    )
