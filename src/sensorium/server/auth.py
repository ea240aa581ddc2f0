"""The server's secret and the guard in front of the API.

The token lives in ``<library>/server-token`` (mode 0600) so that a restarted server keeps
working in browser tabs that already hold it. The guard is plain ASGI middleware rather than
a FastAPI dependency: dependencies run after FastAPI has read and parsed the body, and an
unauthenticated client must not get to upload 64 MiB or learn which fields are valid first.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException

from sensorium.errors import ConfigError

TOKEN_FILE = "server-token"
# <img>, <audio>, <video>, <track> and a download link cannot send headers: only these endpoints also take ?token=.
QUERY_TOKEN_PATHS = frozenset({"/api/media", "/api/thumbnail", "/api/describe", "/api/clip"})
OPEN_PATHS = frozenset({"/api/health"})
FORM_SLACK = 64 * 1024  # multipart boundaries and small form fields on top of the upload limit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def load_token(library: Path) -> str:
    """The library's server token, created (0600, never group/world readable) on first use.

    Raises:
        ConfigError: the library folder or the token file cannot be written or read.
    """
    path = Path(library) / TOKEN_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, 0o600)  # someone loosened it: the token is a password
            token = path.read_text(encoding="utf-8").strip()
            if token:
                return token
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        token = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            fp.write(token + "\n")
        return token
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot keep the server token ({exc.strerror or exc}); make the library folder writable"
        ) from exc


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class Guard:
    """Token check for ``/api/*`` and a cap on request bodies, before any route sees the request.

    A body announced larger than ``max_body`` is refused at once; a body without a length
    (chunked) is counted as it streams and refused when it passes the cap, so an upload is
    never read past the limit.
    """

    def __init__(self, app: ASGIApp, *, token: str, max_body: int) -> None:
        self.app = app
        self.token = token.encode()
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/api/") and path not in OPEN_PATHS and not self._authorised(scope, path):
            await _reply(send, 401, "unauthorised: missing or wrong token; open the address `sensorium serve` printed")
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _reply(send, 413, self._too_large())
            return
        await self.app(scope, self._counted(receive), send)

    def _authorised(self, scope: Scope, path: str) -> bool:
        given = _header(scope, b"authorization") or ""
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(value.strip().encode(), self.token):
            return True
        if path in QUERY_TOKEN_PATHS:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            return any(secrets.compare_digest(t.encode(), self.token) for t in query.get("token", ()))
        return False

    def _counted(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # FastAPI passes an HTTPException raised while reading the body through unchanged.
                    raise HTTPException(413, self._too_large())
            return message

        return counted

    def _too_large(self) -> str:
        mib = (self.max_body - FORM_SLACK) // (1024 * 1024)
        return f"upload too large: the limit is {mib} MiB; send a smaller file or restart with --max-upload-mb"


async def _reply(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
