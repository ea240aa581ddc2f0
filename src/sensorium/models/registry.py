"""Encoders by name. Built-ins load on first use; packages add more under ``sensorium.encoders``.

A text encoder is built from :class:`Settings`; a modality encoder from Settings plus the text
encoder whose space it writes into.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sensorium.config import Settings
from sensorium.models.base import Encoder, TextEncoder
from sensorium.plugins import BackendTable

BUILTIN_TEXT_ENCODERS: dict[str, str] = {
    "minilm-l6-v1": "sensorium.models.offline_text:MiniLMTextEncoder",
    "e5-small-v1": "sensorium.models.offline_text:E5TextEncoder",
    "minilm-multi-v1": "sensorium.models.multilingual:MultilingualTextEncoder",
}
BUILTIN_ENCODERS: dict[str, str] = {
    "offline-image-v1": "sensorium.models.offline_image:OfflineImageEncoder",
    "offline-audio-v1": "sensorium.models.offline_audio:OfflineAudioEncoder",
}


@dataclass
class Registry:
    """The tables a :class:`~sensorium.library.Library` builds its encoders from."""

    text_encoders: BackendTable
    encoders: BackendTable

    @classmethod
    def default(cls, *, discover: bool = True) -> Registry:
        return cls(
            BackendTable("text encoder", BUILTIN_TEXT_ENCODERS, "sensorium.text_encoders", discover=discover),
            BackendTable("encoder", BUILTIN_ENCODERS, "sensorium.encoders", discover=discover),
        )

    def text_encoder(self, name: str, settings: Settings) -> TextEncoder:
        return self.text_encoders.load(name)(settings)

    def encoder(self, name: str, settings: Settings, text_encoder: TextEncoder, **options: Any) -> Encoder:
        """Build encoder ``name``; ``options`` are keyword arguments it accepts (``space=`` for sound)."""
        return self.encoders.load(name)(settings, text_encoder, **options)
