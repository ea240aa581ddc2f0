"""Decode a still image into one RGB segment, safely and fast.

The pixel limit is checked from the header before any pixel is decoded, so a 30000x30000
PNG costs microseconds, not gigabytes. Images are opened through the plugin of the format
the bytes name (see :func:`sensorium.media.probe.image_format`) rather than ``Image.open``:
that keeps exotic Pillow formats (PSD, EPS...) out and makes ``max_pixels`` the only limit,
instead of Pillow's process-wide ``MAX_IMAGE_PIXELS`` firing first with another message.
"""

from __future__ import annotations

import io
import logging
import math
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from sensorium.errors import MediaError
from sensorium.media.probe import describe, image_format, is_pdf, open_regular, sniff
from sensorium.media.walk import display_path
from sensorium.types import Segment

log = logging.getLogger(__name__)

_PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,  # also reads the first picture of an MPO
    "png": PngImagePlugin.PngImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}
# What Pillow raises for bad image data; anything else is a bug and keeps its traceback.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)
_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# A picture decoded for the encoders may come out this much smaller than ``max_side``: a JPEG is then
# decoded at 1/2, 1/4 or 1/8 scale inside the decoder (nearly free) instead of in full and resized,
# so an 800x600 photo comes out at 400x300 and a 4032x3024 one at 504x378 (see :func:`image_segments`).
SEGMENT_SHRINK = 0.75
# A phone's HEIC carries a small copy of the photo beside it (an iPhone's: 320x240), decoded in
# milliseconds where the 12 MP picture takes 400: it stands in for the picture handed to the
# encoders when its longer side is at least this. `sensorium eval` with every dev-set photo at 320
# gave top-1 0.464, top-5 0.588 and mAP 0.567 against 0.454, 0.619 and 0.569 at 384-512.
HEIF_THUMBNAIL_SIDE = 320
FULL_SIDE = "sensorium_full_side"  # ``Image.info`` key: the longer side of the picture in its file


def load_image(path: Path, *, max_pixels: int, max_side: int | None = None, min_side: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB image, upright, transparency flattened onto white.

    Args:
        max_pixels: refuse images with more pixels than this (``Settings.max_image_pixels``).
        max_side: when given, shrink so the longer side is at most this many pixels
            (JPEGs are decoded at reduced scale directly, which is several times faster).
        min_side: a JPEG's longer side may come out as small as this (default ``max_side``)
            where decoding at a reduced scale gets there without resizing; given, a HEIC's
            embedded thumbnail is read instead of the picture when its longer side is at least
            this or :data:`HEIF_THUMBNAIL_SIDE`, the smaller.

    ``info[FULL_SIDE]`` of the result is the longer side of the picture in the file.

    Raises:
        MediaError: unreadable, not a supported image, over ``max_pixels``, truncated or corrupt.
    """
    with open_regular(path) as fp:
        return _decode(fp, display_path(path), max_pixels, max_side, min_side)


def load_image_bytes(
    data: bytes, name: str, *, max_pixels: int, max_side: int | None = None, min_side: int | None = None
) -> Image.Image:
    """:func:`load_image` for uploaded bytes; ``name`` is used in error messages."""
    if not data:
        raise MediaError(name, "empty file (0 bytes)", "upload a non-empty image")
    return _decode(io.BytesIO(data), name, max_pixels, max_side, min_side)


def image_segments(path: Path, *, max_pixels: int, max_side: int | None = None) -> list[Segment]:
    """The one segment of a still image; see :func:`load_image` for arguments and errors.

    With ``max_side``, a JPEG's longer side comes out between :data:`SEGMENT_SHRINK` × ``max_side``
    and ``max_side`` (a HEIC with a phone's thumbnail: the thumbnail, from :data:`HEIF_THUMBNAIL_SIDE`):
    the encoders resize again to their inputs (224 and 192 pixels), and fitting an
    800x600 photo to 512 cost more than decoding it. Indexing 388 dev-set photos: 11.6 s against
    13.5 s (means of four), with the same classification (``sensorium eval``, see README).
    """
    min_side = math.ceil(max_side * SEGMENT_SHRINK) if max_side else None
    img = load_image(path, max_pixels=max_pixels, max_side=max_side, min_side=min_side)
    return [Segment(source=str(path), modality="image", index=0, payload=img)]


@contextmanager
def open_header(path: Path) -> Iterator[ImageFile.ImageFile | None]:
    """A still image with its header parsed and no pixel decoded (for its tags); None for a camera RAW.

    Raises:
        MediaError: unreadable, or not a supported image.
    """
    name = display_path(path)
    with open_regular(path) as fp:
        fmt = _format(fp, name)
        yield None if fmt == "raw" else _open_header(fp, fmt, name)


def _format(fp: BinaryIO, name: str) -> str:
    """The image format the first bytes name (``fp`` left at its start), or the error saying what it is."""
    fmt = image_format(fp.read(64), os.path.splitext(name)[1])
    if fmt is None:
        raise _not_an_image(fp, name)
    fp.seek(0)
    return fmt


def _decode(fp: BinaryIO, name: str, max_pixels: int, max_side: int | None, min_side: int | None = None) -> Image.Image:
    fmt = _format(fp, name)
    if fmt == "raw":
        return _fit(_decode_raw(fp, name, max_pixels, max_side), max_side)
    img = _open_header(fp, fmt, name)
    check_pixels(img.size, name, max_pixels)
    full = max(img.size)
    if max_side and fmt == "jpeg":
        img.draft("RGB", _draft_size(img.size, min(min_side or max_side, max_side)))
    elif max_side and min_side and fmt == "heif":  # the smallest embedded thumbnail at least this big
        # on the longer side only: a thumbnail's shorter side is rounded either way (451x300 -> 320x212)
        side = min(min_side, max_side, HEIF_THUMBNAIL_SIDE)
        img.draft("RGB", (side, 1) if img.size[0] >= img.size[1] else (1, side))
    try:
        img.load()
    except _DECODE_ERRORS as exc:
        raise _decode_error(name, fmt, exc) from exc
    _upright(img, name)
    out = _fit(to_rgb(img), max_side)
    out.info[FULL_SIDE] = full
    return out


def _draft_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The least size (aspect kept) whose longer side is ``side``: what ``draft`` may scale down to.

    ``draft`` keeps both sides at least the size asked; asking ``(side, side)`` of an 800x600 photo
    would keep the shorter side at 512 and decode it in full.
    """
    w, h = size
    r = min(1.0, side / max(w, h, 1))
    return max(1, math.ceil(w * r)), max(1, math.ceil(h * r))


def _decode_raw(fp: BinaryIO, name: str, max_pixels: int, max_side: int | None) -> Image.Image:
    """A camera RAW through LibRaw (rawpy): its embedded preview where that is large enough, else developed.

    Cameras store a JPEG preview of what they shot, often full size; decoding it is many times
    faster than developing the sensor data and looks as the photographer saw it. Without one (or
    a small one) the sensor data is developed at half size (no interpolation, 4x faster), with the
    camera's white balance, upright.

    Raises:
        MediaError: rawpy is not installed, or LibRaw cannot read the file.
    """
    try:
        import rawpy
    except ImportError as exc:
        raise MediaError(
            name, "a camera RAW image, and reading one needs rawpy", "pip install 'sensorium[raw]'"
        ) from exc
    try:
        with rawpy.imread(fp) as raw:
            width, height = raw.sizes.width, raw.sizes.height
            check_pixels((width, height), name, max_pixels)
            preview = _raw_preview(raw, name, max_side or max(width, height) // 2)
            if preview is not None:
                return preview
            half = max_side is not None and max(width, height) // 2 >= max_side
            return Image.fromarray(raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8))
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise _raw_error(name, exc) from exc


def _raw_error(name: str, exc: BaseException) -> MediaError:
    import rawpy

    said = exc.args[0] if exc.args else ""
    detail = (said.decode(errors="replace") if isinstance(said, bytes) else str(said)) or type(exc).__name__
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return MediaError(name, f"not a camera RAW that LibRaw reads ({detail})", "if it is a TIFF, name it .tif")
    state = "truncated" if isinstance(exc, rawpy.LibRawIOError) else "corrupt"
    return MediaError(name, f"{state} camera RAW image ({detail})", "copy it again from the camera or card")


_RAW_FLIPS = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def _raw_preview(raw, name: str, min_side: int) -> Image.Image | None:  # raw: rawpy.RawPy
    """The RAW's embedded preview, upright, when its longer side is at least ``min_side``; else ``None``."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            img = JpegImagePlugin.JpegImageFile(io.BytesIO(thumb.data), name)
            img.draft("RGB", (min_side, min_side))
            img.load()
        except _DECODE_ERRORS as exc:
            log.warning("%s: unreadable RAW preview (%s); developing the sensor data", name, exc)
            return None
    else:
        img = Image.fromarray(thumb.data)
    if max(img.size) < min_side:
        return None
    img = to_rgb(img)
    flip = _RAW_FLIPS.get(raw.sizes.flip)
    return img.transpose(flip) if flip is not None else img


def _not_an_image(fp: BinaryIO, name: str) -> MediaError:
    fp.seek(0)
    head = fp.read(8192)
    kind = describe(head) if is_pdf(head) else sniff(head) or describe(head)
    hint = "index JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF, HEIC or camera RAW"
    return MediaError(name, f"not a supported image (content looks like {kind})", hint)


def _open_header(fp: BinaryIO, fmt: str, name: str) -> ImageFile.ImageFile:
    """Parse the header only; no pixel is decoded yet."""
    plugin = _PLUGINS.get(fmt) or _optional_plugin(fmt, name)
    try:
        return plugin(fp, name)
    except _DECODE_ERRORS as exc:
        raise _decode_error(name, fmt, exc) from exc


def _optional_plugin(fmt: str, name: str) -> type[ImageFile.ImageFile]:
    """The reader of a format that needs more than Pillow's core: AVIF (libavif) and HEIC (pillow-heif).

    HEIC, what phones write, is read by pillow-heif (libheif with libde265), an optional extra:
    its wheel also bundles the x265 encoder, which is GPL-2.0.

    Raises:
        MediaError: the reader is not installed, naming what to install.
    """
    if fmt == "avif":
        from PIL import AvifImagePlugin, features

        if not features.check("avif"):
            raise MediaError(name, "an AVIF image, and this Pillow was built without AVIF", "convert it to JPEG or PNG")
        return AvifImagePlugin.AvifImageFile
    try:
        from pillow_heif.as_plugin import HeifImageFile
    except ImportError as exc:
        raise MediaError(
            name, "a HEIC/HEIF image, and reading one needs pillow-heif", "pip install 'sensorium[heic]'"
        ) from exc
    return HeifImageFile


def check_pixels(size: tuple[int, int], name: str, max_pixels: int) -> None:
    """Refuse an image larger than ``max_pixels`` before it is decoded.

    Raises:
        MediaError: naming the size, the limit and the setting that raises it.
    """
    width, height = size
    if width * height > max_pixels:
        raise MediaError(
            name,
            f"image is {width}x{height} pixels ({_mp(width * height)} MP), over the limit of {_mp(max_pixels)} MP",
            "raise SENSORIUM_MAX_IMAGE_PIXELS to index it",
        )


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.4g}"


def _decode_error(name: str, fmt: str, exc: BaseException) -> MediaError:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    low = detail.lower()
    if "unknown" in low or "unsupported" in low or "not supported" in low:
        return MediaError(name, f"unsupported {fmt.upper()} variant ({detail})", "convert it to PNG or JPEG")
    state = "truncated" if "truncated" in low or "end of file" in low else "corrupt"
    return MediaError(name, f"{state} {fmt.upper()} image ({detail})", "re-export or re-download it")


def _upright(img: Image.Image, name: str) -> None:
    """Apply the EXIF orientation in place; a broken EXIF block only costs the rotation."""
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except (SyntaxError, ValueError, struct.error, OSError) as exc:
        log.warning("%s: unreadable EXIF orientation (%s); using the image as stored", name, exc)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; alpha and transparent palette entries become white."""
    if img.mode in _HIGH_DEPTH_MODES:
        img = _to_8bit(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return img if img.mode == "RGB" else img.convert("RGB")


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float greyscale to "L", keeping the full range visible.

    16-bit data divides by 257 (65535 -> 255); float data in [0, 1] scales by 255; other
    ranges (e.g. signed depth maps) are stretched from their minimum to their maximum.
    """
    arr = np.asarray(img).astype(np.float64)
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if img.mode.startswith("I;16") or (img.mode == "I" and lo >= 0 and 255 < hi <= 65535):
        arr = arr / 257.0
    elif img.mode == "F" and lo >= 0 and hi <= 1:
        arr = arr * 255.0
    elif lo < 0 or hi > 255:
        arr = (arr - lo) * (255.0 / (hi - lo))
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))


def _fit(img: Image.Image, max_side: int | None) -> Image.Image:
    """Shrink so the longer side is at most ``max_side``, keeping the aspect ratio."""
    if max_side and max(img.size) > max_side:
        # reducing_gap: box-reduce by an integer factor first, then an antialiased bilinear
        # filter for the rest (the models resize again; Lanczos cost 2x for no measured gain).
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return img
