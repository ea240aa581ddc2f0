"""Settings, built once at the edge (CLI callback, server start, ``open_library``) and passed down.

Precedence: defaults < the library's ``sensorium.toml`` < ``SENSORIUM_*`` environment
variables < explicit arguments (command-line flags). This is the only module that reads
``os.environ``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sensorium.errors import ConfigError

LIBRARY_CONFIG = "sensorium.toml"


def quiet_native_logs() -> None:
    """Keep LanceDB's Rust logger to errors unless the user asked for more.

    Its warnings (deprecations, partitions split by incremental updates) are not actionable
    by a user and would flood stderr during search. lancedb 0.40 reads ``LANCEDB_LOG``
    (``LANCE_LOG`` is the Lance format's own, read by older releases).
    """
    os.environ.setdefault("LANCEDB_LOG", "error")
    os.environ.setdefault("LANCE_LOG", "error")


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX=2`` would), once per process.

    Decoder, encoder and store threads each get an arena by default (8 per core); over a long
    video the freed blocks in them fragment and the process grows (measured by
    ``bench/bench_video.py``: 1.6 GB after 30 min of 1080p, flat near 0.9 GB with two arenas).
    A no-op where the C library is not glibc or the user set ``MALLOC_ARENA_MAX``.
    """
    global _ARENAS_LIMITED
    if _ARENAS_LIMITED or "MALLOC_ARENA_MAX" in os.environ or sys.platform != "linux":
        return
    _ARENAS_LIMITED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


_ARENAS_LIMITED = False


def _data_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sensorium"


def _cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sensorium"


class LanceSettings(BaseModel):
    """Options of the LanceDB store (``[store.lancedb]``)."""

    model_config = ConfigDict(frozen=True)
    index_min_rows: int = 50_000  # below this, exact search is fast enough and exact
    # Defaults measured by bench/bench_store.py (1M x 384-dim clustered vectors, 2 CPU cores, full rows fetched):
    # IVF_RQ p50 11-14 ms at recall@10 0.98-0.99, built in 20-45 s; IVF_SQ needs ~22 ms for 0.96 (8x the bytes);
    # IVF_PQ (48 sub-vectors) 19 ms at 0.97 but builds in 130 s; IVF_HNSW_SQ took over 10 minutes to build.
    # 4 bits per dimension rather than 1: the codes rank well enough that 3x re-ranking keeps recall (1M: 0.985-0.990
    # at refine 3 against 0.985 with 1 bit at refine 10), and a search asking for 40 rows re-ranks 120 full
    # vectors, not 400 (100k library, 40 rows: 8-9 ms against 15 ms).
    index_type: Literal["IVF_RQ", "IVF_SQ", "IVF_PQ", "IVF_HNSW_SQ"] = "IVF_RQ"
    num_partitions: int = 0  # 0: rows / rows_per_partition at training time
    rows_per_partition: int = 8192
    num_sub_vectors: int = 0  # IVF_PQ only; 0: LanceDB's default (dim / 16)
    num_bits: int = 4  # IVF_RQ only: bits per dimension of the quantized codes
    nprobes: int = 20  # partitions always searched; more are searched when a filter leaves too few rows
    refine_factor: int = 3  # re-rank refine_factor * limit candidates with the full vectors; 0: off
    ef: int = 0  # IVF_HNSW_* only; 0: LanceDB's default
    optimize_every_rows: int = 50_000  # upserts run optimize() after this many rows (0: only when asked)
    retrain_growth: float = 2.0  # retrain the ANN index when the table grows this many times past its training size
    keep_versions_s: int = 3600  # old table versions kept this long by optimize() (readers may still use them)


class StoreSettings(BaseModel):
    model_config = ConfigDict(frozen=True)
    backend: str = "lancedb"
    lancedb: LanceSettings = LanceSettings()


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    """Everything configurable. Frozen: what a backend learns goes in the library manifest."""

    model_config = SettingsConfigDict(env_prefix="SENSORIUM_", env_nested_delimiter="__", frozen=True, extra="ignore")

    home: Path = Field(default_factory=_data_home)
    library: Path | None = None
    models: Path = Field(default_factory=lambda: _cache_home() / "models")
    cache: Path = Field(default_factory=lambda: _cache_home() / "derived")
    hub_models: Path | None = None  # where `sensorium models add` installs hub models (default: <models>/hub)
    hub_onnx: bool = True  # run open_clip image towers in ONNX Runtime (exported once, checked against torch)
    text_encoder: str = "minilm-multi-v1"
    image_encoder: str = "offline-image-v1"
    audio_encoder: str = "offline-audio-v1"
    image_backbone: Literal["lite0", "lite1", "lite2"] = "lite0"
    image_precision: Literal["int8", "float32"] = "int8"  # int8: the classifier quantised (models/quantize.py)
    ocr: Literal["auto", "always", "never"] = "auto"
    detector: bool = True
    faces: bool = True  # UltraFace on pictures where the detector sees a person: portraits, couples, groups
    detector_side: int = (
        192  # YOLOX input side (multiple of 32): dev-set mAP 0.580 against 0.564 at 256, 10% faster indexing
    )
    batch_size: int = 16  # images per encoder batch and committed write: bounds memory (about 0.8 GB)
    threads: int = 0  # 0: all cores
    max_image_pixels: int = 180_000_000
    max_text_bytes: int = 20_000_000  # a note's size; a PDF's text (characters) past this is left out
    max_pdf_pages: int = 2000  # pages of a PDF read at most
    file_tags: bool = True  # index the words a file carries about itself: captions, keywords, titles (media/tags.py)
    pdf_pictures: bool = True  # photos and figures on PDF pages with text described by the image models and indexed
    # Sound and speech.
    audio_taggers: Literal["mn04", "yamnet", "both"] = "both"  # AudioSet taggers whose tags are mixed
    audio_window_s: float = 2.0  # window of sound-event tagging in long recordings...
    audio_hop_s: float = 1.0  # ...and the step between windows
    speech: Literal["auto", "never"] = "auto"  # auto: transcribe where voice activity detection hears speech
    whisper_model: str = "tiny.en"  # a faster-whisper (CTranslate2) model: "tiny.en" (bundled) or a folder
    speech_language: str | None = "en"  # None: detected per file (multilingual models only)
    max_audio_seconds: float = 12 * 3600.0  # longer recordings and videos are indexed up to this point, with a note
    # Video.
    video_max_gap_s: float = 4.0  # sampled frames at most this far apart (keyframes, plus fills in longer GOPs)
    video_pictures: Literal["keyframes", "middle"] = "keyframes"  # middle: each shot's middle frame (slower)
    video_sound: bool = True  # index a video's sound track (events and speech) with the sound encoder
    video_sound_beside: bool = False  # ...in a thread beside the pictures (see bench/bench_video.py)
    store: StoreSettings = StoreSettings()
    debug: bool = False

    @property
    def hub_dir(self) -> Path:
        """The folder of installed hub models (OpenCLIP, CLAP, Whisper)."""
        return (self.hub_models or (self.models / "hub")).expanduser()

    @property
    def library_path(self) -> Path:
        return (self.library or (self.home / "library")).expanduser()


def _settings_class(toml: dict[str, Any]) -> type[Settings]:
    """Settings whose lowest-priority source (above defaults) is one library's ``sensorium.toml``."""

    class LibrarySettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _TomlSource(settings_cls, toml))

    return LibrarySettings


def _library_from_env_or_args(overrides: dict[str, Any]) -> Path | None:
    if overrides.get("library") is not None:
        return Path(overrides["library"]).expanduser()
    env = os.environ.get("SENSORIUM_LIBRARY")
    return Path(env).expanduser() if env else None


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings` with the documented precedence.

    ``overrides`` are explicit arguments (flags); ``None`` values are ignored so an
    unset flag does not hide the environment.

    Raises:
        ConfigError: an unreadable ``sensorium.toml`` or an invalid value.
    """
    quiet_native_logs()
    limit_malloc_arenas()
    given = {k: v for k, v in overrides.items() if v is not None}
    lib = _library_from_env_or_args(given)
    data: dict[str, Any] = {}
    if lib is not None and (lib / LIBRARY_CONFIG).is_file():
        path = lib / LIBRARY_CONFIG
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read settings ({exc}); fix or remove the file") from exc
    try:
        return _settings_class(data)(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"setting {where}: {first['msg']}; check flags, SENSORIUM_* variables and {LIBRARY_CONFIG}"
        ) from exc
