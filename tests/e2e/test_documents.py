"""PDFs beside photos: indexed as text (a report's text layer, a scan read by OCR), found by meaning and keyword."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from documents import brochure_pdf, write_documents
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
    write_documents(folder)
    lib = tmp_path / "lib"
    result = runner.invoke(app, ["index", str(folder), "--library", str(lib), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["indexed"], report["failed"], report["not_media"]) == (3, 0, 0)

    [hit] = search(lib, "where they talked about money for next year", "--modality", "text", "--limit", "1")
    assert Path(hit["path"]).name == "minutes.pdf"
    assert hit["start"] is None and hit["page"] == 2 and 'text, page 2: "' in hit["why"]  # the page it is on
    [hit] = search(lib, "markers of the coins", "--limit", "1")  # words OCR read on a scanned page
    assert Path(hit["path"]).name == "textbook-scan.pdf"
    [cat] = search(lib, "a cat", "--limit", "1")
    assert Path(cat["path"]).name == "cat-chelsea.png" and cat["page"] is None

    # over HTTP: the page's picture as the hit's thumbnail, and the file served as a PDF
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from sensorium.library import open_library
    from sensorium.server import create_app

    client = TestClient(create_app(open_library(lib), token="t"), headers={"Authorization": "Bearer t"})
    r = client.post("/api/search", json={"text": "the budget for next year", "limit": 1, "modality": "text"})
    assert r.status_code == 200, r.text
    [api_hit] = r.json()["hits"]
    assert api_hit["page"] == 2 and api_hit["thumbnail_url"].endswith("&page=2")
    thumb = client.get(api_hit["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as im:
        assert max(im.size) == 320 and im.size[1] > im.size[0]  # an A4 page, standing
    assert client.get(f"/api/thumbnail?path={quote(api_hit['path'], safe='')}&page=3").status_code == 404
    media = client.get(api_hit["media_url"])
    assert media.status_code == 200 and media.headers["content-type"] == "application/pdf"


def test_progress_moves_page_by_page_through_a_pdf(tmp_path: Path) -> None:
    from sensorium.library import open_library

    folder = write_documents(tmp_path / "docs")
    seen: list[tuple[float, int, str]] = []
    report = open_library(tmp_path / "lib").index([folder], on_progress=lambda d, t, p: seen.append((d, t, p)))
    assert (report.indexed, report.failed) == (2, 0)
    minutes = [(d, label.rsplit(": ", 1)[-1]) for d, _, label in seen if "minutes.pdf: page" in label]
    assert minutes == [(0.5, "page 1 of 2"), (1.0, "page 2 of 2")]  # a scanned PDF's OCR takes seconds a page
    assert all(t == 2 for _, t, _ in seen) and [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


def test_word_libreoffice_and_ebooks_are_searched(tmp_path: Path) -> None:
    from documents import write_docx, write_epub, write_odt

    folder = tmp_path / "office"
    folder.mkdir()
    write_docx(folder / "complaint.docx", ["Dear landlord,", "The roof leaks every time it rains."])
    write_odt(folder / "groceries.odt", ["Shopping list", "Eggs, flour and milk for the pancakes."])
    write_epub(folder / "novel.epub", ["The ship sailed at dawn across the grey sea.", "They reached the harbour."])
    lib = tmp_path / "lib"
    result = runner.invoke(app, ["index", str(folder), "--library", str(lib), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["indexed"] == 3
    for query, expected in [
        ("water coming through the ceiling", "complaint.docx"),
        ("what to buy to make breakfast", "groceries.odt"),
        ("a boat leaving in the morning", "novel.epub"),
    ]:
        [hit] = search(lib, query, "--limit", "1")
        assert Path(hit["path"]).name == expected, (query, hit)


def test_a_document_uploaded_as_an_example_or_to_classify(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from documents import write_docx
    from sensorium.library import open_library
    from sensorium.server import create_app

    folder = write_documents(tmp_path / "docs")
    lib = open_library(tmp_path / "lib")
    lib.index([folder])
    client = TestClient(create_app(lib, token="t"), headers={"Authorization": "Bearer t"})
    written = write_docx(tmp_path / "written.docx", ["Please find attached next year's budget, as discussed."])
    letter = tmp_path / "letter.docx"  # its parts in another order, as some editors write them: only the name says DOCX
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(letter, "w", zipfile.ZIP_DEFLATED) as out:
        for name in sorted(src.namelist(), key=lambda n: n != "_rels/.rels"):
            out.writestr(name, src.read(name))
    r = client.post(
        "/api/search/example",
        files={"file": ("letter.docx", letter.read_bytes())},
        data={"limit": "1", "min_score": "0"},
    )
    assert r.status_code == 200, r.text
    assert Path(r.json()["hits"][0]["path"]).name == "minutes.pdf"  # the minutes' page on the budget
    r = client.post(
        "/api/classify",
        files={"files": ("minutes.pdf", (folder / "minutes.pdf").read_bytes())},
        data={"labels": "a meeting about money, a cooking recipe"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["labels"][0]["label"] == "a meeting about money"


def test_the_photos_in_a_brochure_find_their_pages(tmp_path: Path) -> None:
    """A cat shown on page 1 and a rocket on page 2, neither named in the text: the image models name them."""
    folder = tmp_path / "docs"
    folder.mkdir()
    brochure_pdf(folder / "brochure.pdf", icon=True)
    write_documents(folder)
    lib = tmp_path / "lib"
    result = runner.invoke(app, ["index", str(folder), "--library", str(lib), "--json"])
    assert result.exit_code == 0, result.output
    cat, other = search(lib, "a cat", "--limit", "2")
    assert (Path(cat["path"]).name, cat["page"]) == ("brochure.pdf", 1) and "cat" in cat["why"], cat
    assert cat["score"] > 0.8 > other["score"]
    rocket, _ = search(lib, "a space shuttle launch", "--limit", "2")
    assert (Path(rocket["path"]).name, rocket["page"]) == ("brochure.pdf", 2), rocket
    # turned off, the brochure holds its words only
    plain = tmp_path / "plain"
    env = {"SENSORIUM_PDF_PICTURES": "false"}
    result = runner.invoke(app, ["index", str(folder / "brochure.pdf"), "--library", str(plain), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 2  # a line of text on each page


def test_pdfs_are_read_again_when_their_pictures_are_turned_on_or_off(tmp_path: Path) -> None:
    """A PDF indexed by its words alone (pictures off, or a library from before they were described)
    is read again once pictures are on, and the other way round; notes beside them are left alone."""
    folder = tmp_path / "docs"
    folder.mkdir()
    brochure_pdf(folder / "brochure.pdf", icon=True)
    (folder / "notes.txt").write_text("Shopping list: bread, milk and eggs.", encoding="utf-8")
    lib = tmp_path / "lib"

    def index(pictures: str) -> dict:
        args = ["index", str(folder), "--library", str(lib), "--json"]
        result = runner.invoke(app, args, env={"SENSORIUM_PDF_PICTURES": pictures})
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def cat_on_page_one() -> bool:
        hits = [h for h in search(lib, "a cat") if Path(h["path"]).name == "brochure.pdf"]
        return any(h["page"] == 1 and "cat" in h["why"] for h in hits)

    words = index("false")
    assert (words["indexed"], words["records"]) == (2, 3) and not cat_on_page_one()
    pictures = index("true")
    assert (pictures["indexed"], pictures["skipped"]) == (1, 1) and pictures["records"] > 2
    assert cat_on_page_one()
    assert index("true")["indexed"] == 0  # read once: its row now says its photos were described
    again = index("false")
    assert (again["indexed"], again["skipped"]) == (1, 1) and not cat_on_page_one()  # no passage left behind
