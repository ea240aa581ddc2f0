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
    (
        "ultraface/version-RFB-320.onnx",
        1_270_727,
        "34cd7e60aeff28744c657de7a3dc64e872d506741de66987f3426f2b79f88017",
        "https://raw.githubusercontent.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB/dffdddda9794a50607cba8f318507a28c1c27cab/models/onnx/version-RFB-320.onnx",
    ),
    (
        "efficientat_mn04_as/mn04_as_mAP_432.pt",
        4_066_513,
        "899a8c6217063f6941793102a2780b3dd788ab11fce468d9cf5f0577c453321c",
        "https://github.com/fschmid56/EfficientAT/releases/download/v0.0.1/mn04_as_mAP_432.pt",
    ),
    (
        "efficientat_mn04_as/audioset_labels.csv",
        14_675,
        "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429",
        "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv",
    ),
    (
        "yamnet/yamnet.tflite",
        4_078_224,
        "469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194",
        "https://raw.githubusercontent.com/Jaskaran197/Speaker-Detector/4ec29b6938f1051fe36b46786f8d486d8b74a38e/yamnet.tflite",
    ),
    (
        "yamnet/yamnet_class_map.csv",
        14_096,
        "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
        "https://raw.githubusercontent.com/tensorflow/models/dbeeb148f10adf723067040eedcccda00bdce1e8/research/audioset/yamnet/yamnet_class_map.csv",
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
