"""What a picture shows, in words (`sensorium describe photo.jpg`): tags and one line of alt-text.

A picture has no timeline: its description is what the offline image models read off it, named
at three levels (:mod:`sensorium.models.hierarchy`): the ImageNet concept ("Egyptian cat"), the
everyday kinds it belongs to with at least :data:`KIND_MIN` of the probability ("cat",
"animal"; the detector's person counts for "person"), and the COCO objects found in it; plus the
text OCR reads. The alt-text is one sentence made from these ("A picture of an Egyptian cat (a
cat)."), hedged where the classifier is unsure ("may show"), as a screen reader would read it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from sensorium.errors import MediaError, QueryError
from sensorium.media.image import image_segments
from sensorium.models.faces import FACE
from sensorium.models.hierarchy import Kind
from sensorium.timeline import Description
from sensorium.types import Segment

if TYPE_CHECKING:
    from sensorium.library import Library

# Kinds a describer names: everyday words, from broad to narrow (WordNet's abstract levels, such
# as "container" or "covering", are left out: a car is a container there).
EVERYDAY_KINDS = (
    "animal", "mammal", "bird", "fish", "insect", "reptile", "amphibian", "dog", "cat", "monkey", "snake",
    "spider", "person", "vehicle", "car", "truck", "boat", "aircraft", "bicycle", "train", "food", "fruit",
    "vegetable", "dish", "beverage", "musical instrument", "tool", "furniture", "clothing", "footwear",
    "headdress", "building", "bridge", "shop", "plant", "flower", "fungus", "toy", "sports equipment", "ball",
    "weapon", "electronic equipment", "computer", "telephone", "appliance", "kitchen utensil", "bag", "timepiece",
    "geological formation",
)  # fmt: skip
WORN = frozenset({"clothing", "footwear", "headdress"})  # with a person seen, what they wear, not the subject
MASS_NOUNS = frozenset({"clothing", "food", "furniture", "footwear", "sports equipment", "electronic equipment"})
KIND_MIN = 0.5  # a kind is named when at least this much of the picture is of it
SURE = 0.4  # the best concept is named plainly from this probability; below it, the picture "may show" it...
MAYBE = 0.15  # ...down to this: a leatherback turtle at 0.12 in a portrait is not worth a listener's time
OBJECT_MIN = 0.5  # detected objects named in tags and alt-text
TAGS = 10
PAGE_WORDS = 8  # OCR text of this many words is what a picture shows, unless a concept is VERY_SURE
VERY_SURE = 0.8
TEXT_CHARS = 80  # OCR text quoted in the alt-text
PORTRAIT_FACE = 0.03  # a face covering this share of the picture makes it a portrait (the astronaut's: 0.038)


def describe_picture(lib: Library, path: Path) -> Description:
    """Tags (concepts, kinds, objects, best first), the OCR text and an alt-text for one picture.

    Raises:
        QueryError: the picture cannot be decoded.
    """
    try:
        segs = image_segments(
            path, max_pixels=lib.settings.max_image_pixels, max_side=getattr(lib.image_encoder, "max_side", 512)
        )
    except MediaError as exc:
        raise QueryError(f"{path}: {exc.reason}; give a picture that opens") from exc
    return describe_segment(lib, segs[0], str(path))


def picture_caption(lib: Library) -> Callable[[Image.Image], str]:
    """Words for a picture inside a document, indexed as its page's text: the alt-text and the tags.

    The tags carry what the alt-text leaves out (a rocket the classifier half calls a drilling
    platform is also "missile, space shuttle"), so that a search finds the page by them.
    """
    side = getattr(lib.image_encoder, "max_side", 512)

    def caption(image: Image.Image) -> str:
        image = image.convert("RGB")
        if max(image.size) > side:
            image.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        desc = describe_segment(lib, Segment(source="", modality="image", index=0, payload=image), "")
        tags = ", ".join(t for t, _ in desc.tags[:6])
        return f"{desc.alt_text} Tags: {tags}." if tags else desc.alt_text

    return caption


def describe_segment(lib: Library, segment: Segment, path: str) -> Description:
    """What one decoded picture shows (:func:`describe_picture` without the file)."""
    encoded = lib.image_encoder.encode([segment])
    facts = encoded.facts[0]
    concepts = [(c.name, c.score) for c in facts.concepts]
    objects = [(o.name, o.score) for o in facts.objects if o.score >= OBJECT_MIN]
    probs = encoded.concept_probs[0] if encoded.concept_probs is not None else None
    kinds = _kinds(lib, lambda kind: kind.share_of(probs, objects)) if probs is not None else []
    tags: dict[str, float] = {}
    for name, score in [*concepts, *((k.word, s) for k, s in kinds), *objects]:
        tags[name] = max(tags.get(name, 0.0), round(score, 4))
    ranked = sorted(tags.items(), key=lambda kv: -kv[1])[:TAGS]
    text = " ".join(facts.ocr_text.split())
    boxes = encoded.boxes[0] if encoded.boxes is not None else [("person", 1.0, 0.0)]
    people = sum(1 for label, score, _ in boxes if label == "person" and score >= OBJECT_MIN)
    faces = [share for label, _, share in boxes if label == FACE]
    portrait = bool(faces) and max(faces) >= PORTRAIT_FACE
    if portrait:  # its subjects: the faces near the largest's size, not the bystanders behind them
        people = sum(1 for share in faces if share >= max(faces) / 2)
    shows = alt_text(concepts, kinds, objects, text, people, portrait=portrait)
    return Description(path, 0.0, ranked, [], alt_text=shows, text=text)


def stored_alt_text(lib: Library, facts: dict) -> str:
    """The alt-text of a picture from what a search hit keeps of it (its few likeliest concepts, objects, OCR text).

    No decoding: the web page gives its thumbnails this text. The kinds are read from the kept
    concepts alone, so they can differ a little from :func:`describe_picture`'s.
    """
    concepts = [(str(n), float(p)) for n, p in facts.get("concepts") or []]
    objects = [(str(n), float(s)) for n, s in facts.get("objects") or [] if s >= OBJECT_MIN]
    kinds = _kinds(lib, lambda kind: kind.share(concepts, objects))
    return alt_text(concepts, kinds, objects, " ".join(str(facts.get("ocr_text") or "").split()))


def _kinds(lib: Library, share_of: Callable[[Kind], float]) -> list[tuple[Kind, float]]:
    """The everyday kinds holding at least :data:`KIND_MIN` of the picture, narrowest first."""
    found = [(kind, share) for kind in _everyday(lib) if (share := share_of(kind)) >= KIND_MIN]
    found.sort(key=lambda ks: (ks[0].prior if ks[0].prior > 0 else 1.0, -ks[1]))
    return found


def _everyday(lib: Library) -> list[Kind]:
    """:data:`EVERYDAY_KINDS` as kinds of this library's classifier, built once per library."""
    from sensorium.query import picture_kind

    kinds = getattr(lib, "_everyday_kinds", None)
    if kinds is None:
        kinds = [k for k in (picture_kind(lib, word) for word in EVERYDAY_KINDS) if k is not None]
        lib._everyday_kinds = kinds  # type: ignore[attr-defined]
    return kinds


def alt_text(
    concepts: list[tuple[str, float]],
    kinds: list[tuple[Kind, float]],
    objects: list[tuple[str, float]],
    text: str,
    people: int = 1,
    *,
    portrait: bool = False,
) -> str:
    """One sentence: what the picture shows (with the narrowest kind it is of), the people seen, the text read.

    ``people``: how many the detector found (where a person is among ``objects``): "two people".
    ``portrait``: a face fills enough of the picture that the people are its subject: "A portrait of".

    The subject is the best concept, or a detected object scoring clearly above it (the
    motorcycle, seen as a moped at 0.56 and detected at 0.90), or a kind where neither is sure;
    a picture holding a page of text leads with the text. Where a person is detected and the best
    concept is something worn, the person leads ("a person in a military uniform").
    """
    best = concepts[0] if concepts and concepts[0][1] >= MAYBE else None
    things = [o for o in objects if o[0] != FACE]  # a face says who is there (the person), not what
    thing = max(things, key=lambda o: o[1]) if things else None
    if thing is not None and thing[0] != "person" and (best is None or thing[1] >= best[1] + 0.2):
        best = thing
    words = text.split()
    if len(words) >= PAGE_WORDS and (best is None or best[1] < VERY_SURE):
        best = None  # a scanned page read as a pill bottle: the text is what it shows
    kind = next((k.word for k, _ in kinds if best is not None and _holds(k, best[0]) and k.word != best[0]), None)
    person = any(n == "person" for n, _ in objects)
    who = _people(people)
    worn = best is not None and any(k.word in WORN and _holds(k, best[0]) for k, _ in kinds)
    lead = "A portrait of" if person and portrait else "A picture of"
    if person and worn and best is not None and best[1] >= SURE:  # a portrait, not a uniform with a person
        shows = f"{lead} {who} in {_a(best[0])}"
    elif best is not None and best[1] >= SURE and not (portrait and person):
        shows = f"A picture of {_a(best[0])}" + (f" ({_a(kind)})" if kind else "")
        shows += f", with {who}" if person and best[0] != "person" else ""
    elif person:  # the detector is surer of people than the classifier of what they wear or hold
        shows = f"{lead} {who}" + (f" (it may show {_a(best[0])})" if best and not words else "")
    elif best is not None and not words:
        broad = next((k.word for k, _ in kinds), None)
        shows = (
            f"A picture of {_a(broad)}, perhaps {_a(best[0])}" if broad else f"A picture that may show {_a(best[0])}"
        )
    else:
        shows = "A picture"
    if text:
        quoted = text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1].rsplit(" ", 1)[0] + "…"
        shows += f', with the text "{quoted}"'
    return shows + "."


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _people(n: int) -> str:
    """'a person', 'two people', '12 people'."""
    if n <= 1:
        return "a person"
    return f"{_NUMBERS[n] if n < len(_NUMBERS) else n} people"


def _holds(kind: Kind, name: str) -> bool:
    """Whether ``name`` (a concept's or an object's) is of ``kind``."""
    return name in kind.under or name in kind.objects


def _a(noun: str) -> str:
    if noun in MASS_NOUNS:
        return noun
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
