"""Shared fixtures: real models from SENSORIUM_MODELS, real sample photos, a temp home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    env = os.environ.get("SENSORIUM_MODELS")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "models"
    return shared if shared.is_dir() else Path.home() / ".cache" / "sensorium" / "models"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's library; models come from the verified models folder."""
    monkeypatch.setenv("SENSORIUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SENSORIUM_MODELS", str(models_dir()))
    monkeypatch.setenv("SENSORIUM_HUB_MODELS", str(tmp_path / "hub-models"))  # never the shared models folder
    monkeypatch.delenv("SENSORIUM_LIBRARY", raising=False)
    monkeypatch.delenv("SENSORIUM_TEXT_ENCODER", raising=False)


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sensorium.samples import collect_samples

    folder = tmp_path_factory.mktemp("samples")
    collect_samples(folder)
    return folder


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, samples: Path):
    """A library holding the sample photos and note, indexed once per session."""
    from sensorium.library import open_library

    os.environ.setdefault("SENSORIUM_MODELS", str(models_dir()))
    lib = open_library(tmp_path_factory.mktemp("lib") / "library")
    report = lib.index([samples])
    assert report.failed == 0, report.failures
    return lib
