"""Word-processor documents and e-books (DOCX, ODT, EPUB): their text, read safely from the ZIP."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from documents import write_docx, write_epub, write_odt
from sensorium.errors import MediaError
from sensorium.media.office import office_text
from sensorium.media.probe import office_kind, probe


def test_each_kind_is_known_by_its_bytes_and_read_in_order(tmp_path: Path) -> None:
    docx = write_docx(tmp_path / "letter", ["Dear Sir,", "The roof leaks when it rains & the gutter is full."])
    odt = write_odt(tmp_path / "notes", ["Shopping list", "Eggs, flour & milk."])
    epub = write_epub(tmp_path / "book", ["It was a dark night.", "The end came at dawn."])
    for path, kind in [(docx, "docx"), (odt, "odt"), (epub, "epub")]:
        assert office_kind(path.read_bytes()[:8192]) == kind  # no suffix: the bytes say it
        assert probe(path) == "text"
    assert (
        office_text(docx, "docx", max_chars=1000) == "Dear Sir,\n\nThe roof leaks when it rains & the gutter is full."
    )
    assert office_text(odt, "odt", max_chars=1000) == "Shopping list\n\nEggs, flour & milk."
    # chapters in the spine's reading order (the second file first here), without their <title>
    assert office_text(epub, "epub", max_chars=1000) == (
        "Chapter 1\n\nThe end came at dawn.\n\nChapter 0\n\nIt was a dark night."
    )
    assert office_text(docx, "docx", max_chars=12) == "Dear Sir,\n\nT"


def test_a_plain_zip_is_still_an_archive(tmp_path: Path) -> None:
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "hello")
    assert office_kind(archive.read_bytes()) is None
    assert office_kind(archive.read_bytes(), ".docx") == "docx"  # named as one: read as one, and checked


def test_bad_documents(tmp_path: Path) -> None:
    docx = write_docx(tmp_path / "report.docx", ["Quarterly figures."])
    cut = tmp_path / "cut.docx"
    cut.write_bytes(docx.read_bytes()[: docx.stat().st_size // 2])
    with pytest.raises(MediaError) as exc:
        office_text(cut, "docx", max_chars=1000)
    assert exc.value.reason.startswith("corrupt or truncated DOCX")
    stub = tmp_path / "stub.docx"  # cut off inside its first header
    stub.write_bytes(docx.read_bytes()[:10])
    assert probe(stub) == "text"
    with pytest.raises(MediaError) as exc:
        office_text(stub, "docx", max_chars=1000)
    assert exc.value.reason.startswith("corrupt or truncated DOCX")
    misnamed = tmp_path / "photos.docx"
    with zipfile.ZipFile(misnamed, "w") as z:
        z.writestr("a.txt", "hello")
    with pytest.raises(MediaError) as exc:
        office_text(misnamed, "docx", max_chars=1000)
    assert exc.value.reason == "no word/document.xml inside"
    bomb = tmp_path / "bomb.docx"  # 50 MB of zeros deflated to some 50 kB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * 50_000_000)
    with pytest.raises(MediaError) as exc:
        office_text(bomb, "docx", max_chars=1000)
    assert "over the limit" in exc.value.reason and bomb.stat().st_size < 200_000
    empty = write_odt(tmp_path / "empty.odt", ["", "  "])
    with pytest.raises(MediaError) as exc:
        office_text(empty, "odt", max_chars=1000)
    assert exc.value.reason == "no text in ODT"
