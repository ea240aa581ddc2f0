"""Make sure the models directory holds the verified model files Sensorium needs.

Files already present are checked by size and sha256; missing ones are fetched from their
upstream (each NOTICE in shared/models says where) and checked before they are moved into
place. Standard library only, so it runs before anything else is installed.

Usage: python scripts/fetch_models.py MODELS_DIR
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

# name in the models dir, size, sha256, upstream URL
MODELS = [
    (
        "yolox_nano/yolox_nano.onnx",
        3_659_407,
        "4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da",
        "https://raw.githubusercontent.com/skpawar1305/rs_yolox/18ff8bc330b8c742869254081d8f4838deacf251/weights/yolox_nano.onnx",
    ),
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def ensure(models_dir: Path) -> int:
    problems = 0
    for name, size, digest, url in MODELS:
        path = models_dir / name
        if path.is_file():
            if path.stat().st_size == size and sha256(path) == digest:
                print(f"ok       {name}")
                continue
            print(f"error: {path}: size or sha256 does not match; delete it to fetch it again", file=sys.stderr)
            problems += 1
            continue
        print(f"fetching {name} from {url}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            os.close(fd)
            urllib.request.urlretrieve(url, tmp)
            if Path(tmp).stat().st_size != size or sha256(Path(tmp)) != digest:
                raise OSError("downloaded file does not match the expected size and sha256")
            os.replace(tmp, path)
            print(f"ok       {name}")
        except OSError as exc:
            print(f"error: {name}: cannot fetch ({exc}); download {url} into {path} by hand", file=sys.stderr)
            problems += 1
        finally:
            if "tmp" in locals() and os.path.exists(tmp):
                os.unlink(tmp)
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(1 if ensure(Path(sys.argv[1])) else 0)
