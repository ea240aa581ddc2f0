"""``sensorium serve``: the library over HTTP for the web page (contract: docs/http-api.md).

:func:`create_app` builds the FastAPI app (tests use it without a server); :func:`run`
serves it with uvicorn. Both need the optional ``fastapi`` and ``uvicorn`` packages, so the
CLI imports this package only when ``serve`` runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from sensorium.library import Library
from sensorium.server.api import create_app
from sensorium.server.auth import load_token

__all__ = ["create_app", "load_token", "run"]

_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s]+")


class _RedactToken(logging.Filter):
    """Access log lines keep ``?token=...`` of media requests out of terminals and log files."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


def run(
    lib: Library,
    *,
    token: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    read_only: bool = False,
    cors_origins: Sequence[str] = (),
    max_upload_mb: int = 64,
) -> None:
    """Serve ``lib`` until interrupted."""
    import uvicorn

    app = create_app(lib, token=token, read_only=read_only, cors_origins=cors_origins, max_upload_mb=max_upload_mb)
    config = uvicorn.Config(app, host=host, port=port, log_level="info")  # configures uvicorn's loggers
    logging.getLogger("uvicorn.access").addFilter(_RedactToken())
    uvicorn.Server(config).run()
