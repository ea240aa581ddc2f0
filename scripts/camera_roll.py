"""Write sample photos as a camera roll: two HEICs (a phone), an AVIF (the web), a NEF (a camera), a cut HEIC.

    python scripts/camera_roll.py SAMPLES DEST

``SAMPLES`` is the folder ``python -m sensorium.samples`` fills. The NEF is a DNG written from a
photo through a Bayer filter by ``tests/camera_raw.py`` (no package ships a camera's RAW file).
Needs the ``heic`` and ``raw`` extras (``make`` installs them).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from camera_raw import write_camera_roll

if __name__ == "__main__":
    write_camera_roll(Path(sys.argv[1]), Path(sys.argv[2]))
