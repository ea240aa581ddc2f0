"""PDFs beside photos: indexed as text (a report's text layer, a scan read by OCR), found by meaning and keyword."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from documents import scanned_pdf, text_pdf
from sensorium.cli import app

pytest.importorskip("pypdfium2")
runner = CliRunner()


def search(lib: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["search", *args, "--library", str(lib), "--json", "--min-score", "0"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_reports_and_scans_are_searched_with_the_photos(tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(samples / "cat-chelsea.png", folder)
    text_pdf(
        folder / "minutes.pdf",
        ["Attendance and apologies were noted.", "The committee discussed the budget for next year at length."],
    )
    scanned_pdf(folder / "textbook-scan.pdf")
    lib = tmp_path / "lib"
    result = runner.invoke(app, ["index", str(folder), "--library", str(lib), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["indexed"], report["failed"], report["not_media"]) == (3, 0, 0)

    [hit] = search(lib, "where they talked about money for next year", "--modality", "text", "--limit", "1")
    assert Path(hit["path"]).name == "minutes.pdf"
    assert hit["start"] is None and 'text, page 2: "' in hit["why"]  # the page it is on
    [hit] = search(lib, "markers of the coins", "--limit", "1")  # words OCR read on a scanned page
    assert Path(hit["path"]).name == "textbook-scan.pdf"
    assert Path(search(lib, "a cat", "--limit", "1")[0]["path"]).name == "cat-chelsea.png"
