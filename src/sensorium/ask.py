"""Closed questions about a file, answered from what the offline models read off it.

``sensorium ask "is there a dog?" walk.wav photo.jpg`` answers each file. Four kinds of question:

- **yes or no** ("is there a dog?", "does it show a bridge?", "can you hear rain?", "is this a
  cat?"): what is asked about is scored as a label of its own, calibrated as multi-label
  ``classify`` scores it, in every track of the file (picture, sound, speech); "yes" from
  :data:`YES`, "no" below :data:`NO`, "not sure" between. An indexed recording or video also says
  when: its best moment for the words.
- **how many** ("how many people?", "how many faces?"): the detector's boxes of that COCO object
  (or the face detector's faces) in a picture, or in the picture of a video that shows the most of
  them (with when).
- **what it says** ("what does it say?", "what is written on it?"): the text OCR reads in a picture
  or document page, or the speech transcribed in a recording or video.
- **what it shows** ("what is this?", "what can you hear?"): the description's alt-text, or a
  recording's or video's most likely sounds and sights.

Anything else is a clear error naming the kinds it can answer. Questions are read in English; a
yes-or-no question in another language is scored whole, as a label (the multilingual text encoder
places it).
"""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensorium.errors import MediaError, QueryError, SensoriumError
from sensorium.models.faces import FACE

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)

YES = 0.65  # calibrated score from which the answer is "yes"
NO = 0.35  # ...and under which it is "no"
COUNT_MIN = 0.5  # a detection counted (the score at which `describe` names an object)
COCO_MATCH = 0.75  # cosine between the words asked about and a COCO name for counting to use it

_WORDS = r"(?:it|this|that|these|those|the (?:photo|picture|image|recording|video|clip|file|sound|page|document))"
_VERBS = r"(?:show|contain|have|include|feature|depict|hold|see|hear|sound like|look like)s?"
_LEADS = (  # what only asks, removed to leave what is asked about
    r"^(?:is|are|was|were) there(?: any| some)?\s+",
    rf"^(?:does|do|did|can|could|will|would) {_WORDS}\s+{_VERBS}\s+(?:any |some )?",
    r"^(?:can|could|do|did) (?:you|we|i|one) (?:see|hear|spot|find|notice)\s+(?:any |some )?",
    rf"^(?:is|are|was|were) {_WORDS}\s+(?:(?:a|an) (?:photo|picture|image|recording|video|clip) of |the sound of )?",
    rf"^(?:has|have) {_WORDS}\s+(?:got\s+)?",
)
_AUXILIARY = re.compile(r"^(?:is|are|was|were|does|do|did|can|could|has|have|will|would)\s+")
_HOW_MANY = re.compile(
    rf"^how many (.+?)(?: (?:are|is) (?:there|in {_WORDS}|visible)| (?:can|do) you see| in {_WORDS})*$"
)
_SAYS = re.compile(
    rf"^(?:what (?:does|do|did) {_WORDS} (?:say|read)|what(?:'s| is| was) (?:written|said|spoken)"
    rf"|what (?:text|words)|read {_WORDS}|transcribe)"
)
_SHOWS = re.compile(
    rf"^(?:what(?:'s| is| are) (?:this|it|that|in {_WORDS}|on {_WORDS})|what (?:does|do) {_WORDS} (?:show|hold|contain)"
    rf"|what can (?:you|i|we) (?:see|hear)|describe)"
)
_FACES = {"face", "faces", "human faces", "people's faces"}
_PEOPLE = {"people", "persons", "men", "women", "children", "kids", "humans", "faces", "adults", "players"}


@dataclass(frozen=True)
class Answer:
    """One file's answer: ``answer`` is "yes", "no" or "not sure", a count, or a text."""

    path: str
    question: str
    kind: str  # "yes/no", "count", "says" or "shows"
    answer: str | int | None
    about: str = ""  # the words the question asks about (yes/no, count)
    score: float | None = None  # calibrated, 0..1 (yes/no; a count's least sure box)
    when: tuple[float, float] | None = None  # a recording's or video's best moment for ``about``
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable ``ask --json`` schema."""
        return {
            "path": self.path,
            "question": self.question,
            "kind": self.kind,
            "answer": self.answer,
            "about": self.about,
            "score": None if self.score is None else round(self.score, 4),
            "when": None if self.when is None else {"start": round(self.when[0], 3), "end": round(self.when[1], 3)},
            "error": self.error,
        }


def parse(question: str) -> tuple[str, str]:
    """The kind of ``question`` and what it asks about ("yes/no", "a dog").

    Raises:
        QueryError: empty, or a question none of the four kinds answers.
    """
    q = " ".join(question.strip().lower().replace("’", "'").split()).rstrip("?!. ")
    if not q:
        raise QueryError("empty question; ask e.g. 'is there a dog?' or 'how many people?'")
    if m := _HOW_MANY.match(q):
        return "count", m.group(1).strip()
    if _SAYS.match(q):
        return "says", ""
    if _SHOWS.match(q):
        return "shows", ""
    if _AUXILIARY.match(q):
        about = q
        for lead in _LEADS:
            about = re.sub(lead, "", about, count=1)
            if about != q:
                break
        else:
            about = _AUXILIARY.sub("", q, count=1)
        about = re.sub(r"^(?:anyone|anybody|somebody|he|she|they)\b", "someone", about).strip()
        if about in ("", "there", "it", "this", "that", "anything", "something"):
            raise QueryError(f"{question!r}: asks about nothing; name a thing, e.g. 'is there a dog?'")
        return "yes/no", about
    if q.split()[0] in {"what", "who", "where", "when", "why", "which", "how"}:
        raise QueryError(
            f"{question!r}: cannot answer that; ask a closed question: 'is there a dog?', 'does it show "
            "a bridge?', 'how many people?', 'what does it say?' or 'what is this?'"
        )
    return "yes/no", q  # another language, or a bare phrase ("a dog barking"): scored whole


def ask(lib: Library, paths: list[Path], question: str) -> list[Answer]:
    """Answer ``question`` about each file (indexed or not); a file that cannot be read gets ``error``."""
    kind, about = parse(question)
    if kind == "yes/no":
        return _yes_no(lib, paths, question, about)
    answers = []
    for path in paths:
        try:
            if kind == "count":
                answers.append(_count(lib, path, question, about))
            else:
                answers.append(_described(lib, path, question, kind))
        except QueryError as exc:
            answers.append(Answer(str(path), question, kind, None, about, error=_reason(exc, path)))
    return answers


def _yes_no(lib: Library, paths: list[Path], question: str, about: str) -> list[Answer]:
    """One classification for every file (the words embedded once), then each answer and its moment."""
    from sensorium.zero_shot import classify_files

    indexed = {p for p, row in lib.store().files().items() if row.get("status") == "done"} if lib.exists else set()
    answers = []
    for path, result in zip(paths, classify_files(lib, paths, [about], multi_label=True, threshold=0.0), strict=True):
        if result.error:
            error = result.error.removeprefix(f"{path}: ")  # said once: the line names the file
            answers.append(Answer(str(path), question, "yes/no", None, about, error=error))
            continue
        score = float(result.labels[0].score) if result.labels else 0.0
        answer = "yes" if score >= YES else "no" if score < NO else "not sure"
        where = str(path.resolve())
        when = _when(lib, path, where, about) if answer != "no" and where in indexed else None
        answers.append(Answer(str(path), question, "yes/no", answer, about, score, when))
    return answers


def _when(lib: Library, path: Path, where: str, about: str) -> tuple[float, float] | None:
    """The best moment for ``about`` in the indexed file ``where``; None for a picture."""
    try:
        hits = lib.search(about, path_glob=glob.escape(where), limit=1, min_score=0.0)
    except SensoriumError as exc:  # the answer stands without its moment
        log.warning("%s: no moment for %r: %s", path, about, exc)
        return None
    if not hits or hits[0].start is None or hits[0].end is None:
        return None
    return float(hits[0].start), float(hits[0].end)


def _count(lib: Library, path: Path, question: str, about: str) -> Answer:
    from sensorium.media.image import image_segments

    detector = getattr(lib.image_encoder, "detector", None)
    if detector is None:
        raise QueryError("counting needs the object detector; it is turned off in this library's settings")
    if getattr(lib.image_encoder, "faces", None) is not None and _article_less(about) in _FACES:
        # the faces found beside a person, as indexing finds them: the 320-pixel model takes a cat's for one
        label, detect = FACE, lib.image_encoder.find_faces
    else:
        label, detect = _coco_label(lib, about, detector.labels), detector.detect
    if _is_video(path):
        return _count_in_video(lib, path, question, label, detect)
    try:
        [segment] = image_segments(path, max_pixels=lib.settings.max_image_pixels, max_side=lib.image_encoder.max_side)
    except MediaError as exc:  # not a picture, or one that does not open
        raise QueryError(f"{path}: {exc.reason}; counting works on a picture or a video that opens") from None
    found = [d for d in detect([segment.payload])[0] if d.label == label and d.score >= COUNT_MIN]
    least = min((d.score for d in found), default=None)
    return Answer(str(path), question, "count", len(found), label, least)


def _article_less(words: str) -> str:
    return re.sub(r"^(?:the|a|an|any|some)\s+", "", words.strip())


def _count_in_video(lib: Library, path: Path, question: str, label: str, detect: Callable[[list], list]) -> Answer:
    """The most of ``label`` seen at once in any of a video's pictures, and when (that shot's span)."""
    from sensorium.models.offline_video import OfflineVideoEncoder

    best: tuple[int, float, float, float | None] = (0, 0.0, 0.0, None)  # count, start, end, least score
    try:
        for start, end, picture in OfflineVideoEncoder(lib.settings, lib.image_encoder, None).pictures(path):
            found = [d for d in detect([picture])[0] if d.label == label and d.score >= COUNT_MIN]
            if len(found) > best[0]:
                best = (len(found), start, end, min(d.score for d in found))
    except MediaError as exc:
        raise QueryError(f"{path}: {exc.reason}; counting works on a picture or a video that opens") from None
    count, start, end, least = best
    return Answer(str(path), question, "count", count, label, least, (start, end) if count else None)


def _is_video(path: Path) -> bool:
    from sensorium.media.probe import probe
    from sensorium.media.video import video_or_sound

    try:
        return probe(path) == "video" and video_or_sound(path) == "video"
    except MediaError:
        return False


def _coco_label(lib: Library, about: str, labels: tuple[str, ...] | list[str]) -> str:
    """The COCO object the words name ("people" → person, "cars" → car), or an error naming what can be counted."""
    words = _article_less(about)
    if words in _PEOPLE or words.split()[-1] in _PEOPLE:
        return "person"
    for form in (words, words.removesuffix("es"), words.removesuffix("s"), re.sub(r"ies$", "y", words)):
        if form in labels:
            return form
    import numpy as np

    vecs = lib.text_encoder.encode_text([words, *labels], query=True)
    sims = vecs[1:] @ vecs[0]
    best = int(np.argmax(sims))
    if sims[best] >= COCO_MATCH:
        return labels[best]
    raise QueryError(
        f"cannot count {words!r}: the detector knows the 80 COCO objects (person, car, dog, cup, chair...); "
        "ask 'is there ...?' instead"
    )


def _described(lib: Library, path: Path, question: str, kind: str) -> Answer:
    from sensorium.timeline import describe_file

    if not path.is_file():
        raise QueryError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    if _is_document(path):  # a note or document: what it says is its text; what it shows, its start
        text = " ".join(" ".join(str(s.payload) for s in lib.note_segments(path)).split())
        return Answer(str(path), question, kind, text if kind == "says" else text[:200])
    desc = describe_file(lib, path)
    if kind == "says":
        if desc.alt_text or not desc.events:  # a picture: the text OCR read
            return Answer(str(path), question, kind, desc.text)
        said = [e.text for e in desc.events if e.kind == "speech"]
        return Answer(str(path), question, kind, " ".join(said))
    if desc.alt_text:
        return Answer(str(path), question, kind, desc.alt_text)
    return Answer(str(path), question, kind, ", ".join(t for t, _ in desc.tags[:5]))


def plural(count: int, noun: str) -> str:
    """'1 person', '3 people', '2 buses', '0 cups': how a count is said."""
    if count == 1:
        return f"{count} {noun}"
    if noun == "person":
        return f"{count} people"
    if noun.endswith(("s", "x", "ch", "sh")):
        return f"{count} {noun}es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}s"


def _is_document(path: Path) -> bool:
    from sensorium.media.probe import probe

    try:
        return probe(path) == "text"
    except MediaError:
        return False


def _reason(exc: QueryError, path: Path) -> str:
    text = str(exc)
    return text.removeprefix(f"{path}: ")
