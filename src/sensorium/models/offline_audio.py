"""``offline-audio-v1``: sounds and speech into the offline text space, without any audio-text model.

What a recording holds is read by small CPU models: two AudioSet sound-event taggers
(EfficientAT mn04, :mod:`sensorium.models.efficientat`, and YAMNet, :mod:`sensorium.models.yamnet`),
and Whisper for speech (:mod:`sensorium.models.whisper`). Tags reach the text space as images do
(ConSE): a window's semantic vector is the probability-weighted mean of the text embeddings of the
sound names it hears ("the sound of a dog barking"), centred like the image concepts so both rank
against the same query vectors. Transcribed speech is embedded as text. mn04's pooled features are
the perceptual vector (``--like knock.wav``).

A recording is read as a stream of blocks (never whole): long ones become windows of
``audio_window_s`` every ``audio_hop_s`` seconds plus one record per transcribed utterance; a
clip of at most :data:`CLIP_MAX_S` seconds is one record pooled over the whole clip.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ConfigError, MediaError
from sensorium.models.base import Encoded, EncoderInfo, TextEncoder, l2_normalise, shares_with_none
from sensorium.models.files import cache_dir
from sensorium.types import SPEECH_INDEX_BASE, Concept, Facts, Segment

log = logging.getLogger(__name__)

ENCODER_ID = "offline-audio-v1"
RECIPE_VERSION = "4"  # bump when the mixing or the windowing changes: it is part of the version key
CLIP_MAX_S = 10.0  # recordings up to this long are one record, pooled over the whole clip
BLOCK_S = 60.0  # seconds decoded at a time
SOUND_TEMPLATES: tuple[str, ...] = ("the sound of {}.", "{}")
# Tag matching (bench/tune_audio.py): a label is scored by the clip's probability mass on the tags
# nearest to it in the text space, softmax(cos(label, tag) / TAG_TAU); on the dev set that beats
# ConSE (top-1 0.676 vs 0.618, mAP 0.79 vs 0.68) and wins on 39 of 40 held-out label halves; with the
# "no sound" option (TAG_NONE_COS) top-1 is 0.691, top-5 0.868 (from 0.882), mAP unchanged.
TAG_TAU = 0.03
TAG_NONE_COS = 0.5  # the "no sound" option of tag matching (see OfflineAudioEncoder.tag_affinity)
TAG_SPREAD = 0.1  # share of a label's weight passed on to the tags nearest its tags (tag_affinity)...
TAG_SPREAD_TAU = 0.03  # ...softmax(cos(tag, other tag) / this); dev set: top-1 0.691 kept, mAP 0.723 -> 0.716
TAG_TEMPERATURE = 0.02  # softmax over labels' tag-matching scores: mean top probability ≈ accuracy
FACT_TAGS = 5
FACT_MIN_PROB = 0.1
STEADY_AFFINITY = 0.97  # windows whose tags agree this much with a run's first are one record...
STEADY_WINDOWS = 10  # ...up to this many (2 s windows every 1 s: a record spans at most 11 s)
HEARD_TAGS = 50  # tags kept per record for tag matching at search time (50 keep 99% of its dev-set mAP)
# Share of a record's searchable tags taken from the block (up to a minute) around it: a moment of a
# long recording is ranked on itself and on its surroundings, as passage retrieval weighs a passage by
# its document. Alone, the best of a minute's windows outranked whole clips of the sound (a bird
# recording ranked first for "helicopter" on one window): dev-set mAP 0.716 -> 0.732 (0.747 at 0.75,
# where moments of weak matches stretch over the whole minute). Captions and reasons keep its own tags.
CONTEXT_SHARE = 0.5
# AudioSet's broad parent classes: mixed into vectors like any tag, but never shown as the reason for a hit.
GENERIC_TAGS = frozenset(
    {
        "Animal",
        "Domestic animals, pets",
        "Livestock, farm animals, working animals",
        "Wild animals",
        "Vehicle",
        "Music",
        "Musical instrument",
        "Inside, small room",
        "Inside, large room or hall",
        "Outside, urban or manmade",
        "Outside, rural or natural",
        "Sound effect",
        "Silence",
    }
)

Emit = Callable[[list[Segment], Encoded], None]


def sound_phrase(name: str) -> str:
    """An AudioSet display name as words: ``"Chicken, rooster"`` → ``"chicken, rooster"``."""
    return name if name.isupper() else name[0].lower() + name[1:]


MIN_EXAMPLE_S = 0.1  # shortest recording that clip_vectors pools (an example sound, a classified clip)
SILENT_PEAK = 1e-4  # -80 dBFS: a recording whose every sample is below this holds no sound


@dataclass(frozen=True)
class SoundMixer:
    """How a window's tag probabilities become its semantic vector.

    Attributes:
        top_k: tags kept per window (the long tail of tiny probabilities pulls towards the hub).
        power: probabilities are raised to this power before weighting (above 1 favours the sure tags).
        tagger_weights: weight of each tagger's probability in the combined vocabulary (mn04, yamnet).
    """

    top_k: int = 10
    power: float = 1.0
    tagger_weights: tuple[float, float] = (0.5, 0.5)

    def mix(self, probs: np.ndarray, concepts: np.ndarray) -> np.ndarray:
        """(n, d) unit vectors from (n, C) probabilities over the vocabulary (C, d)."""
        w = np.power(np.clip(probs, 0.0, 1.0), self.power).astype(np.float32)
        if self.top_k < w.shape[1]:
            drop = np.argpartition(-w, self.top_k, axis=1)[:, self.top_k :]
            np.put_along_axis(w, drop, 0.0, axis=1)
        return l2_normalise(w @ concepts)


@dataclass(frozen=True)
class Tagged:
    """Sound-event tags of consecutive windows: times in seconds from the start of the recording."""

    starts: np.ndarray
    ends: np.ndarray
    probs: np.ndarray  # (n, C) over the encoder's combined vocabulary
    embeddings: np.ndarray | None  # (n, E) mn04 features, or None


@dataclass
class AudioSummary:
    """What encoding one recording produced."""

    duration_s: float = 0.0
    windows: int = 0
    records: int = 0  # window records: steady runs of windows are one record
    utterances: int = 0
    truncated: bool = False


@dataclass(frozen=True)
class ClipVectors:
    """A whole recording pooled: for classification and query by example."""

    semantic: np.ndarray
    perceptual: np.ndarray | None
    probs: np.ndarray
    duration_s: float
    windows: np.ndarray | None = None  # (n, C) tag probabilities of each window: "anywhere in the file"
    peak: float = 1.0  # largest sample magnitude (full scale 1.0)

    @property
    def silent(self) -> bool:
        """No sample above -80 dBFS: as an example it would match every quiet stretch "perfectly"."""
        return self.peak < SILENT_PEAK


class OfflineAudioEncoder:
    """Recordings → windows and utterances with semantic vectors, perceptual vectors and facts.

    Args:
        settings: ``audio_taggers``, ``audio_window_s``, ``audio_hop_s``, ``speech``, ``whisper_model``,
            ``speech_language``, ``threads``, ``models``, ``cache``, ``max_audio_seconds``.
        text_encoder: defines the space; sound names are embedded with it once and cached.
        space: the image encoder's concept space; its common directions are removed from sound
            vectors too, so that one query vector ranks images, sounds and text together.

    Raises:
        ModelMissing: a tagger's or Whisper's files are absent or fail their checksum.
    """

    def __init__(
        self, settings: Settings, text_encoder: TextEncoder, *, space=None, mixer: SoundMixer | None = None
    ) -> None:
        self.settings = settings
        self.text_encoder = text_encoder
        self.space = space
        self.mixer = mixer or SoundMixer()
        self.window_s = float(settings.audio_window_s)
        self.hop_s = float(settings.audio_hop_s)
        if not (0 < self.hop_s <= self.window_s):
            raise ConfigError(f"audio_hop_s {self.hop_s} must be > 0 and at most audio_window_s {self.window_s}")
        threads = settings.threads or os.cpu_count() or 1
        self.taggers = self._taggers(settings, threads)
        names: dict[str, None] = {}
        for tagger in self.taggers:
            names.update(dict.fromkeys(tagger.labels))
        self.names: tuple[str, ...] = tuple(names)
        self._name_index = {n: i for i, n in enumerate(self.names)}
        self._maps = [np.array([self._name_index[n] for n in t.labels], dtype=np.int64) for t in self.taggers]
        self._weights = self._tagger_weights()
        self.concepts = self._concept_vectors()
        self._spread = _tag_spread(self.concepts)
        self._transcriber = None
        self._whisper_sha = self._whisper_checksum()
        mn04 = next((t for t in self.taggers if t.__class__.__name__ == "MN04Tagger"), None)
        self.perceptual_dim = 384 if mn04 is not None else 0
        tinfo = text_encoder.info
        self.info = EncoderInfo(
            id=ENCODER_ID,
            space=tinfo.space,
            dim=tinfo.dim,
            modalities=frozenset({"audio"}),
            weights_sha256=self._checksum(),
            perceptual_dim=self.perceptual_dim,
            licence="MIT (EfficientAT mn04, Whisper), Apache-2.0 (YAMNet); text space: "
            + (tinfo.licence or "see its encoder"),
            extra={"taggers": settings.audio_taggers, "speech": settings.speech, "whisper": settings.whisper_model},
        )

    # -- construction ------------------------------------------------------------------------
    @staticmethod
    def _taggers(settings: Settings, threads: int) -> list:
        out = []
        if settings.audio_taggers in ("mn04", "both"):
            from sensorium.models.efficientat import MN04Tagger

            out.append(MN04Tagger(settings, threads=threads))
        if settings.audio_taggers in ("yamnet", "both"):
            from sensorium.models.yamnet import YamnetTagger

            out.append(YamnetTagger(settings, threads=threads))
        return out

    def _tagger_weights(self) -> list[float]:
        if len(self.taggers) == 1:
            return [1.0]
        return list(self.mixer.tagger_weights[: len(self.taggers)])

    def _concept_vectors(self) -> np.ndarray:
        """(C, d) sound names in the space: prompt-averaged, centred on the image space and on themselves."""
        texts = [t.format(sound_phrase(n)) for n in self.names for t in SOUND_TEMPLATES]
        tinfo = self.text_encoder.info
        key = hashlib.sha256(("\n".join(texts) + tinfo.version_key).encode()).hexdigest()[:16]
        folder = cache_dir(
            self.settings.models, self.settings.cache, f"concepts-{tinfo.id}-{tinfo.weights_sha256[:12]}"
        )
        path = folder / f"sounds-{key}.npy"
        if path.is_file():
            raw = np.load(path)
        else:
            log.warning("first use: embedding %d sound names with %s, once", len(self.names), tinfo.id)
            raw = self.text_encoder.encode_text(texts, query=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, raw)
            tmp.replace(path)
        vecs = l2_normalise(raw.reshape(len(self.names), len(SOUND_TEMPLATES), -1).mean(1))
        if self.space is not None:
            vecs = self.space.project(vecs)
        mean = vecs.mean(0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return l2_normalise(vecs - np.outer(vecs @ mean, mean))

    def _whisper_checksum(self) -> str:
        if self.settings.speech == "never":
            return "no-speech"
        from sensorium.models.whisper import locate_model

        _, model_id, sha256 = locate_model(self.settings)
        return f"{model_id}@{sha256}"

    def _checksum(self) -> str:
        parts = [f"{ENCODER_ID}/{RECIPE_VERSION}", repr(self.mixer), f"{self.window_s}/{self.hop_s}", self._whisper_sha]
        parts += [t.sha256 for t in self.taggers]
        parts.append(self.text_encoder.info.version_key)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    @property
    def transcriber(self):  # -> WhisperTranscriber
        if self._transcriber is None:
            from sensorium.models.whisper import WhisperTranscriber

            self._transcriber = WhisperTranscriber(self.settings)
        return self._transcriber

    @property
    def rates(self) -> tuple[int, ...]:
        rates = {t.rate for t in self.taggers}
        if self.settings.speech != "never":
            rates.add(16_000)
        return tuple(sorted(rates))

    # -- tagging -----------------------------------------------------------------------------
    def _combine(self, frames: Sequence) -> Tagged:
        """Each tagger's frames (same windows) → probabilities over the combined vocabulary."""
        first = frames[0]
        probs = np.zeros((len(first.starts), len(self.names)), dtype=np.float32)
        total = np.zeros(len(self.names), dtype=np.float32)
        for f, idx, w in zip(frames, self._maps, self._weights, strict=True):
            probs[:, idx] += w * f.probs
            total[idx] += w
        probs /= np.maximum(total, 1e-9)
        emb = next((f.embeddings for f in frames if f.embeddings is not None), None)
        return Tagged(first.starts.astype(np.float64), first.ends.astype(np.float64), probs, emb)

    def tag(self, samples: dict[int, np.ndarray], *, clip: bool = False) -> Tagged:
        """Tags of one stretch of audio (``samples``: rate → mono float32), times from its start."""
        if clip:
            frames = [t.tag_clip(samples[t.rate]) for t in self.taggers]
        else:
            frames = [t.tag_windows(samples[t.rate], self.window_s, self.hop_s) for t in self.taggers]
        return self._combine(frames)

    def tag_stream(self, path: Path, *, feed: Callable[[float, np.ndarray], None] | None = None) -> Iterator[Tagged]:
        """Windows of a whole recording, block by block; ``feed(start_s, samples_16k)`` sees every block."""
        from sensorium.media.audio import stream_audio

        rates = self.rates
        buf: dict[int, list[np.ndarray]] = {r: [] for r in rates}
        t0 = 0.0  # time of buf's first sample: always a multiple of hop
        seen = 0.0
        whole_clip = True
        for block in stream_audio(path, rates, block_s=BLOCK_S, max_seconds=self.settings.max_audio_seconds):
            if feed is not None and 16_000 in block.samples:
                feed(block.start_s, block.samples[16_000])
            for r in rates:
                buf[r].append(block.samples[r])
            seen = block.start_s + len(block.samples[rates[0]]) / rates[0]
            if seen > CLIP_MAX_S:
                whole_clip = False
            if whole_clip:
                continue
            joined = {r: np.concatenate(buf[r]) for r in rates}
            span = len(joined[rates[0]]) / rates[0]
            m = int(np.floor((span - self.window_s) / self.hop_s + 1e-9))
            if m < 0:
                buf = {r: [joined[r]] for r in rates}
                continue
            end = self.window_s + m * self.hop_s
            part = {r: joined[r][: round(end * r)] for r in rates}
            tagged = self.tag(part)
            yield _shift(tagged, t0)
            drop = (m + 1) * self.hop_s
            buf = {r: [joined[r][round(drop * r) :]] for r in rates}
            t0 += drop
        rest = {r: np.concatenate(buf[r]) if buf[r] else np.zeros(0, np.float32) for r in rates}
        if len(rest[rates[0]]) == 0:
            return
        if whole_clip:
            yield self.tag(rest, clip=True)
            return
        yield _shift(self.tag(rest), t0)

    # -- records -----------------------------------------------------------------------------
    def semantic(self, probs: np.ndarray) -> np.ndarray:
        return self.mixer.mix(probs, self.concepts)

    def facts(self, probs: np.ndarray, around: np.ndarray | None = None) -> Facts:
        """The most likely specific tags of one window; ``around``: its block's, for the searchable tags."""
        order = _top(probs, FACT_TAGS + len(GENERIC_TAGS))
        tags = [
            Concept(sound_phrase(self.names[i]), round(float(probs[i]), 4))
            for i in order
            if probs[i] >= FACT_MIN_PROB and self.names[i] not in GENERIC_TAGS
        ]
        searched = probs if around is None else (1.0 - CONTEXT_SHARE) * probs + CONTEXT_SHARE * around
        heard = tuple(Concept(self.names[i], round(float(searched[i]), 5)) for i in _top(searched, HEARD_TAGS))
        return Facts(concepts=tuple(tags[:FACT_TAGS]), heard=heard)

    def tag_affinity(self, label_vecs: np.ndarray) -> np.ndarray:
        """(L, C): how much each label means each tag, a sharp softmax over cosines in the text space.

        The softmax has one more option, "no sound", at cosine :data:`TAG_NONE_COS`: words that
        name no sound ("a rabbit in the grass", nearest tag "Pig" at 0.38) give every tag little
        weight instead of handing the whole of it to the least bad tag, so a frog's croak is not
        a confident answer to them. Words that name a sound sit at 0.6-0.9 and keep their weight.

        So sharp a softmax gives a label one tag: "people talking" meant Conversation alone, and a
        recording of one man speaking (Speech, Male speech) scored below "music" for it. A share
        :data:`TAG_SPREAD` of each tag's weight passes to the tags nearest that tag's name
        (:func:`_tag_spread`), so a label also means its tags' near neighbours, a little.
        """
        a = shares_with_none(label_vecs @ self.concepts.T, TAG_NONE_COS, TAG_TAU)
        return ((1.0 - TAG_SPREAD) * a + TAG_SPREAD * (a @ self._spread)).astype(np.float32)

    def heard_scores(self, heard: Sequence[Sequence[tuple[str, float]]], query: np.ndarray) -> np.ndarray:
        """Tag-matching scores (n,) of stored records (their ``heard`` tags by name) for one query vector."""
        affinity = self.tag_affinity(query[None, :])[0]
        index = self._name_index
        out = np.zeros(len(heard), dtype=np.float32)
        for k, tags in enumerate(heard):
            total = sum(p for _, p in tags)
            if total > 0:
                out[k] = sum(p * affinity[index[n]] for n, p in tags if n in index) / total
        return out

    def tag_scores(
        self, probs: np.ndarray, label_vecs: np.ndarray, heard_in: dict[int, np.ndarray] | None = None
    ) -> np.ndarray:
        """(n, L) share of each clip's tag probability mass that lies on each label's tags.

        ``heard_in``: labels whose tags are those heard in examples (a name taught by recordings:
        :mod:`sensorium.names`), by row, as the examples' tag probabilities.
        """
        w = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-9)
        affinity = self.tag_affinity(label_vecs)
        for row, heard in (heard_in or {}).items():
            affinity[row] = self.tags_heard(heard)
        return w @ affinity.T

    def tags_heard(self, probs: np.ndarray) -> np.ndarray:
        """A distribution over tags from tags heard: the specific ones (not "Animal", "Vehicle"), summing to 1.

        A name taught by a dog's bark means Dog, Bark and Bow-wow; read through the mix of its tags'
        names instead, it meant "Domestic animals, pets" most, and a cow's moo was "Barky" at 0.64.
        """
        heard = np.asarray(probs, dtype=np.float32).copy()
        heard[[i for i, n in enumerate(self.names) if n in GENERIC_TAGS]] = 0.0
        return heard / max(float(heard.sum()), 1e-9)

    def facts_name(self, i: int) -> str | None:
        """Tag ``i`` as shown to people, or ``None`` for a broad parent class."""
        name = self.names[i]
        return None if name in GENERIC_TAGS else sound_phrase(name)

    def text_vectors(self, texts: list[str]) -> np.ndarray:
        vecs = self.text_encoder.encode_text(texts, query=False)
        return self.space.project(vecs) if self.space is not None else vecs

    def read(
        self,
        path: Path,
        on_windows: Callable[[Tagged], None],
        on_speech: Callable[[list], None] | None = None,
    ) -> None:
        """Tag a recording window by window and, with ``on_speech``, transcribe it, in one decoding pass.

        ``on_windows`` gets tagged windows as each block is read; ``on_speech`` gets utterances
        (:class:`~sensorium.models.whisper.SpeechSegment`) in batches, in time order.
        """
        if on_speech is None or self.settings.speech == "never":
            for tagged in self.tag_stream(path):
                on_windows(tagged)
            return
        pending: list[tuple[float, np.ndarray]] = []

        def blocks() -> Iterator[tuple[float, np.ndarray]]:
            for tagged in self.tag_stream(path, feed=lambda s, x: pending.append((s, x))):
                on_windows(tagged)
                while pending:
                    yield pending.pop(0)
            while pending:
                yield pending.pop(0)

        batch: list = []
        for utterance in self.transcriber.transcribe_stream(blocks()):
            batch.append(utterance)
            if len(batch) >= 16:
                on_speech(batch)
                batch = []
        if batch:
            on_speech(batch)

    def encode_file(self, path: Path, emit: Emit) -> AudioSummary:
        """Encode one recording, handing records to ``emit`` block by block (bounded memory).

        Raises:
            MediaError: the file cannot be decoded (no audio track, corrupt, empty).
        """
        source = str(path)
        summary = AudioSummary()

        def windows(tagged: Tagged) -> None:
            self._emit_windows(source, tagged, summary, emit)
            if len(tagged.ends):
                summary.duration_s = max(summary.duration_s, float(tagged.ends[-1]))

        self.read(path, windows, lambda batch: self._emit_speech(source, batch, summary, emit))
        summary.truncated = summary.duration_s >= self.settings.max_audio_seconds - self.window_s
        return summary

    def _emit_windows(self, source: str, tagged: Tagged, summary: AudioSummary, emit: Emit) -> None:
        """One record per run of windows that hear the same thing (:func:`steady_runs`), numbered by its first.

        Each record's searchable tags take :data:`CONTEXT_SHARE` from the block's (its minute's) mean.
        """
        runs = steady_runs(tagged.probs)
        segs = [
            Segment(source, "audio", summary.windows + a, None, float(tagged.starts[a]), float(tagged.ends[b - 1]))
            for a, b in runs
        ]
        probs = np.stack([tagged.probs[a:b].mean(0) for a, b in runs]) if runs else tagged.probs
        emb = tagged.embeddings
        perceptual = l2_normalise(np.stack([emb[a:b].mean(0) for a, b in runs])) if emb is not None and runs else None
        span = np.maximum(tagged.ends - tagged.starts, 1e-3)[:, None]
        around = (tagged.probs * span).sum(0) / span.sum() if len(tagged.probs) else None
        emit(segs, Encoded(self.semantic(probs), perceptual, [self.facts(p, around) for p in probs]))
        summary.windows += len(tagged.starts)
        summary.records += len(runs)

    def _emit_speech(self, source: str, utterances: list, summary: AudioSummary, emit: Emit) -> None:
        segs = [
            Segment(source, "audio", SPEECH_INDEX_BASE + summary.utterances + i, None, u.start, u.end)
            for i, u in enumerate(utterances)
        ]
        texts = [u.text.strip() for u in utterances]
        facts = [Facts(concepts=(Concept("speech", 1.0),), text=t) for t in texts]
        emit(segs, Encoded(self.text_vectors(texts), None, facts))
        summary.utterances += len(utterances)

    def clip_vectors(self, path: Path) -> ClipVectors:
        """The whole recording pooled (mean tag probabilities and features over its windows)."""
        probs, embs, weights, end = [], [], [], 0.0
        peak = 0.0

        def loudest(_: float, samples: np.ndarray) -> None:
            nonlocal peak
            if len(samples):
                peak = max(peak, float(np.max(np.abs(samples))))

        for tagged in self.tag_stream(path, feed=loudest):
            probs.append(tagged.probs)
            weights.append(np.maximum(tagged.ends - tagged.starts, 1e-3))
            if tagged.embeddings is not None:
                embs.append(tagged.embeddings)
            end = float(tagged.ends[-1]) if len(tagged.ends) else end
        if not probs:
            raise MediaError(str(path), "no audio samples could be decoded", "check that the file plays")
        if end < MIN_EXAMPLE_S:  # a few milliseconds are all padding to the taggers: their tags mean nothing
            raise MediaError(str(path), f"only {end * 1000:.0f} ms of sound (at least {MIN_EXAMPLE_S} s needed)")
        w = np.concatenate(weights)[:, None]
        mean = (np.concatenate(probs) * w).sum(0) / w.sum()
        perceptual = l2_normalise(np.concatenate(embs).mean(0)) if embs else None
        semantic = self.semantic(mean[None, :])[0]
        return ClipVectors(semantic, perceptual, mean.astype(np.float32), end, np.concatenate(probs), peak)

    def encode(self, segments: Sequence[Segment]) -> Encoded:
        """Segments holding ``{rate: samples}`` payloads, each pooled as one clip."""
        rows = [self.tag(s.payload, clip=True) for s in segments]
        probs = np.concatenate([r.probs for r in rows])
        emb = [r.embeddings for r in rows]
        perceptual = l2_normalise(np.concatenate(emb)) if all(e is not None for e in emb) and emb else None
        return Encoded(self.semantic(probs), perceptual, [self.facts(p) for p in probs])


def _top(probs: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest values, largest first (one window at a time: no full sort)."""
    top = np.argpartition(-probs, k)[:k] if len(probs) > k else np.arange(len(probs))
    return top[np.argsort(-probs[top], kind="stable")].tolist()


def _tag_spread(concepts: np.ndarray) -> np.ndarray:
    """(C, C) rows summing to 1: each tag's nearest other tags by name, softmax(cos / TAG_SPREAD_TAU)."""
    cos = (concepts @ concepts.T).astype(np.float64)
    np.fill_diagonal(cos, -np.inf)
    w = np.exp((cos - cos.max(axis=1, keepdims=True)) / TAG_SPREAD_TAU)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def steady_runs(probs: np.ndarray) -> list[tuple[int, int]]:
    """``[a, b)`` runs of consecutive windows that hear the same thing, each to become one record.

    A window joins the run while its tags stay within :data:`STEADY_AFFINITY` of the run's first
    window (the Bhattacharyya coefficient of their distributions), for at most
    :data:`STEADY_WINDOWS` windows. A quiet two-hour recording was 7,200 records and 101 MB;
    a change of sound (a bark in the hiss) still starts a record of its own.
    """
    if len(probs) == 0:
        return []
    root = np.sqrt(np.clip(probs, 0.0, None))
    root /= np.maximum(np.linalg.norm(root, axis=1, keepdims=True), 1e-12)
    runs, first = [], 0
    for i in range(1, len(probs)):
        if i - first >= STEADY_WINDOWS or float(root[i] @ root[first]) < STEADY_AFFINITY:
            runs.append((first, i))
            first = i
    runs.append((first, len(probs)))
    return runs


def _shift(tagged: Tagged, offset: float) -> Tagged:
    return Tagged(tagged.starts + offset, tagged.ends + offset, tagged.probs, tagged.embeddings)
