"""Describe a recording (`sensorium describe`): a timeline of sound events and speech, as JSON, SRT or WebVTT.

Sound events are the specific AudioSet tags a window hears with at least ``min_score``,
merged over consecutive windows ("[dog] 3.0 → 7.0"); broad parent classes ("Animal") and
speech itself (the transcript says more) are left out. Captions follow the habits of
subtitles for deaf and hard-of-hearing viewers: non-speech sounds in square brackets, speech
as lines of at most 42 characters, two lines per cue.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.errors import MediaError, QueryError
from sensorium.media.probe import probe

if TYPE_CHECKING:
    from sensorium.library import Library

DEFAULT_MIN_SCORE = 0.3
LINE_CHARS = 42
# Tags that a caption should not repeat: the transcript covers speech, silence needs no caption.
NOT_CAPTIONED = frozenset(
    {
        "speech",
        "male speech, man speaking",
        "female speech, woman speaking",
        "child speech, kid speaking",
        "conversation",
        "narration, monologue",
        "speech synthesizer",
        "silence",
    }
)


@dataclass(frozen=True)
class Event:
    """One thing heard: ``kind`` is ``sound`` (a tag) or ``speech`` (an utterance)."""

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
    """What a file holds, over time. ``tags`` are the whole file's most likely sounds."""

    path: str
    duration: float
    tags: list[tuple[str, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The stable ``describe --json`` schema."""
        return {
            "path": self.path,
            "duration": round(self.duration, 3),
            "tags": [{"label": t, "score": round(s, 4)} for t, s in self.tags],
            "events": [e.to_json() for e in self.events],
        }


def describe_file(
    lib: Library, path: Path, *, min_score: float = DEFAULT_MIN_SCORE, speech: bool = True
) -> Description:
    """The timeline of one recording (it need not be indexed).

    Raises:
        QueryError: the file is not a sound recording or cannot be decoded.
    """
    try:
        modality = probe(path)
    except MediaError as exc:
        raise QueryError(f"{path}: {exc.reason}") from exc
    except OSError as exc:
        raise QueryError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if modality != "audio":
        raise QueryError(f"{path}: describe reads sound recordings; this is {modality}")
    enc = lib.audio_encoder
    windows: list = []
    utterances: list = []
    try:
        enc.read(path, windows.append, utterances.extend if speech else None)
    except MediaError as exc:
        raise QueryError(f"{path}: {exc.reason}") from exc
    if not windows:
        raise QueryError(f"{path}: no audio samples could be decoded")
    starts = np.concatenate([w.starts for w in windows])
    ends = np.concatenate([w.ends for w in windows])
    probs = np.concatenate([w.probs for w in windows])
    names = [enc.facts_name(i) for i in range(len(enc.names))]
    events = sound_events(starts, ends, probs, names, min_score=min_score)
    events += [Event(u.start, u.end, "speech", u.text.strip(), float(np.exp(u.avg_logprob))) for u in utterances]
    events.sort(key=lambda e: (e.start, e.kind != "sound", e.end))
    weights = np.maximum(ends - starts, 1e-3)[:, None]
    pooled = (probs * weights).sum(0) / weights.sum()
    order = np.argsort(-pooled)
    tags = [(names[i], float(pooled[i])) for i in order if names[i] is not None][:10]
    return Description(str(path), float(ends.max()), tags, events)


def sound_events(
    starts: np.ndarray, ends: np.ndarray, probs: np.ndarray, names: list[str | None], *, min_score: float
) -> list[Event]:
    """Tags at or above ``min_score``, each merged over the consecutive windows that hear it."""
    out: list[Event] = []
    order = np.argsort(starts, kind="stable")
    for c, name in enumerate(names):
        if name is None or name.lower() in NOT_CAPTIONED:
            continue
        on = probs[order, c] >= min_score
        if not on.any():
            continue
        run_start = None
        best = 0.0
        for j, idx in enumerate(order):
            if on[j]:
                if run_start is None:
                    run_start, best = starts[idx], 0.0
                best = max(best, float(probs[idx, c]))
                run_end = ends[idx]
            if run_start is not None and (not on[j] or j == len(order) - 1):
                out.append(Event(float(run_start), float(run_end), "sound", name, best))
                run_start = None
    return out


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(desc: Description) -> list[tuple[float, float, str]]:
    """Caption cues: co-timed sounds share one bracketed cue; speech is wrapped to two-line cues."""
    sounds: dict[tuple[float, float], list[str]] = {}
    for e in desc.events:
        if e.kind == "sound":
            sounds.setdefault((e.start, e.end), []).append(e.text.lower())
    cues = [(s, e, "[" + ", ".join(names) + "]") for (s, e), names in sounds.items()]
    for e in desc.events:
        if e.kind != "speech" or not e.text:
            continue
        lines = textwrap.wrap(e.text, LINE_CHARS) or [e.text]
        chunks = [lines[i : i + 2] for i in range(0, len(lines), 2)]
        span = (e.end - e.start) / len(chunks)
        for i, chunk in enumerate(chunks):
            cues.append((e.start + i * span, e.start + (i + 1) * span, "\n".join(chunk)))
    cues.sort(key=lambda c: (c[0], c[1]))
    return [(s, max(e, s + 0.001), t) for s, e, t in cues]


def to_srt(desc: Description) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each."""
    blocks = [
        f"{i}\n{_timestamp(s, ',')} --> {_timestamp(e, ',')}\n{text}\n" for i, (s, e, text) in enumerate(_cues(desc), 1)
    ]
    return "\n".join(blocks)


def to_vtt(desc: Description) -> str:
    """WebVTT: the ``WEBVTT`` header, then cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``."""
    blocks = ["WEBVTT\n"]
    blocks += [f"{_timestamp(s, '.')} --> {_timestamp(e, '.')}\n{_vtt_escape(text)}\n" for s, e, text in _cues(desc)]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
