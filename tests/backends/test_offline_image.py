"""offline-image-v1 on real photos shipped by packages we depend on (scikit-image, matplotlib).

The models are the real offline-tier ones from SENSORIUM_MODELS, loaded once per session.
Regenerate the golden vectors (after a deliberate change of recipe or weights) with
``python tests/backends/test_offline_image.py --write-golden``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from sensorium.config import Settings, load_settings
from sensorium.errors import MediaError
from sensorium.models.concepts import clean_name, label_vectors
from sensorium.models.files import package_dir
from sensorium.types import Segment

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden_offline_image.json"
GOLDEN_IMAGES = ("chelsea.png", "coffee.png")


def _models() -> Path:
    env = os.environ.get("SENSORIUM_MODELS")
    return Path(env) if env else REPO.parent / "shared" / "models"


def photo(name: str) -> Image.Image:
    """A sample photo: scikit-image's data folder, or matplotlib's grace_hopper.jpg."""
    if name == "grace_hopper.jpg":
        path = package_dir("matplotlib") / "mpl-data" / "sample_data" / name
    else:
        path = package_dir("skimage") / "data" / name
    return Image.open(path).convert("RGB")


def with_sign(text: str) -> Image.Image:
    """A real photo with a line of text painted on it, as on a shop sign."""
    im = photo("coffee.png")
    font = ImageFont.truetype(str(package_dir("matplotlib") / "mpl-data/fonts/ttf/DejaVuSans-Bold.ttf"), 48)
    ImageDraw.Draw(im).text((30, 300), text, fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return im


def segments(*names: str) -> list[Segment]:
    return [Segment(n, "image", 0, photo(n)) for n in names]


@pytest.fixture(scope="session")
def settings() -> Settings:
    models = _models()
    if not (models / "yolox_nano" / "yolox_nano.onnx").is_file():
        pytest.skip(f"offline models not found in {models}; set SENSORIUM_MODELS to the verified models folder")
    return load_settings(models=models, threads=2, batch_size=8)


@pytest.fixture(scope="session")
def text_encoder(settings: Settings):
    from sensorium.models.offline_text import MiniLMTextEncoder

    return MiniLMTextEncoder(settings)


@pytest.fixture(scope="session")
def encoder(settings: Settings, text_encoder):
    from sensorium.models.offline_image import OfflineImageEncoder

    return OfflineImageEncoder(settings, text_encoder)


@pytest.fixture(scope="session")
def float_encoder(settings: Settings, text_encoder):
    """The same encoder with the float32 classifier: the reference the int8 one is held to."""
    from sensorium.models.offline_image import OfflineImageEncoder

    return OfflineImageEncoder(settings.model_copy(update={"image_precision": "float32"}), text_encoder)


PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "grace_hopper.jpg")


@pytest.fixture(scope="session")
def encoded(encoder):
    return dict(zip(PHOTOS, _split(encoder.encode(segments(*PHOTOS))), strict=True))


def _split(enc):
    return [(enc.semantic[i], enc.perceptual[i], enc.facts[i]) for i in range(len(enc.facts))]


def test_info_declares_the_text_space(encoder, text_encoder) -> None:
    info = encoder.info
    assert (info.id, info.space, info.dim, info.perceptual_dim) == ("offline-image-v1", "minilm-l6-v1", 384, 1280)
    assert info.modalities == frozenset({"image"})
    assert len(info.weights_sha256) == 64 and info.weights_sha256 != text_encoder.info.weights_sha256


def test_vectors_are_unit_length(encoder) -> None:
    out = encoder.encode(segments("chelsea.png", "rocket.jpg"))
    assert out.semantic.shape == (2, 384) and out.perceptual.shape == (2, 1280)
    assert np.allclose(np.linalg.norm(out.semantic, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(out.perceptual, axis=1), 1, atol=1e-5)


def test_cat_photo_top_concept_is_a_cat(encoded) -> None:
    top = encoded["chelsea.png"][2].concepts[0]
    assert "cat" in top.name and top.score > 0.3


def test_coffee_photo_is_espresso_in_a_cup(encoded) -> None:
    facts = encoded["coffee.png"][2]
    assert facts.concepts[0].name in {"espresso", "cup", "coffee mug"}
    assert "cup" in [o.name for o in facts.objects]


def test_grace_hopper_has_a_person(encoded) -> None:
    objects = {o.name: o.score for o in encoded["grace_hopper.jpg"][2].objects}
    assert objects.get("person", 0) > 0.8
    assert len(objects) == len(encoded["grace_hopper.jpg"][2].objects)  # one entry per label


def test_labels_rank_the_right_photo(encoded, text_encoder) -> None:
    cat, rocket = label_vectors(text_encoder, ["a cat", "a rocket"])
    assert encoded["chelsea.png"][0] @ cat > encoded["chelsea.png"][0] @ rocket
    assert encoded["rocket.jpg"][0] @ rocket > encoded["rocket.jpg"][0] @ cat
    # and as a search: each query ranks its photo first among the five
    names = list(encoded)
    sem = np.stack([encoded[n][0] for n in names])
    assert names[int(np.argmax(sem @ cat))] == "chelsea.png"
    assert names[int(np.argmax(sem @ rocket))] == "rocket.jpg"


def test_classifying_among_several_labels(encoded, text_encoder) -> None:
    labels = ["cat", "coffee", "astronaut", "rocket", "woman in uniform"]
    lv = label_vectors(text_encoder, labels)
    predicted = {n: labels[int(np.argmax(encoded[n][0] @ lv.T))] for n in encoded}
    assert predicted["chelsea.png"] == "cat"
    assert predicted["coffee.png"] == "coffee"
    assert predicted["rocket.jpg"] == "rocket"


def test_label_vectors_are_unit_rows(text_encoder) -> None:
    lv = label_vectors(text_encoder, ["golden_retriever", "a red car"])
    assert lv.shape == (2, 384) and np.allclose(np.linalg.norm(lv, axis=1), 1, atol=1e-5)
    assert label_vectors(text_encoder, []).shape == (0, 384)


def test_batching_does_not_change_vectors(encoder) -> None:
    both = encoder.encode(segments("chelsea.png", "coffee.png"))
    one = encoder.encode(segments("coffee.png"))
    assert np.allclose(both.semantic[1], one.semantic[0], atol=1e-5)
    assert np.allclose(both.perceptual[1], one.perceptual[0], atol=1e-5)


def test_golden_vectors(float_encoder) -> None:
    """The float32 recipe, exactly: int8 kernels round differently from one CPU to the next."""
    golden = json.loads(GOLDEN.read_text())
    out = float_encoder.encode(segments(*GOLDEN_IMAGES))
    for i, name in enumerate(GOLDEN_IMAGES):
        sem, per = out.semantic[i], out.perceptual[i]
        assert np.allclose(sem[:8], golden[name]["semantic"], atol=1e-4), f"{name}: semantic vector drifted"
        assert np.allclose(per[:8], golden[name]["perceptual"], atol=1e-4), f"{name}: perceptual vector drifted"


def test_the_int8_classifier_stays_close_to_float(encoder, float_encoder) -> None:
    assert (encoder.classifier.precision, float_encoder.classifier.precision) == ("int8", "float32")
    fast, exact = encoder.encode(segments(*PHOTOS)), float_encoder.encode(segments(*PHOTOS))
    assert np.sum(fast.semantic * exact.semantic, axis=1).min() > 0.98  # measured 0.991-0.9997
    assert np.sum(fast.perceptual * exact.perceptual, axis=1).min() > 0.98  # measured 0.990-0.997
    sure = [i for i, f in enumerate(exact.facts) if f.concepts[0].score > 0.5]  # the cat, the espresso
    assert len(sure) >= 2 and all(fast.facts[i].concepts[0].name == exact.facts[i].concepts[0].name for i in sure)
    # a library built with one is re-embedded by the other: they are different models
    assert encoder.info.version_key != float_encoder.info.version_key


def test_int8_ranges_that_do_not_fit_fall_back_to_float(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sensorium.models import quantize
    from sensorium.models.imagenet import VARIANTS, ImageNetClassifier

    assert all(quantize.calibration_cache(f"efficientnet-{v}").is_file() for v in VARIANTS)  # shipped for each
    other = quantize.calibration_cache("efficientnet-lite1")  # another network's tensors
    monkeypatch.setattr(quantize, "calibration_cache", lambda name: other)
    classifier = ImageNetClassifier(settings.model_copy(update={"cache": tmp_path}), threads=1)
    assert (classifier.precision, classifier.model_key) == ("float32", "float32")
    assert "int8 not usable" in caplog.text and "running float32" in caplog.text
    assert [p.name for p in tmp_path.rglob("*.onnx")] == ["model.onnx"]  # no half-made int8 file left
    logits, features = classifier.run([photo("chelsea.png")])
    assert features.shape == (1, 1280) and "cat" in " ".join(classifier_names()[int(np.argmax(logits[0]))])
    # each recipe's verdict is remembered: the next start does not quantise again, nor warn
    verdicts = sorted(tmp_path.rglob("*.unusable"))
    assert len(verdicts) == len(quantize.RECIPES)
    assert {v.read_text().split(":")[0] for v in verdicts} == {r.name for r in quantize.RECIPES}

    def no_second_try(*args: object) -> None:
        raise AssertionError("quantised again")

    monkeypatch.setattr(quantize, "quantize_int8", no_second_try)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = ImageNetClassifier(settings.model_copy(update={"cache": tmp_path}), threads=1)
    assert again.precision == "float32" and "int8 not usable" in caplog.text
    assert all(r.levelno < logging.WARNING for r in caplog.records if "int8" in r.getMessage())


def classifier_names() -> list[tuple[str, ...]]:
    from sensorium.models.imagenet import imagenet_classes

    return [c.lemmas for c in imagenet_classes()]


def test_concept_votes_go_to_the_label_the_classifier_sees(encoder, text_encoder) -> None:
    from sensorium.zero_shot import concept_votes

    space = encoder.space
    probs = encoder.encode(segments("chelsea.png", "coffee.png")).concept_probs
    assert probs is not None and probs.shape == (2, len(space.vocabulary.names))

    def votes(p: np.ndarray, labels: list[str]) -> dict[str, float]:
        vecs = label_vectors(text_encoder, labels, space=space)
        return dict(zip(labels, concept_votes(p[None, :], vecs, space.concepts)[0].tolist(), strict=True))

    cat = votes(probs[0], ["a cat", "a tiger", "a lion", "a dog", "an animal"])
    assert max(cat, key=cat.get) == "a cat" and cat["a cat"] > cat["an animal"] + 2  # breadth earns nothing
    coffee = votes(probs[1], ["espresso", "a cup", "a drink", "a car"])
    assert max(coffee, key=coffee.get) == "espresso" and coffee["a car"] < 0
    uniform = np.full(len(space.vocabulary.names), 1 / len(space.vocabulary.names), np.float32)
    assert max(abs(v) for v in votes(uniform, ["a cat", "a car", "fog"]).values()) < 1e-3  # a log ratio
    # ImageNet has four parrots and one toucan: mixed, a toucan's vector leans to "parrot"; voted, it does not
    toucan = np.zeros_like(uniform)
    toucan[space.vocabulary.names.index("toucan")] = 1.0
    birds = votes(toucan, ["a toucan", "a parrot", "a bird"])
    assert max(birds, key=birds.get) == "a toucan"


def test_concepts_vote_for_what_wordnet_says_they_are_kinds_of(encoder, text_encoder) -> None:
    from sensorium.models.hierarchy import class_steps
    from sensorium.zero_shot import concept_votes

    space = encoder.space
    probs = encoder.encode(segments("chelsea.png")).concept_probs
    labels = ["an animal", "a machine", "a plant"]
    vecs = label_vectors(text_encoder, labels, space=space)
    steps = class_steps(labels, encoder.class_ids)
    assert steps is not None
    by_name, by_kind = (concept_votes(probs, vecs, space.concepts, s)[0] for s in (None, steps))
    # "an animal" is far from the name "tabby cat"; WordNet says a tabby is an animal
    assert by_kind[0] - by_kind[1:].max() > by_name[0] - by_name[1:].max() + 1.0


def test_ocr_reads_a_sign(settings) -> None:
    from sensorium.models.ocr import TextReader

    assert "BAKERY" in TextReader(settings).read(with_sign("BAKERY OPEN")).upper()


def test_ocr_always_puts_the_text_in_facts_and_vector(settings, text_encoder, encoder) -> None:
    from sensorium.models.offline_image import OfflineImageEncoder

    reading = OfflineImageEncoder(load_settings(models=settings.models, ocr="always", threads=2), text_encoder)
    sign = [Segment("sign.png", "image", 0, with_sign("BAKERY OPEN"))]
    out = reading.encode(sign)
    assert "BAKERY" in out.facts[0].ocr_text.upper()
    plain = encoder.encode(sign)  # auto: espresso is no text concept, so no OCR
    assert plain.facts[0].ocr_text == ""
    bakery = label_vectors(text_encoder, ["bakery"])[0]
    assert out.semantic[0] @ bakery > plain.semantic[0] @ bakery


def test_ocr_reads_small_print_from_the_file_not_the_shrunk_picture(settings, text_encoder, tmp_path) -> None:
    from sensorium.media.image import image_segments
    from sensorium.models.ocr import TextReader
    from sensorium.models.offline_image import OfflineImageEncoder

    # a sign 12 pixels high on an 800x600 photo, which decodes at 400x300 for the networks
    im = photo("coffee.png").resize((800, 600))
    font = ImageFont.truetype(str(package_dir("matplotlib") / "mpl-data/fonts/ttf/DejaVuSans-Bold.ttf"), 12)
    ImageDraw.Draw(im).text((40, 500), "BAKERY", fill="white", font=font, stroke_width=1, stroke_fill="black")
    im.save(tmp_path / "sign.jpg", quality=90)
    [segment] = image_segments(tmp_path / "sign.jpg", max_pixels=10**8, max_side=512)
    assert segment.payload.size == (400, 300)
    assert "BAKERY" not in TextReader(settings).read(segment.payload).upper()  # too small to read there
    reading = OfflineImageEncoder(load_settings(models=settings.models, ocr="always", threads=2), text_encoder)
    assert "BAKERY" in reading.encode([segment]).facts[0].ocr_text.upper()
    # a picture with no file of its own (a frame, a picture in a PDF) is read as it is
    assert "BAKERY" not in reading.encode([Segment("", "image", 0, segment.payload)]).facts[0].ocr_text.upper()


def test_ocr_gate_uses_text_concepts(encoder) -> None:
    from sensorium.models.ocr import text_likelihood

    probs = np.zeros(1000, np.float32)
    probs[encoder._text_index[:3]] = 0.2
    assert text_likelihood(probs, encoder._text_index) == pytest.approx(0.6)
    assert text_likelihood(np.full(1000, 1e-3, np.float32), encoder._text_index, [("stop sign", 0.7)]) == 0.7
    assert text_likelihood(np.full(1000, 1e-3, np.float32), encoder._text_index, [("cat", 0.9)]) < 0.1


def test_non_image_payload_is_a_media_error(encoder) -> None:
    with pytest.raises(MediaError, match="not a decoded image"):
        encoder.encode([Segment("notes.txt", "image", 0, "some text")])


def test_empty_batch(encoder) -> None:
    out = encoder.encode([])
    assert out.semantic.shape == (0, 384) and out.facts == []


def test_detector_finds_the_astronaut(settings) -> None:
    from sensorium.models.yolox import YoloxDetector

    (found,) = YoloxDetector(settings, side=416).detect([photo("astronaut.png")])
    person = found[0]
    assert person.label == "person" and person.score > 0.9
    assert np.allclose(person.box, [11, 20, 368, 507], atol=3)


def test_the_face_detector_finds_one_face_where_the_astronaut_is(settings) -> None:
    from sensorium.models.faces import FaceDetector

    faces = FaceDetector(settings, threads=1)
    names = ("astronaut.png", "camera.png", "coffee.png")
    (astronaut,), (cameraman,), (coffee,) = (faces.detect([photo(n)]) for n in names)
    assert [f.label for f in astronaut] == ["face"] and astronaut[0].score > 0.9
    assert np.allclose(astronaut[0].box, [180, 62, 268, 174], atol=12)  # the NOTICE's box, in the picture's pixels
    assert len(cameraman) == 1 and cameraman[0].box[0] > 150  # greyscale: his face, not the tripod
    assert coffee == []


def test_faces_are_looked_for_only_beside_a_person(encoded) -> None:
    hopper = {o.name: o.score for o in encoded["grace_hopper.jpg"][2].objects}
    assert hopper.get("face", 0) > 0.9 and hopper.get("person", 0) > 0.8
    # the cat's face is one the 320 model can take for a person's: no person, so it is never asked
    assert "face" not in {o.name for o in encoded["chelsea.png"][2].objects}


def test_a_face_turns_a_portrait_towards_portrait_words(settings, text_encoder, encoder, encoded) -> None:
    from sensorium.models.offline_image import OfflineImageEncoder

    blind = OfflineImageEncoder(settings.model_copy(update={"faces": False}), text_encoder)
    assert blind.faces is None and blind.info.version_key != encoder.info.version_key  # re-embedded when toggled
    without = blind.encode(segments("grace_hopper.jpg", "coffee.png")).semantic
    words = label_vectors(text_encoder, ["a close-up portrait of a face"], space=encoder.space)[0]
    with_faces = encoded["grace_hopper.jpg"][0]
    assert with_faces @ words > without[0] @ words + 0.1  # measured 0.43 against 0.16
    assert np.allclose(encoded["coffee.png"][0], without[1], atol=1e-5)  # no person: the same vector


def test_clean_names() -> None:
    assert clean_name(("tabby", "tabby cat")) == "tabby cat"
    assert clean_name(("tench", "Tinca tinca")) == "tench"
    assert clean_name(("great white shark", "white shark", "man-eater")) == "great white shark"


def test_the_multilingual_model_loads_only_for_another_language(settings) -> None:
    """e5 reads only words in other languages beside MiniLM: a command that sees none never loads it."""
    from sensorium.models.multilingual import MultilingualTextEncoder

    MultilingualTextEncoder(settings)  # the first ever fits the e5 → MiniLM map, and so reads e5 once
    enc = MultilingualTextEncoder(settings)
    english = enc.encode_text(["a dog on the beach"], query=True)
    assert enc.multi._model is None
    german = enc.encode_text(["ein Hund am Strand"], query=True)
    assert enc.multi._model is not None
    assert float(german[0] @ english[0]) > float(german[0] @ enc.encode_text(["a tax form"], query=True)[0])


@pytest.mark.slow
def test_e5_space_works_too(settings, encoded) -> None:
    from sensorium.models.offline_image import OfflineImageEncoder
    from sensorium.models.offline_text import E5TextEncoder

    e5 = E5TextEncoder(settings)
    enc = OfflineImageEncoder(settings, e5)
    assert enc.info.space == "e5-small-v1"
    out = enc.encode(segments("chelsea.png", "rocket.jpg"))
    cat, rocket = label_vectors(e5, ["a cat", "a rocket"])
    assert out.semantic[0] @ cat > out.semantic[0] @ rocket
    assert out.semantic[1] @ rocket > out.semantic[1] @ cat


def _write_golden() -> None:
    from sensorium.models.offline_image import OfflineImageEncoder
    from sensorium.models.offline_text import MiniLMTextEncoder

    s = load_settings(models=_models(), threads=2, batch_size=8, image_precision="float32")
    enc = OfflineImageEncoder(s, MiniLMTextEncoder(s))
    out = enc.encode(segments(*GOLDEN_IMAGES))
    data = {
        n: {
            "semantic": [round(float(v), 6) for v in out.semantic[i, :8]],
            "perceptual": [round(float(v), 6) for v in out.perceptual[i, :8]],
        }
        for i, n in enumerate(GOLDEN_IMAGES)
    }
    data["_about"] = {"encoder": enc.info.version_key, "text_encoder": enc.text_encoder.info.version_key}
    GOLDEN.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__" and "--write-golden" in sys.argv:
    _write_golden()
