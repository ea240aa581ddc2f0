"""``sensorium serve``: the library over HTTP for the web page (contract: docs/http-api.md).

:func:`create_app` builds the FastAPI app (tests use it without a server); :func:`run`
serves it with uvicorn. Both need the optional ``fastapi`` and ``uvicorn`` packages, so the
CLI imports this package only when ``serve`` runs.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Sequence

from sensorium.errors import ConfigError
from sensorium.library import Library
from sensorium.server.api import create_app
from sensorium.server.auth import load_token

__all__ = ["create_app", "listen", "load_token", "run"]

_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s]+")


class _RedactToken(logging.Filter):
    """Access log lines keep ``?token=...`` of media requests out of terminals and log files."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, before anything is printed: a port in use is one clear error.

    Raises:
        ConfigError: the host does not resolve, or the address cannot be bound (in use, not ours).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"--host {host}: {reason}; give an address of this machine, such as 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port, or another --host"
        ) from None
    return sock


def run(
    lib: Library,
    *,
    token: str,
    sock: socket.socket,
    read_only: bool = False,
    cors_origins: Sequence[str] = (),
    max_upload_mb: int = 64,
    watch: Sequence[str] = (),
    watch_every: float = 60.0,
) -> None:
    """Serve ``lib`` on ``sock`` (from :func:`listen`) until interrupted."""
    import uvicorn

    app = create_app(
        lib,
        token=token,
        read_only=read_only,
        cors_origins=cors_origins,
        max_upload_mb=max_upload_mb,
        watch=watch,
        watch_every=watch_every,
    )
    config = uvicorn.Config(app, log_level="info")  # configures uvicorn's loggers
    logging.getLogger("uvicorn.access").addFilter(_RedactToken())
    uvicorn.Server(config).run(sockets=[sock])
