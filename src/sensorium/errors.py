"""The errors a user can act on.

Every message is one line: ``<what>: <reason>; <what to do>``. Anything that is not a
:class:`SensoriumError` is a bug and keeps its traceback.
"""

from __future__ import annotations


class SensoriumError(Exception):
    """Base of every error a user can act on."""

    code = "sensorium_error"


class MediaError(SensoriumError):
    """A file cannot be read, decoded or segmented."""

    code = "media_error"

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        super().__init__(f"{path}: {self.detail}")

    @property
    def detail(self) -> str:
        """The reason and what to do, without the path: what ``errors`` keeps for the file."""
        return f"{self.reason}; {self.hint}" if self.hint else self.reason


class ModelMissing(SensoriumError):
    """Model weights are absent, or their checksum is wrong."""

    code = "model_missing"


class UnknownBackend(SensoriumError):
    """A configured encoder or store name is not registered."""

    code = "unknown_backend"


class LibraryError(SensoriumError):
    """A library folder has a newer schema, another model, or is otherwise unusable."""

    code = "library_error"


class ConfigError(SensoriumError):
    """Settings or arguments that cannot work together."""

    code = "config_error"


class QueryError(SensoriumError):
    """A query that cannot be answered as asked (empty labels, unreadable example...)."""

    code = "query_error"
