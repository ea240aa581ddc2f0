"""Camera RAW files for the tests: a DNG written from a real photo, as a camera's sensor saw it.

No pip package ships a camera's RAW file, so the tests make one: the photo's colours are turned
back into linear light and sampled through an RGGB Bayer filter at 12 bits, the way a sensor
records them, and stored as a DNG (TIFF with Adobe's tags) that LibRaw must demosaic and develop.
The camera is given sRGB primaries (its colour matrix is the XYZ-to-linear-sRGB one), so the
developed picture comes back with the photo's colours. A preview can ride along, as cameras store
one: an 8-bit RGB picture in the first IFD with the sensor data in a sub-IFD.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

WHITE = 4095  # 12-bit sensor
_XYZ_TO_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)


def bayer(rgb8: np.ndarray) -> np.ndarray:
    """(h, w) uint16 RGGB mosaic of an (H, W, 3) uint8 sRGB picture (cropped to even sides)."""
    rgb = rgb8[: rgb8.shape[0] // 2 * 2, : rgb8.shape[1] // 2 * 2].astype(np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    cfa = np.empty(linear.shape[:2], np.uint16)
    for (dy, dx), channel in {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 2}.items():
        cfa[dy::2, dx::2] = np.round(linear[dy::2, dx::2, channel] * WHITE)
    return cfa


def write_dng(path: Path, rgb8: np.ndarray, *, preview: np.ndarray | None = None, orientation: int = 1) -> Path:
    """Write ``rgb8`` as a DNG's sensor data; ``preview`` (uint8 RGB) as its embedded preview."""
    camera = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, "Sensorium test camera", True),  # UniqueCameraModel
        (50721, "2i", 9, [x for v in _XYZ_TO_SRGB for x in (round(v * 10000), 10000)], True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, [10000, 10000] * 3, True),  # AsShotNeutral: no white balance to undo
        (274, "H", 1, orientation, True),  # Orientation
    ]
    sensor = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50717, "I", 1, WHITE, True),  # WhiteLevel
        (50714, "H", 1, 0, True),  # BlackLevel
    ]
    with tifffile.TiffWriter(path) as tif:
        if preview is None:
            tif.write(bayer(rgb8), photometric=32803, extratags=camera + sensor, metadata=None)
        else:
            tif.write(preview, photometric="rgb", subfiletype=1, subifds=1, extratags=camera, metadata=None)
            tif.write(bayer(rgb8), photometric=32803, subfiletype=0, extratags=sensor, metadata=None)
    return path


def write_camera_roll(samples: Path, dest: Path) -> Path:
    """Sample photos (``python -m sensorium.samples``) as a camera roll: two HEICs (a phone), an AVIF
    (the web), a NEF (a camera: a DNG, TIFF inside, named as Nikon does) and a HEIC cut short."""
    import pillow_heif
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    # the first with a thumbnail as a phone writes one (an iPhone's: 320x240), which indexing reads instead
    heics = [("cat-chelsea.png", "IMG_0001.HEIC", [320]), ("cup-of-coffee.png", "IMG_0002.HEIC", [])]
    phone = Image.Exif()  # and where and when it was taken, as a phone writes it: Lisbon, the Rossio
    phone.get_ifd(0x8825).update({1: "N", 2: (38.0, 42.0, 51.6), 3: "W", 4: (9.0, 8.0, 22.8)})
    phone.get_ifd(0x8769).update({36867: "2024:05:18 10:42:07", 36881: "+01:00"})  # DateTimeOriginal, its offset
    for name, out, thumbnails in heics:
        with Image.open(samples / name) as im:
            exif = phone.tobytes() if thumbnails else None
            pillow_heif.from_pillow(im.convert("RGB")).save(dest / out, quality=80, thumbnails=thumbnails, exif=exif)
    with Image.open(samples / "motorcycle.png") as im:
        im.convert("RGB").save(dest / "motorbike.avif", quality=80)
    with Image.open(samples / "rocket-launch.jpg") as im:
        write_dng(dest / "DSC_0003.NEF", np.asarray(im.convert("RGB")))
    data = (dest / "IMG_0001.HEIC").read_bytes()
    (dest / "IMG_0004.HEIC").write_bytes(data[: len(data) // 2])
    return dest
