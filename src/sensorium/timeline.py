"""Describe a recording or video (`sensorium describe`): a timeline of shots, sound events and speech.

(A picture has no timeline: :mod:`sensorium.pictures` describes it in tags and alt-text.)

Output as JSON, SRT or WebVTT. A video's shots are described by what their pictures show
(objects and concepts, in parentheses in captions).

Sound events are the specific AudioSet tags a window hears with at least ``min_score``,
merged over consecutive windows ("[dog] 3.0 → 7.0"); broad parent classes ("Animal") and
speech itself (the transcript says more) are left out, and background noise (hiss, hum,
static) needs twice the score. Captions follow the habits of subtitles for deaf and
hard-of-hearing viewers: non-speech sounds in square brackets, one cue per sound however many
tags name it ("[dog, bark, bow-wow]", not three overlapping cues), speech as lines of at most
42 characters, two lines per cue.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.errors import MediaError, QueryError
from sensorium.media.audio import has_audio_track
from sensorium.media.dates import format_date
from sensorium.media.probe import probe
from sensorium.media.tags import FileTags, picture_tags, with_sidecar
from sensorium.media.video import media_header, video_or_sound
from sensorium.types import DESCRIBE_MIN_SCORE

if TYPE_CHECKING:
    from sensorium.library import Library

DEFAULT_MIN_SCORE = DESCRIBE_MIN_SCORE
CACHE_FOLDER = "described"  # in the library: one JSON timeline per (content, models, options)
CACHE_KEEP = 256  # timelines kept; the least recently used go first
LINE_CHARS = 42
CUE_NAMES = 3  # tags named in one sound cue
SAME_SOUND_IOU = 0.5  # tags whose spans overlap this much are one sound, in one cue
# Tags that a caption should not repeat when speech is transcribed: the transcript says more.
SPEECH_TAGS = frozenset(
    {
        "speech",
        "male speech, man speaking",
        "female speech, woman speaking",
        "child speech, kid speaking",
        "conversation",
        "narration, monologue",
        "speech synthesizer",
    }
)
# Background that a caption names only when it stands out (twice ``min_score``): a quiet
# recording's hiss was "[white noise]" between every two sounds.
BACKGROUND_TAGS = frozenset(
    {
        "noise",
        "environmental noise",
        "static",
        "hum",
        "mains hum",
        "white noise",
        "pink noise",
        "wind noise (microphone)",
    }
)


@dataclass(frozen=True)
class Event:
    """One thing seen or heard: ``kind`` is ``shot`` (what a shot shows), ``sound`` (a tag) or ``speech``."""

    start: float
    end: float
    kind: str
    text: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "kind": self.kind,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass
class Description:
    """What a file holds, over time. ``tags`` are the whole file's most likely sounds and sights.

    A picture (:mod:`sensorium.pictures`) has no duration or events; it has an ``alt_text`` and the
    ``text`` OCR read in it.
    """

    path: str
    duration: float
    tags: list[tuple[str, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    alt_text: str = ""
    text: str = ""
    file_tags: str = ""  # the words the file carries about itself (media.tags): a caption, a title
    taken: float | None = None  # when the file says it was made (media.dates)

    def to_json(self) -> dict[str, Any]:
        """The stable ``describe --json`` schema (``alt_text`` and ``text`` for pictures only,
        ``file_tags`` for files that carry words of their own, ``taken`` for files that give their date)."""
        out: dict[str, Any] = {
            "path": self.path,
            "duration": round(self.duration, 3),
            "tags": [{"label": t, "score": round(s, 4)} for t, s in self.tags],
            "events": [e.to_json() for e in self.events],
        }
        if self.alt_text:
            out.update(alt_text=self.alt_text, text=self.text)
        if self.file_tags:
            out.update(file_tags=self.file_tags)
        if self.taken is not None:
            out.update(taken=format_date(self.taken))
        return out


_DESCRIBABLE = "give a recording, video or picture that opens"


def describe_file(
    lib: Library, path: Path, *, min_score: float = DEFAULT_MIN_SCORE, speech: bool = True
) -> Description:
    """The timeline of one recording or video (it need not be indexed).

    A video's timeline adds one ``shot`` event per shot (what its pictures show) to the
    sound events and speech of its sound track. Timelines are kept in the library (when there
    is one), keyed by the file's content, the models and the options: a two-hour recording took
    48 s each time it was described, and the web page's captions waited as long.

    A picture is described by what it shows, without a timeline (:func:`sensorium.pictures.describe_picture`).

    Raises:
        QueryError: the file is not a recording, video or picture, or cannot be decoded.
    """
    if _is_picture(path):
        from sensorium.pictures import describe_picture

        return _with_own(lib, path, describe_picture(lib, path), picture_tags(path))
    kept = _kept_path(lib, path, min_score, speech)
    desc = None
    if kept is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            desc = replace(_from_kept(json.loads(kept.read_text(encoding="utf-8"))), path=str(path))
            os.utime(kept)  # recently used: kept longest
    if desc is None:
        desc = _describe(lib, path, min_score=min_score, speech=speech)
        if kept is not None:
            _keep(kept, desc)
    return _with_own(lib, path, desc, media_header(path)[1])  # read afresh: a tag edit shows


def _with_own(lib: Library, path: Path, desc: Description, embedded: FileTags) -> Description:
    """``desc`` with what the file (and its XMP sidecar) says of itself: its words, its date."""
    own = with_sidecar(path, embedded)
    return replace(desc, file_tags=own.words if lib.settings.file_tags else "", taken=own.taken)


def _is_picture(path: Path) -> bool:
    try:
        return probe(path) == "image"
    except (MediaError, OSError):
        return False  # describing it says why


def _kept_path(lib: Library, path: Path, min_score: float, speech: bool) -> Path | None:
    """Where the timeline of ``path`` is kept, or None without a library or a readable file."""
    from sensorium import __version__
    from sensorium.ingest import content_hash

    if not lib.exists:
        return None
    try:
        st = path.stat()
        row = lib.store().files().get(os.path.abspath(path))
        if row and row.get("size") == st.st_size and row.get("mtime") == st.st_mtime and row.get("content_hash"):
            digest = row["content_hash"]  # indexed and unchanged: no need to read it all again
        else:
            digest = content_hash(path)
    except OSError:
        return None  # describing it says why
    models = [lib.version_key("audio"), lib.version_key("video"), lib.settings.speech, lib.settings.speech_language]
    key = json.dumps([digest, __version__, *models, round(min_score, 6), speech])
    name = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return lib.path / CACHE_FOLDER / _safe(digest) / f"{name}.json"


def _safe(digest: str) -> str:
    return "".join(c for c in str(digest) if c.isalnum())[:64] or "unknown"


def forget_kept(library: Path, gone: Iterable[str], known: Mapping[str, Mapping[str, Any]]) -> None:
    """Drop the kept timelines of files forgotten or pruned (``known``: the store's file rows, before).

    A timeline holds what was said in a recording: forgetting the file forgets it too, unless an
    identical copy is still indexed.
    """
    gone = set(gone)
    still = {row.get("content_hash") for path, row in known.items() if path not in gone}
    for path in gone:
        digest = (known.get(path) or {}).get("content_hash")
        if digest and digest not in still:
            shutil.rmtree(library / CACHE_FOLDER / _safe(digest), ignore_errors=True)


def _keep(kept: Path, desc: Description) -> None:
    """Write a timeline atomically, then drop the least recently used beyond :data:`CACHE_KEEP`."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(desc)), encoding="utf-8")
        os.replace(tmp, kept)
        old = sorted(kept.parent.parent.glob("*/*.json"), key=_mtime)[:-CACHE_KEEP]
        for p in old:
            p.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                p.parent.rmdir()  # its content's last timeline
    except OSError:
        pass  # a library on a read-only disk still describes, only not faster next time


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # dropped meanwhile by another process
        return 0.0


def _from_kept(data: dict[str, Any]) -> Description:
    return Description(
        path=data["path"],
        duration=float(data["duration"]),
        tags=[(str(t), float(s)) for t, s in data["tags"]],
        events=[Event(**e) for e in data["events"]],
    )


def _describe(lib: Library, path: Path, *, min_score: float, speech: bool) -> Description:
    try:
        modality = probe(path)
    except MediaError as exc:
        raise QueryError(f"{path}: {exc.reason}; {_DESCRIBABLE}") from exc
    except OSError as exc:
        raise QueryError(f"{path}: cannot read ({exc.strerror or exc}); check the path and its permissions") from exc
    if modality not in ("audio", "video"):
        kind = {"text": "a note or document"}.get(modality, f"a {modality} file")
        raise QueryError(f"{path}: it is {kind}, and describe reads recordings, videos and pictures; {_DESCRIBABLE}")
    events: list[Event] = []
    tags: list[tuple[str, float]] = []
    duration = 0.0
    try:
        if modality == "video":  # a corrupt video says why here, instead of describing nothing
            modality = video_or_sound(path)
        if modality == "video":
            shots, seen, duration = _pictures(lib, path, min_score=min_score / 3)
            events += shots
            tags += seen
        if modality == "audio" or has_audio_track(path):
            heard, sound_tags, sound_end = _sounds(lib, path, min_score=min_score, speech=speech)
            events += heard
            tags += sound_tags
            duration = max(duration, sound_end)
    except MediaError as exc:
        raise QueryError(f"{path}: {exc.reason}; {_DESCRIBABLE}") from exc
    events.sort(key=lambda e: (e.start, _KIND_ORDER.get(e.kind, 9), e.end))
    tags.sort(key=lambda t: -t[1])
    return Description(str(path), duration, tags[:10], events)


_KIND_ORDER = {"shot": 0, "sound": 1, "speech": 2}
SHOT_TAGS = 4  # things named per shot


def _sounds(lib: Library, path: Path, *, min_score: float, speech: bool) -> tuple[list[Event], list, float]:
    enc = lib.audio_encoder
    windows: list = []
    utterances: list = []
    enc.read(path, windows.append, utterances.extend if speech else None)
    if not windows:
        raise MediaError(str(path), "no audio samples could be decoded")
    starts = np.concatenate([w.starts for w in windows])
    ends = np.concatenate([w.ends for w in windows])
    probs = np.concatenate([w.probs for w in windows])
    names = [enc.facts_name(i) for i in range(len(enc.names))]
    captioned = [None if n is not None and speech and n.lower() in SPEECH_TAGS else n for n in names]
    events = sound_events(starts, ends, probs, captioned, min_score=min_score)
    events += [Event(u.start, u.end, "speech", u.text.strip(), float(np.exp(u.avg_logprob))) for u in utterances]
    weights = np.maximum(ends - starts, 1e-3)[:, None]
    pooled = (probs * weights).sum(0) / weights.sum()
    order = np.argsort(-pooled)
    tags = [(names[i], float(pooled[i])) for i in order if names[i] is not None][:10]
    return events, tags, float(ends.max())


def _pictures(lib: Library, path: Path, *, min_score: float) -> tuple[list[Event], list[tuple[str, float]], float]:
    """One ``shot`` event per shot: what its pictures show (the best name, and others above ``min_score``)."""
    from sensorium.models.offline_video import OfflineVideoEncoder

    encoder = OfflineVideoEncoder(lib.settings, lib.image_encoder, None)
    by_shot: dict[tuple[float, float], dict[str, float]] = {}

    def collect(segs: list, encoded) -> None:
        for seg, facts in zip(segs, encoded.facts, strict=True):
            names = by_shot.setdefault((seg.start_s, seg.end_s), {})
            for c in (*facts.objects, *facts.concepts):
                names[c.name] = max(names.get(c.name, 0.0), c.score)

    summary = encoder.encode_file(path, collect)
    events, overall = [], {}
    for (start, end), names in sorted(by_shot.items()):
        ranked = sorted(names.items(), key=lambda kv: -kv[1])
        top = ranked[:1] + [kv for kv in ranked[1:SHOT_TAGS] if kv[1] >= min_score]
        if top:
            events.append(Event(start, end, "shot", ", ".join(n for n, _ in top), top[0][1]))
        for n, score in names.items():
            overall[n] = overall.get(n, 0.0) + score * (end - start)
    length = max(summary.duration_s, 1e-3)
    tags = [(n, min(1.0, v / length)) for n, v in sorted(overall.items(), key=lambda kv: -kv[1])[:10]]
    return events, tags, summary.duration_s


def sound_events(
    starts: np.ndarray, ends: np.ndarray, probs: np.ndarray, names: list[str | None], *, min_score: float
) -> list[Event]:
    """Tags at or above ``min_score``, each merged over the consecutive windows that hear it.

    A window that misses the score between two that reach it does not split the event when
    their spans touch (2 s windows every 1 s: one window missed). ``None`` names are never
    events; background noise needs twice ``min_score``; silence is none.
    """
    out: list[Event] = []
    order = np.argsort(starts, kind="stable")
    for c, name in enumerate(names):
        if name is None or name.lower() == "silence":
            continue
        floor = 2 * min_score if name.lower() in BACKGROUND_TAGS else min_score
        on = probs[order, c] >= floor
        if not on.any():
            continue
        runs: list[list[float]] = []  # [start, end, best]
        for j, idx in enumerate(order):
            if not on[j]:
                continue
            p = float(probs[idx, c])
            if runs and starts[idx] <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], float(ends[idx]))
                runs[-1][2] = max(runs[-1][2], p)
            else:
                runs.append([float(starts[idx]), float(ends[idx]), p])
        out += [Event(s, e, "sound", name, best) for s, e, best in runs]
    return out


def same_sounds(events: list[Event]) -> list[tuple[float, float, list[str]]]:
    """Sound events grouped into one caption per sound: ``(start, end, names best first)``.

    The taggers name one sound several ways at once (Dog, Bark, Bow-wow), each tag with its own
    span; tags whose spans overlap by :data:`SAME_SOUND_IOU` or more are one sound, over the
    union of their spans. A sound that merely happens during another (thunder in rain) keeps
    its own cue. Names are the first words of each tag ("cattle, bovinae" → "cattle"), so the
    commas in a cue separate tags.
    """
    groups: list[tuple[float, float, list[str]]] = []
    for e in sorted((e for e in events if e.kind == "sound"), key=lambda e: -e.score):
        name = e.text.split(",")[0].strip().lower()
        for i, (s, t, names) in enumerate(groups):
            inter = min(t, e.end) - max(s, e.start)
            if inter > 0 and inter / (max(t, e.end) - min(s, e.start)) >= SAME_SOUND_IOU:
                if name not in names:
                    names.append(name)
                groups[i] = (min(s, e.start), max(t, e.end), names)
                break
        else:
            groups.append((e.start, e.end, [name]))
    return [(s, t, names[:CUE_NAMES]) for s, t, names in sorted(groups, key=lambda g: (g[0], g[1]))]


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(desc: Description) -> list[tuple[float, float, str, str]]:
    """Caption cues ``(start, end, text, kind)``: one bracketed cue per sound (:func:`same_sounds`),
    a shot's description in parentheses, speech wrapped to two-line cues."""
    if desc.alt_text:
        raise QueryError(
            f"{desc.path}: a picture has no timeline to caption; use --format json (its alt-text and tags)"
        )
    cues = [(s, e, "[" + ", ".join(names) + "]", "sound") for s, e, names in same_sounds(desc.events)]
    cues += [(e.start, e.end, f"({e.text})", "shot") for e in desc.events if e.kind == "shot"]
    for e in desc.events:
        if e.kind != "speech" or not e.text:
            continue
        lines = textwrap.wrap(e.text, LINE_CHARS) or [e.text]
        chunks = [lines[i : i + 2] for i in range(0, len(lines), 2)]
        span = (e.end - e.start) / len(chunks)
        for i, chunk in enumerate(chunks):
            cues.append((e.start + i * span, e.start + (i + 1) * span, "\n".join(chunk), "speech"))
    cues.sort(key=lambda c: (c[0], c[1]))
    return [(s, max(e, s + 0.001), t, k) for s, e, t, k in cues]


def to_srt(desc: Description) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each.

    SubRip has no escapes: an arrow in the text would read as a timing line, so it is shortened.
    """
    blocks = [
        f"{i}\n{_timestamp(s, ',')} --> {_timestamp(e, ',')}\n{text.replace('-->', '->')}\n"
        for i, (s, e, text, _) in enumerate(_cues(desc), 1)
    ]
    return "\n".join(blocks)


def to_vtt(desc: Description) -> str:
    """WebVTT: the ``WEBVTT`` header, then cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``.

    A shot's description is placed at the top of the picture (``line:0``), so that it does not
    stack with the speech and sound captions at the bottom while they overlap in time.
    """
    blocks = ["WEBVTT\n"]
    blocks += [
        f"{_timestamp(s, '.')} --> {_timestamp(e, '.')}{' line:0' if kind == 'shot' else ''}\n{_vtt_escape(text)}\n"
        for s, e, text, kind in _cues(desc)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
