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
        msg = f"{path}: {reason}"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


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
