"""Plain data passed between the stages: segments in, hits out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sensorium.media.dates import format_date

Modality = Literal["image", "video", "audio", "text"]
MODALITIES: tuple[str, ...] = ("image", "video", "audio", "text")
MAX_LIMIT = 100_000  # hits one search may ask for (the store takes a machine int)
# Defaults shared by the CLI, the Python API (Library) and the functions behind them.
LIKE_WEIGHT = 0.5  # share of an example beside words in a search
KEYWORD_WEIGHT = 0.3  # how much a keyword match raises a search hit
CLASSIFY_MARGIN = 0.05  # single-label classify abstains when the best two are closer than this
DESCRIBE_MIN_SCORE = 0.3  # sound events at least this likely go into a description

# Records of one timed file share its modality; which track made them shows in the segment index.
SPEECH_INDEX_BASE = 1_000_000  # utterances of a sound or video file
PICTURES_MARK = "+pictures:"  # joins a PDF's text model key and the image model key of its photos
SOUND_INDEX_BASE = 2_000_000  # sound windows of a video file (a sound file's windows count from 0)
TAGS_INDEX = 3_000_000  # the one record of the words a photo, recording or video carries (media.tags)
Track = Literal["picture", "sound", "speech", "text", "tags"]


def track_of(modality: str, seg_index: int) -> Track:
    """What a record holds: a picture (photo, video shot), a sound window, speech, text, or the file's tags."""
    if seg_index >= TAGS_INDEX:
        return "tags"
    if modality == "text":
        return "text"
    if modality == "image":
        return "picture"
    if SPEECH_INDEX_BASE <= seg_index < SOUND_INDEX_BASE:
        return "speech"
    if modality == "audio" or seg_index >= SOUND_INDEX_BASE:
        return "sound"
    return "picture"


@dataclass(frozen=True)
class Segment:
    """One piece of a source that gets its own vectors.

    ``start_s``/``end_s`` are seconds for timed media, or ``None`` for still images;
    for text chunks they stay ``None`` and ``index`` orders the chunks.
    ``payload`` is what the encoder reads: a PIL image (RGB) or a string.
    """

    source: str
    modality: str
    index: int
    payload: Any
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class Concept:
    """A named thing an encoder saw, with its probability."""

    name: str
    score: float


@dataclass(frozen=True)
class Facts:
    """Text an encoder read off a segment: explains hits and feeds keyword search."""

    concepts: tuple[Concept, ...] = ()
    objects: tuple[Concept, ...] = ()
    heard: tuple[Concept, ...] = ()  # a sound's likely tags by their raw names (tag matching); not keywords
    ocr_text: str = ""
    text: str = ""

    def keywords(self) -> str:
        """All facts as one string for the full-text index."""
        parts = [c.name for c in self.concepts] + [o.name for o in self.objects]
        return " ".join(p for p in [" ".join(parts), self.ocr_text, self.text] if p)


@dataclass(frozen=True)
class Hit:
    """One search result. ``start``/``end`` are seconds, ``None`` for still images."""

    path: str
    score: float
    modality: str
    start: float | None = None
    end: float | None = None
    why: str = ""
    id: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    track: str = ""  # what matched: "picture", "sound", "speech" or "text" (see track_of)
    thumbnail: str | None = None  # a video hit's picture (JPEG in the library), else None
    space: str = ""  # the vector space that answered (the library's own, or a hub model's: "clip", "clap")
    copies: tuple[str, ...] = ()  # other files identical to this one in what was matched (query.fold_copies)
    page: int | None = None  # a PDF's passage: the page it is on (from 1)
    taken: float | None = None  # when its file says it was made: wall-clock seconds (sensorium.media.dates)

    def to_json(self) -> dict[str, Any]:
        """The stable ``search --json`` schema."""
        return {
            "path": self.path,
            "start": None if self.start is None else round(float(self.start), 3),  # ms: 14.505, not 14.504999999999999
            "end": None if self.end is None else round(float(self.end), 3),
            "score": round(float(self.score), 4),
            "modality": self.modality,
            "why": self.why,
            "thumbnail": self.thumbnail,
            "space": self.space,
            "copies": list(self.copies),
            "page": self.page,
            "taken": format_date(self.taken),
        }


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Classification:
    """Labels for one file, best first. ``abstained`` when the top two are too close."""

    path: str
    labels: tuple[LabelScore, ...]
    abstained: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable ``classify --json`` schema."""
        out: dict[str, Any] = {
            "path": self.path,
            "labels": [{"label": x.label, "score": round(float(x.score), 4)} for x in self.labels],
            "abstained": self.abstained,
        }
        if self.error:
            out["error"] = self.error
        return out
