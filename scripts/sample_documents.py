"""Write two sample PDFs: minutes of a meeting (a text layer, two pages) and a scanned textbook page (OCR).

    python scripts/sample_documents.py DEST

Made by ``tests/documents.py`` from what pip packages ship (matplotlib writes the minutes; the scan
is scikit-image's photographed page).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from documents import write_documents

if __name__ == "__main__":
    write_documents(Path(sys.argv[1]))
