"""The media layer on real photos, real audio/video containers and deliberately broken files."""

from __future__ import annotations

import io
import itertools
import json
import os
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sensorium.errors import MediaError
from sensorium.media import probe as probe_module
from sensorium.media.image import FULL_SIDE, image_segments, load_image, load_image_bytes
from sensorium.media.probe import image_format, probe, probe_bytes
from sensorium.media.text import chunk_text, decode_text, strip_markdown, text_segments
from sensorium.media.walk import display_path, walk

LIMIT = 180_000_000
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def skdata() -> Path:
    skimage = pytest.importorskip("skimage")
    return Path(skimage.__file__).parent / "data"


@pytest.fixture(scope="module")
def hopper_path() -> Path:
    """A real 512x600 photo (Grace Hopper) that matplotlib ships."""
    matplotlib = pytest.importorskip("matplotlib")
    return Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"


@pytest.fixture(scope="module")
def hopper(hopper_path: Path) -> Image.Image:
    with Image.open(hopper_path) as img:
        return img.convert("RGB")


def reason_of(exc: pytest.ExceptionInfo[MediaError]) -> str:
    return exc.value.reason


def diff(a: Image.Image, b: Image.Image | np.ndarray) -> float:
    """Mean absolute difference per channel value."""
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid PNG header claiming a huge image, with no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def write_video(path: Path, codec: str) -> Path:
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_aac(path: Path, container: str | None = None) -> Path:
    av = pytest.importorskip("av")
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("aac", rate=16000)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path


def collect(paths: list[Path], **kwargs) -> tuple[list[Path], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    found = list(walk(paths, on_error=lambda p, r: errors.append((p, r)), **kwargs))
    return found, errors


# ---------------------------------------------------------------- probe


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("astronaut.png", "png"),
        ("rocket.jpg", "jpeg"),
        ("no_time_for_that_tiny.gif", "gif"),
        ("multipage.tif", "tiff"),
    ],
)
def test_probe_real_images(skdata: Path, name: str, fmt: str) -> None:
    assert probe(skdata / name) == "image"
    assert image_format((skdata / name).read_bytes()[:64]) == fmt


@pytest.mark.parametrize(("fmt", "name"), [("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tiff"), ("GIF", "gif")])
def test_probe_formats_saved_from_a_photo(tmp_path: Path, hopper: Image.Image, fmt: str, name: str) -> None:
    path = tmp_path / "photo.bin"  # no telling extension: content decides
    hopper.save(path, format=fmt)
    assert probe(path) == "image"
    assert image_format(path.read_bytes()[:64]) == name


def test_probe_trusts_content_over_extension(tmp_path: Path, hopper: Image.Image) -> None:
    png_named_txt = tmp_path / "notes.txt"
    hopper.save(png_named_txt, format="PNG")
    text_named_jpg = tmp_path / "holiday.jpg"
    text_named_jpg.write_text("<html><body>404 Not Found</body></html>\n")
    assert probe(png_named_txt) == "image"
    with pytest.raises(MediaError):  # non-image bytes behind an image name are reported, not indexed as a note
        probe(text_named_jpg)


def test_probe_text_encodings(tmp_path: Path) -> None:
    words = "Crème brûlée — “quoted” text.\n"
    cases = {
        "utf8.md": words.encode("utf-8"),
        "bom.txt": b"\xef\xbb\xbf" + words.encode("utf-8"),
        "utf16.txt": words.encode("utf-16"),  # with BOM, full of NUL bytes
        "utf16be.txt": b"\xfe\xff" + words.encode("utf-16-be"),
        "latin1.txt": "Café au lait, crème brûlée.\n".encode("latin-1"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert probe(tmp_path / name) == "text", name


def test_probe_legacy_text_needs_a_text_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.dat"
    path.write_bytes("Café au lait, crème brûlée.\n".encode("latin-1"))
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert reason_of(exc).endswith("looks like text in an encoding other than UTF-8)")


def test_text_behind_a_media_name_is_an_error_not_a_note(tmp_path: Path) -> None:
    """An error page saved as photo.jpg was indexed as a text note."""
    for name in ("photo.jpg", "song.mp3", "clip.mp4"):
        (tmp_path / name).write_text("<html><body>404 Not Found</body></html>\n")
        with pytest.raises(MediaError) as exc:
            probe(tmp_path / name)
        assert reason_of(exc) == f"holds text, not the media its {Path(name).suffix} name promises", name
    (tmp_path / "page.html").write_text("<html><body>404 Not Found</body></html>\n")
    assert probe(tmp_path / "page.html") == "text"  # what its name says


def test_probe_audio_from_soundfile(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)
    for name in ("a.wav", "a.flac", "a.ogg", "a.aiff", "a.mp3"):
        sf.write(tmp_path / name, tone, 16000)
        assert probe(tmp_path / name) == "audio", name
    assert (tmp_path / "a.mp3").read_bytes()[:1] == b"\xff"  # a bare MPEG frame, no ID3 tag


def test_probe_video_and_audio_containers(tmp_path: Path) -> None:
    for name, codec in (("v.mp4", "mpeg4"), ("v.mov", "mpeg4"), ("v.avi", "mpeg4"), ("v.webm", "libvpx")):
        assert probe(write_video(tmp_path / name, codec)) == "video", name
    m4a = write_aac(tmp_path / "a.m4a")
    assert m4a.read_bytes()[4:12] == b"ftypM4A "
    assert probe(m4a) == "audio"
    mp3_with_tag = tmp_path / "tagged.mp3"
    mp3_with_tag.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100))
    assert probe(mp3_with_tag) == "audio"


def test_probe_matroska_audio_by_extension(tmp_path: Path) -> None:
    mka = write_aac(tmp_path / "a.mka", container="matroska")
    assert mka.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    assert probe(mka) == "audio"
    same = tmp_path / "a.mkv"
    same.write_bytes(mka.read_bytes())
    assert probe(same) == "video"  # EBML alone cannot tell; only the extension breaks the tie


def test_probe_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert str(exc.value) == f"{path}: empty file (0 bytes); re-create or re-download it, or exclude it"


def test_probe_pdf_and_names_zip(tmp_path: Path) -> None:
    pdf = tmp_path / "paper"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert probe(pdf) == "text"  # a document, by its bytes: its text layer or OCR (media/pdf.py)
    junk = tmp_path / "report.pdf"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MediaError) as exc:
        probe(junk)
    assert not isinstance(exc.value, probe_module.NotMedia)  # named as a document: a failure, not passed over
    assert reason_of(exc).endswith("though named .pdf: damaged, or not what its name says")
    archive = tmp_path / "bundle"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "hello")
    with pytest.raises(MediaError) as exc:
        probe(archive)
    assert reason_of(exc).endswith("looks like a ZIP archive (also .xlsx, .pptx))")
    assert str(exc.value).endswith("; skip it with --exclude 'bundle'")
    broken = tmp_path / "holiday [1].jpg"  # a damaged photo: exclude that file, not every JPEG
    broken.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MediaError) as exc:
        probe(broken)
    assert str(exc.value).endswith("; skip it with --exclude 'holiday [[]1].jpg'")


def test_probe_names_formats_we_do_not_index_yet(hopper: Image.Image) -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n'
    with pytest.raises(MediaError) as exc:
        probe_bytes(svg, "logo.svg")  # valid UTF-8, but indexing path data as prose would be noise
    assert reason_of(exc).endswith("looks like an SVG drawing, not supported yet)")


def test_probe_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(b"\x00\x01\x02\x03\x10\x20\x30\x40" + np.random.default_rng(0).bytes(4000))
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert reason_of(exc) == (
        "not a supported media type (content starts with 00 01 02 03 10 20 30 40, "
        "looks like binary data of an unknown format)"
    )


def test_junk_named_as_media_says_so_and_examples_get_no_index_advice(tmp_path: Path) -> None:
    """Random bytes named .mp3 read as any unknown file; classify and search advised --exclude, which they lack."""
    from sensorium.query import example_problem

    path = tmp_path / "broken.mp3"
    path.write_bytes(b"\x84\xc3\x18\xf0" + np.random.default_rng(1).bytes(4000))
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert reason_of(exc).endswith("though named .mp3: damaged, or not what its name says")
    assert "--exclude" in exc.value.detail  # indexing: skip it
    assert "--exclude" not in example_problem(exc.value)  # an example: use another file
    assert example_problem(exc.value).endswith("use a readable image, video, sound or text file")


def test_probe_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as exc:
        probe(tmp_path)
    assert reason_of(exc) == "is a directory"
    with pytest.raises(MediaError) as exc:
        probe(tmp_path / "missing.jpg")
    assert str(exc.value) == f"{tmp_path / 'missing.jpg'}: no such file or directory; check the path"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(MediaError) as exc:
        probe(fifo)  # must not block reading a pipe
    assert reason_of(exc) == "not a regular file (device, pipe or socket)"


@pytest.mark.skipif(ROOT, reason="root reads files whatever their mode")
def test_probe_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("hidden")
    path.chmod(0)
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert str(exc.value) == f"{path}: permission denied; check the file's permissions"


def test_probe_permission_error_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same mapping as above, but runs as root too: the open itself is refused."""
    path = tmp_path / "secret.txt"
    path.write_text("hidden")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(probe_module, "open", refuse, raising=False)
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert str(exc.value) == f"{path}: permission denied; check the file's permissions"


def test_probe_bytes_for_uploads(hopper_path: Path) -> None:
    assert probe_bytes(hopper_path.read_bytes(), "upload.jpg") == "image"
    assert probe_bytes(b"plain words\n", "note") == "text"
    with pytest.raises(MediaError) as exc:
        probe_bytes(b"", "upload.png")
    assert str(exc.value) == "upload.png: empty file (0 bytes); upload a non-empty file"


# ---------------------------------------------------------------- images: decoding


def test_load_real_jpeg(hopper_path: Path, hopper: Image.Image) -> None:
    img = load_image(hopper_path, max_pixels=LIMIT)
    assert (img.mode, img.size) == ("RGB", (512, 600))
    assert diff(img, hopper) == 0


def test_load_real_pngs(skdata: Path) -> None:
    img = load_image(skdata / "astronaut.png", max_pixels=LIMIT)
    assert (img.mode, img.size) == ("RGB", (512, 512))
    gray = load_image(skdata / "camera.png", max_pixels=LIMIT)  # an 8-bit greyscale photo
    with Image.open(skdata / "camera.png") as raw:
        assert raw.mode == "L"
        expected = np.asarray(raw)
    assert gray.mode == "RGB"
    assert all(np.array_equal(np.asarray(gray)[..., c], expected) for c in range(3))


def test_max_side_uses_jpeg_draft_and_keeps_aspect(hopper_path: Path, hopper: Image.Image) -> None:
    img = load_image(hopper_path, max_pixels=LIMIT, max_side=128)
    assert img.size == (109, 128)
    reference = hopper.copy()
    reference.thumbnail((128, 128), Image.Resampling.LANCZOS)
    assert diff(img, reference) < 4  # draft (DCT scaling) then Lanczos ~ full decode then Lanczos


def test_segments_of_a_jpeg_are_decoded_at_reduced_scale_without_resizing(tmp_path: Path, skdata: Path) -> None:
    # The encoders resize to 224 and 192 anyway: an 800x600 photo decodes at 1/2 scale (400x300)
    # instead of in full and resized to 512x384, a 1600x1200 one at 1/4; a 2400x1800 one at 1/4
    # too (600x450, then fitted: 1/8 would be under 384); a 600x450 one in full (1/2: under 384).
    photo = Image.open(skdata / "coffee.png").convert("RGB")
    sizes = {(800, 600): (400, 300), (1600, 1200): (400, 300), (2400, 1800): (512, 384), (600, 450): (512, 384)}
    for size, decoded in sizes.items():
        path = tmp_path / f"{size[0]}.jpg"
        photo.resize(size).save(path, quality=90)
        [segment] = image_segments(path, max_pixels=LIMIT, max_side=512)
        assert segment.payload.size == decoded
        assert segment.payload.info[FULL_SIDE] == size[0]
    # loading with max_side alone still fits exactly; PNGs have no reduced scale
    assert load_image(tmp_path / "800.jpg", max_pixels=LIMIT, max_side=512).size == (512, 384)
    photo.resize((800, 600)).save(tmp_path / "800.png")
    assert image_segments(tmp_path / "800.png", max_pixels=LIMIT, max_side=512)[0].payload.size == (512, 384)


def test_max_side_on_png_and_small_images(skdata: Path) -> None:
    assert load_image(skdata / "coffee.png", max_pixels=LIMIT, max_side=200).size == (200, 133)
    assert load_image(skdata / "microaneurysms.png", max_pixels=LIMIT, max_side=500).size == (102, 102)


@pytest.mark.parametrize(
    ("fmt", "options", "tolerance"),
    [
        ("PNG", {}, 0),
        ("BMP", {}, 0),
        ("TIFF", {}, 0),
        ("WEBP", {"lossless": True}, 0),
        ("WEBP", {"quality": 90}, 4),
    ],
)
def test_formats_round_trip(tmp_path: Path, hopper: Image.Image, fmt: str, options: dict, tolerance: float) -> None:
    path = tmp_path / f"photo.{fmt.lower()}"
    hopper.save(path, format=fmt, **options)
    img = load_image(path, max_pixels=LIMIT)
    assert (img.mode, img.size) == ("RGB", hopper.size)
    assert diff(img, hopper) <= tolerance


def test_cmyk_jpeg(tmp_path: Path, hopper: Image.Image) -> None:
    path = tmp_path / "print.jpg"
    hopper.convert("CMYK").save(path, quality=95)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    img = load_image(path, max_pixels=LIMIT)
    assert img.mode == "RGB"
    assert diff(img, hopper) < 3


def test_sixteen_bit_png_and_tiff_scale_to_eight_bits(tmp_path: Path, hopper: Image.Image) -> None:
    gray = np.asarray(hopper.convert("L"))
    deep = Image.fromarray(gray.astype(np.uint16) * 257)  # 0..255 -> 0..65535
    for name in ("deep.png", "deep.tif"):
        deep.save(tmp_path / name)
        with Image.open(tmp_path / name) as raw:
            assert raw.mode == "I;16"
        img = np.asarray(load_image(tmp_path / name, max_pixels=LIMIT))
        assert all(np.array_equal(img[..., c], gray) for c in range(3)), name


def test_palette_png_transparency_becomes_white(tmp_path: Path, hopper: Image.Image) -> None:
    pal = hopper.quantize(colors=255)
    palette = [*pal.getpalette()[: 255 * 3], 0, 0, 0]  # index 255: black, and transparent
    pal.putpalette(palette)
    pal.paste(255, (0, 0, 100, 100))
    path = tmp_path / "palette.png"
    pal.save(path, transparency=255)
    with Image.open(path) as raw:
        assert (raw.mode, raw.info["transparency"]) == ("P", 255)
    img = np.asarray(load_image(path, max_pixels=LIMIT))
    assert (img[:100, :100] == 255).all()  # over white, not black
    assert diff(img[100:], np.asarray(hopper)[100:]) < 12


def test_rgba_and_la_composite_over_white(tmp_path: Path, hopper: Image.Image) -> None:
    rgba = np.dstack([np.asarray(hopper), np.full(hopper.size[::-1], 255, np.uint8)])
    rgba[:50, :50, 3] = 0
    rgba[50:100, :50] = (0, 0, 0, 128)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    img = np.asarray(load_image(tmp_path / "rgba.png", max_pixels=LIMIT))
    assert (img[:50, :50] == 255).all()
    assert set(np.unique(img[50:100, :50])) <= {127, 128}  # half-transparent black over white
    assert np.array_equal(img[100:], np.asarray(hopper)[100:])
    la = hopper.convert("LA")
    la.putalpha(Image.new("L", la.size, 0))
    la.save(tmp_path / "la.png")
    assert (np.asarray(load_image(tmp_path / "la.png", max_pixels=LIMIT)) == 255).all()


def test_bilevel_and_grey_modes(tmp_path: Path, hopper: Image.Image) -> None:
    hopper.convert("1").save(tmp_path / "bw.png")
    img = np.asarray(load_image(tmp_path / "bw.png", max_pixels=LIMIT))
    assert img.shape == (600, 512, 3)
    assert set(np.unique(img)) == {0, 255}


def test_gif_first_frame(skdata: Path, tmp_path: Path) -> None:
    path = skdata / "no_time_for_that_tiny.gif"
    with Image.open(path) as raw:
        assert raw.n_frames > 1
        first = raw.convert("RGB")
    img = load_image(path, max_pixels=LIMIT)
    assert img.size == first.size
    assert diff(img, first) == 0


def test_exif_orientation_is_applied(tmp_path: Path, hopper: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "phone.jpg"
    hopper.save(path, exif=exif, quality=95)
    img = load_image(path, max_pixels=LIMIT)
    assert img.size == (600, 512)
    assert diff(img, hopper.transpose(Image.Transpose.ROTATE_270)) < 3
    small = load_image(path, max_pixels=LIMIT, max_side=100)
    assert small.size == (100, 85)


def test_avif_photos_decode(tmp_path: Path, hopper: Image.Image) -> None:
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF")
    path = tmp_path / "photo.avif"
    hopper.save(path, quality=90)
    assert (probe(path), image_format(path.read_bytes())) == ("image", "avif")
    img = load_image(path, max_pixels=LIMIT)
    assert img.size == hopper.size and img.mode == "RGB"
    assert diff(img, hopper) < 4  # the same picture, through a lossy codec
    assert load_image(path, max_pixels=LIMIT, max_side=100).size == (85, 100)
    with pytest.raises(MediaError) as exc:
        load_image(path, max_pixels=512 * 599)  # the limit holds before any pixel is decoded
    assert "over the limit" in reason_of(exc)


def test_heic_photos_decode_upright(tmp_path: Path, hopper: Image.Image) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "IMG_0001.HEIC"
    exif = Image.Exif()
    exif[0x0112] = 6  # as a phone held upright writes it: stored sideways, turned when shown
    pillow_heif.from_pillow(hopper.transpose(Image.Transpose.ROTATE_90)).save(path, quality=90, exif=exif.tobytes())
    assert (probe(path), image_format(path.read_bytes())) == ("image", "heif")
    img = load_image(path, max_pixels=LIMIT)
    assert img.size == hopper.size  # turned back upright (stored 600x512)
    assert diff(img, hopper) < 4
    cut = tmp_path / "cut.heic"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MediaError) as exc:
        load_image(cut, max_pixels=LIMIT)
    assert reason_of(exc).startswith("truncated HEIF image")


def test_a_phones_heic_thumbnail_stands_in_for_the_picture(tmp_path: Path, skdata: Path) -> None:
    # A phone's HEIC carries a 320x240 copy of the photo: indexing reads it (milliseconds) instead
    # of the 12 MP picture (0.4 s); asked for a size without a lower bound, or when the thumbnail is
    # too small, the picture itself is decoded. Turned upright either way.
    pillow_heif = pytest.importorskip("pillow_heif")
    photo = Image.open(skdata / "coffee.png").convert("RGB").resize((1600, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways, shown upright
    stored = photo.transpose(Image.Transpose.ROTATE_90)
    paths = {}
    for name, thumbnails in [("phone", [320]), ("small", [160]), ("none", [])]:
        paths[name] = tmp_path / f"{name}.heic"
        pillow_heif.from_pillow(stored).save(paths[name], quality=85, thumbnails=thumbnails, exif=exif.tobytes())
    [segment] = image_segments(paths["phone"], max_pixels=LIMIT, max_side=512)
    assert segment.payload.size == (320, 240) and segment.payload.info[FULL_SIDE] == 1600
    assert diff(segment.payload, photo.resize((320, 240), Image.Resampling.LANCZOS)) < 6
    assert load_image(paths["phone"], max_pixels=LIMIT, max_side=512).size == (512, 384)
    for name in ("small", "none"):
        assert image_segments(paths[name], max_pixels=LIMIT, max_side=512)[0].payload.size == (512, 384)


def test_heic_without_pillow_heif_says_what_to_install(
    tmp_path: Path, hopper: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "IMG_0002.heic"
    pillow_heif.from_pillow(hopper).save(path, quality=50)
    monkeypatch.setitem(__import__("sys").modules, "pillow_heif.as_plugin", None)
    with pytest.raises(MediaError) as exc:
        load_image(path, max_pixels=LIMIT)
    assert reason_of(exc) == "a HEIC/HEIF image, and reading one needs pillow-heif"
    assert str(exc.value).endswith("; pip install 'sensorium[heic]'")


def test_camera_raw_is_developed_upright(tmp_path: Path, hopper: Image.Image) -> None:
    pytest.importorskip("rawpy")
    from camera_raw import write_dng

    photo = np.asarray(hopper)
    path = write_dng(tmp_path / "DSC_0001.NEF", photo)  # TIFF inside: only the name says RAW
    assert (probe(path), image_format(path.read_bytes()[:64], ".nef")) == ("image", "raw")
    assert image_format(path.read_bytes()[:64]) == "tiff"
    img = load_image(path, max_pixels=LIMIT)  # demosaiced and developed by LibRaw
    assert img.size == hopper.size and img.mode == "RGB"
    corr = np.corrcoef(np.asarray(img.convert("L"), float).ravel(), np.asarray(hopper.convert("L"), float).ravel())
    assert corr[0, 1] > 0.95  # the same picture (LibRaw brightens it)
    assert load_image(path, max_pixels=LIMIT, max_side=100).size == (85, 100)
    with pytest.raises(MediaError) as exc:
        load_image(path, max_pixels=512 * 599)
    assert "over the limit" in reason_of(exc)


def test_camera_raw_preview_is_used_and_turned(tmp_path: Path, hopper: Image.Image) -> None:
    pytest.importorskip("rawpy")
    from camera_raw import write_dng

    stored = np.ascontiguousarray(np.asarray(hopper.transpose(Image.Transpose.ROTATE_90)))
    path = write_dng(tmp_path / "IMG_0001.dng", stored, preview=stored, orientation=6)
    img = load_image(path, max_pixels=LIMIT, max_side=600)
    assert img.size == hopper.size and diff(img, hopper) == 0  # the preview's very pixels, turned upright
    developed = load_image(path, max_pixels=LIMIT, max_side=1024)  # more than the preview: developed
    assert developed.size == hopper.size and diff(developed, hopper) > 0


def test_bad_camera_raw_files(tmp_path: Path, hopper: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rawpy")
    from camera_raw import write_dng

    path = write_dng(tmp_path / "ok.dng", np.asarray(hopper))
    cut = tmp_path / "cut.dng"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MediaError) as exc:
        load_image(cut, max_pixels=LIMIT)
    assert reason_of(exc).startswith("truncated camera RAW image")
    tiff = tmp_path / "scan.nef"
    hopper.save(tiff, format="TIFF")
    with pytest.raises(MediaError) as exc:
        load_image(tiff, max_pixels=LIMIT)
    assert reason_of(exc).startswith("not a camera RAW that LibRaw reads")
    assert str(exc.value).endswith("; if it is a TIFF, name it .tif")
    monkeypatch.setitem(__import__("sys").modules, "rawpy", None)
    with pytest.raises(MediaError) as exc:
        load_image(path, max_pixels=LIMIT)
    assert reason_of(exc) == "a camera RAW image, and reading one needs rawpy"
    assert str(exc.value).endswith("; pip install 'sensorium[raw]'")


def test_raw_magic() -> None:
    assert image_format(b"FUJIFILMCCD-RAW 0201FF383501") == "raw"
    assert image_format(b"II*\x00\x10\x00\x00\x00CR\x02\x00") == "raw"  # Canon CR2
    assert image_format(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01") == "raw"  # Canon CR3, not a video
    assert image_format(b"IIU\x00\x18\x00\x00\x00") == "raw"  # Panasonic RW2
    assert image_format(b"II*\x00\x08\x00\x00\x00", ".tif") == "tiff"


def test_heif_brands() -> None:
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = major + b"\0\0\0\0" + b"".join(compatible)
        return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\0\0\0\x08meta"

    assert image_format(ftyp(b"heic", b"mif1", b"heic")) == "heif"
    assert image_format(ftyp(b"avif", b"mif1", b"miaf")) == "avif"
    assert image_format(ftyp(b"mif1", b"avif", b"miaf")) == "avif"  # generic major brand: the compatible say AV1
    assert image_format(ftyp(b"mif1", b"heic")) == "heif"
    assert image_format(ftyp(b"isom", b"avc1")) is None  # a video
    assert probe_bytes(ftyp(b"isom", b"avc1") + bytes(64), "clip.mp4") == "video"


def test_image_segments_and_bytes(hopper_path: Path) -> None:
    [segment] = image_segments(hopper_path, max_pixels=LIMIT, max_side=64)
    assert (segment.source, segment.modality, segment.index) == (str(hopper_path), "image", 0)
    assert segment.payload.size == (55, 64)
    from_bytes = load_image_bytes(hopper_path.read_bytes(), "upload.jpg", max_pixels=LIMIT, max_side=64)
    assert diff(from_bytes, segment.payload) == 0


# ---------------------------------------------------------------- images: refusing bad input


def test_pixel_limit_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png())
    started = time.perf_counter()
    with pytest.raises(MediaError) as exc:
        load_image(path, max_pixels=LIMIT)
    assert time.perf_counter() - started < 0.5
    assert str(exc.value) == (
        f"{path}: image is 30000x30000 pixels (900 MP), over the limit of 180 MP; "
        "raise SENSORIUM_MAX_IMAGE_PIXELS to index it"
    )
    with pytest.raises(MediaError) as exc:
        load_image_bytes(bomb_png(), "upload.png", max_pixels=LIMIT)
    assert reason_of(exc) == "image is 30000x30000 pixels (900 MP), over the limit of 180 MP"


def test_pixel_limit_is_ours_not_pillows(skdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MediaError) as exc:
        load_image(skdata / "astronaut.png", max_pixels=100_000)
    assert reason_of(exc) == "image is 512x512 pixels (0.2621 MP), over the limit of 0.1 MP"
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's process-wide guard does not pre-empt ours
    assert load_image(skdata / "astronaut.png", max_pixels=LIMIT).size == (512, 512)


def test_truncated_jpeg_and_png(tmp_path: Path, hopper: Image.Image, hopper_path: Path) -> None:
    data = hopper_path.read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as exc:
        load_image(tmp_path / "half.jpg", max_pixels=LIMIT)
    assert reason_of(exc) == "truncated JPEG image (image file is truncated (42 bytes not processed))"
    assert str(exc.value).endswith("; re-export or re-download it")
    png = io.BytesIO()
    hopper.save(png, format="PNG")
    with pytest.raises(MediaError) as exc:
        load_image_bytes(png.getvalue()[: len(png.getvalue()) // 2], "half.png", max_pixels=LIMIT)
    assert reason_of(exc) == "truncated PNG image (image file is truncated)"


def test_corrupt_png_data(tmp_path: Path, hopper: Image.Image) -> None:
    png = io.BytesIO()
    hopper.save(png, format="PNG")
    data = bytearray(png.getvalue())
    data[200:4000] = bytes(3800)  # zero the compressed pixel stream
    with pytest.raises(MediaError) as exc:
        load_image_bytes(bytes(data), "scrambled.png", max_pixels=LIMIT)
    assert reason_of(exc).startswith("corrupt PNG image (")


def test_unsupported_tiff_variant(skdata: Path) -> None:
    with pytest.raises(MediaError) as exc:
        load_image(skdata / "multipage_rgb.tif", max_pixels=LIMIT)  # planar float64 RGB
    assert reason_of(exc) == "unsupported TIFF variant (unknown pixel mode)"


def test_not_an_image(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(MediaError) as exc:
        load_image(empty, max_pixels=LIMIT)
    assert reason_of(exc) == "empty file (0 bytes)"
    text = tmp_path / "page.jpg"
    text.write_text("<!doctype html><title>Access denied</title>\n")
    with pytest.raises(MediaError) as exc:
        load_image(text, max_pixels=LIMIT)
    assert str(exc.value) == (
        f"{text}: not a supported image (content looks like text); "
        "index JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF, HEIC or camera RAW"
    )
    with pytest.raises(MediaError) as exc:
        load_image_bytes(b"%PDF-1.7\n", "scan.jpg", max_pixels=LIMIT)
    assert reason_of(exc) == "not a supported image (content looks like a PDF)"
    with pytest.raises(MediaError) as exc:
        load_image_bytes(b"", "upload.jpg", max_pixels=LIMIT)
    assert reason_of(exc) == "empty file (0 bytes)"


# ---------------------------------------------------------------- text


@pytest.fixture(scope="module")
def readme() -> str:
    """A real Markdown document: the README that the installed ``rich`` package carries."""
    from importlib.metadata import distribution

    body = distribution("rich").read_text("METADATA") or ""
    return body.split("\n\n", 1)[1]  # drop the metadata headers


def test_text_segments_of_real_markdown(tmp_path: Path, readme: str) -> None:
    path = tmp_path / "README.md"
    path.write_text(readme, encoding="utf-8")
    segments = text_segments(path, max_bytes=20_000_000)
    assert len(segments) > 3
    assert [s.index for s in segments] == list(range(len(segments)))
    assert {s.modality for s in segments} == {"text"} and {s.source for s in segments} == {str(path)}
    joined = "\n".join(s.payload for s in segments)
    assert all(len(s.payload) <= 1000 for s in segments)
    for markup in ("](", "![", "**", "\n# ", "```"):
        assert markup not in joined
    assert "Rich is a Python library for rich text and beautiful formatting in the terminal." in joined


def test_decode_text_encodings() -> None:
    words = "Crème brûlée — “quoted”.\r\nSecond line."
    expected = "Crème brûlée — “quoted”.\nSecond line."
    assert decode_text(words.encode("utf-8"), "a") == expected
    assert decode_text(b"\xef\xbb\xbf" + words.encode("utf-8"), "a") == expected
    assert decode_text(words.encode("utf-16"), "a") == expected
    assert decode_text(b"\xfe\xff" + words.encode("utf-16-be"), "a") == expected
    assert decode_text("“Café” au lait.".encode("cp1252"), "a") == "“Café” au lait."
    stray = "Café au lait with one stray \x81 byte."  # 0x81 is unmapped in cp1252: Latin-1 it is
    assert decode_text(stray.encode("latin-1"), "a") == stray


def test_decode_text_refuses_binary() -> None:
    with pytest.raises(MediaError) as exc:
        decode_text(np.random.default_rng(1).bytes(3000), "blob.txt")
    assert str(exc.value) == (
        "blob.txt: not text (not UTF-8, and mostly unprintable as Latin-1); re-save it as UTF-8 or exclude it"
    )
    with pytest.raises(MediaError) as exc:
        decode_text(b"valid utf-8 \x00 with a NUL", "nul.txt")
    assert reason_of(exc) == "binary content (NUL bytes), not text"
    with pytest.raises(MediaError) as exc:
        decode_text(b"\xef\xbb\xbfok \xff", "bad.txt")
    assert reason_of(exc) == "invalid UTF-8 text at byte 6"


def test_text_limits_and_empty(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_text("x" * 150)
    with pytest.raises(MediaError) as exc:
        text_segments(small, max_bytes=100)
    assert str(exc.value) == (
        f"{small}: text file is 150 bytes, over the limit of 100 bytes; raise SENSORIUM_MAX_TEXT_BYTES to index it"
    )
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 500_000)
    with pytest.raises(MediaError) as exc:
        text_segments(big, max_bytes=1_000_000)
    assert reason_of(exc) == "text file is 2.5 MB, over the limit of 1 MB"
    blank = tmp_path / "blank.md"
    blank.write_text("  \n\n\t\n")
    with pytest.raises(MediaError) as exc:
        text_segments(blank, max_bytes=100)
    assert str(exc.value) == f"{blank}: no text in file; add text to it or exclude it"
    only_markup = tmp_path / "rule.md"
    only_markup.write_text("---\n\n***\n")
    with pytest.raises(MediaError) as exc:
        text_segments(only_markup, max_bytes=100)
    assert reason_of(exc) == "no text in file"
    empty = tmp_path / "empty.txt"
    empty.touch()
    with pytest.raises(MediaError) as exc:
        text_segments(empty, max_bytes=100)
    assert reason_of(exc) == "empty file (0 bytes)"


def test_strip_markdown() -> None:
    source = (
        "---\ntitle: Trip\n---\n"
        "# Holiday *notes* #\n\n"
        "Some **bold** and __strong__ words, a [link](https://x.org) and ![a cat](cat.png).\n"
        "> quoted `code` here\n\n"
        "- first item\n* second item\n\n"
        "| a | b |\n|---|:---:|\n| 1 | 2 |\n\n"
        "```python\nprint(snake_case_name * 2)\n```\n"
        "<!-- hidden -->Keep 5 * 3 * 2, _private and snake_case, _but not this_.\n\n[link]: https://example.org\n"
    )
    assert strip_markdown(source) == (
        "Holiday notes\n\n"
        "Some bold and strong words, a link and a cat.\n"
        "quoted code here\n\n"
        "first item\nsecond item\n\n"
        "| a | b |\n| 1 | 2 |\n\n"
        "print(snake_case_name * 2)\n"
        "Keep 5 * 3 * 2, _private and snake_case, but not this."
    )


def sentences(paragraph: int, count: int) -> str:
    return " ".join(f"Sentence {i} of paragraph {paragraph} says something plain." for i in range(count))


def test_chunks_are_sentences_with_overlap() -> None:
    text = "\n\n".join(sentences(p, 12) for p in range(6))
    chunks = chunk_text(text, 400, 120)
    assert all(len(c) <= 400 for c in chunks)
    assert all(c.startswith("Sentence ") and c.endswith("plain.") for c in chunks)
    every = [f"Sentence {i} of paragraph {p} says something plain." for p in range(6) for i in range(12)]
    assert all(any(s in c for c in chunks) for s in every)
    for before, after in itertools.pairwise(chunks):
        # the next chunk starts by repeating whole sentences from the end of the previous one
        shared = max(k for k in range(len(after) + 1) if before.endswith(after[:k]))
        assert 0 < shared <= 120
        assert after[:shared].endswith("plain.")


def test_a_web_page_is_read_as_a_browser_shows_it(tmp_path: Path) -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Recipes</title><style>p {color: red}</style></head><body>"
        "<h1>Sourdough recipe</h1><p>Bake the sourdough &amp; let it rest.<br>Then <b>slice</b> it.</p>"
        "<script>var hidden = 1;</script></body></html>"
    )
    for name in ("recipes.html", "saved-page.txt"):  # by its name, or by how it starts
        (tmp_path / name).write_text(page)
        [segment] = text_segments(tmp_path / name, max_bytes=1 << 20)
        assert segment.payload == "Recipes\n\nSourdough recipe\n\nBake the sourdough & let it rest.\n\nThen slice it."
    (tmp_path / "maths.md").write_text("Is 3 < 4 and 5 > 2? <b>yes</b> in plain notes.")
    [segment] = text_segments(tmp_path / "maths.md", max_bytes=1 << 20)
    assert segment.payload.startswith("Is 3 < 4 and 5 > 2? yes")  # a note with a tag in it is not a page


def test_chunks_prefer_paragraph_boundaries() -> None:
    first, second = sentences(0, 11), sentences(1, 11)
    assert 500 < len(first) < 1000
    chunks = chunk_text(f"{first}\n\n{second}", 1000, 0)
    assert chunks == [first, second]


def test_chunks_of_text_without_spaces() -> None:
    # cut into 798-character pieces so that each next chunk still has room for 200 of overlap
    assert chunk_text("x" * 2500, 1000, 200) == ["x" * 798, "x" * 998, "x" * 998, "x" * 306]
    cjk = "今天天气很好。" * 300
    chunks = chunk_text(cjk, 100, 20)
    assert all(len(c) <= 100 and c.endswith("。") for c in chunks)
    assert chunk_text("One short note.", 1000, 200) == ["One short note."]
    with pytest.raises(ValueError):
        chunk_text("text", 100, 100)


# ---------------------------------------------------------------- walk


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for rel in ("b.txt", "a.jpg", "sub/c.png", "sub/deeper/d.md", ".git/config", ".hidden.txt", "lib/x.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def test_walk_sorted_skipping_hidden_and_library(tree: Path) -> None:
    found, errors = collect([tree], skip_dirs=[tree / "lib", tree / "not-created-yet"])
    assert found == [tree / "a.jpg", tree / "b.txt", tree / "sub/c.png", tree / "sub/deeper/d.md"]
    assert errors == []
    explicit, _ = collect([tree / ".git", tree / "b.txt", tree / "b.txt"])
    assert explicit == [tree / ".git/config", tree / "b.txt"]  # hidden when named, each file once
    # another library inside the tree: its store's 70-odd files were indexed (or failed) as media
    other = tree / "sub" / "old-library"
    (other / "lance" / "records.lance").mkdir(parents=True)
    (other / "manifest.json").write_text("{}")
    (other / "lance" / "records.lance" / "0.txn").write_bytes(b"\x00" * 10)
    assert collect([tree], skip_dirs=[tree / "lib"])[0] == found


def test_walk_include_exclude(tree: Path) -> None:
    assert collect([tree], include=["*.jpg", "*.png"])[0] == [tree / "a.jpg", tree / "sub/c.png"]
    assert collect([tree], exclude=["*/deeper/*", "b.*"])[0] == [tree / "a.jpg", tree / "lib/x.txt", tree / "sub/c.png"]
    assert collect([tree], exclude=["sub"])[0] == [tree / "a.jpg", tree / "b.txt", tree / "lib/x.txt"]
    assert collect([tree], include=["sub/deeper/*"])[0] == [tree / "sub/deeper/d.md"]  # relative to the top


def test_walk_follows_symlinks_and_reports_loops(tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "e.jpg").write_text("e")
    (tree / "sub" / "linked").symlink_to(other)
    (tree / "sub" / "deeper" / "up").symlink_to(tree)  # loop back to the top
    (tree / "self").symlink_to(tree / "self")  # a link to itself
    (tree / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    found, errors = collect([tree], skip_dirs=[tree / "lib"])
    assert found == [tree / p for p in ("a.jpg", "b.txt", "sub/c.png", "sub/deeper/d.md", "sub/linked/e.jpg")]
    assert errors == [
        (str(tree / "gone.jpg"), f"broken symlink (target {tmp_path / 'deleted.jpg'} does not exist)"),
        (str(tree / "self"), "symlink loop (too many levels of symbolic links)"),
        (str(tree / "sub/deeper/up"), f"symlink loop (leads back to {tree}); not followed"),
    ]


def test_walk_reports_pipes_and_sockets_inside_folders(tree: Path) -> None:
    import socket

    os.mkfifo(tree / "sub" / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tree / "sub" / "agent.sock"))
    try:
        found, errors = collect([tree], skip_dirs=[tree / "lib"])
        excluded, quiet = collect([tree], skip_dirs=[tree / "lib"], exclude=["*.sock", "*.jpg"])
    finally:
        sock.close()
    assert found == [tree / "a.jpg", tree / "b.txt", tree / "sub/c.png", tree / "sub/deeper/d.md"]  # never opened
    reason = "not a regular file (device, pipe or socket); skipped"
    assert errors == [(str(tree / "sub/agent.sock"), reason), (str(tree / "sub/pipe.jpg"), reason)]
    assert quiet == [] and excluded == [tree / "b.txt", tree / "sub/c.png", tree / "sub/deeper/d.md"]


def test_walk_missing_top_and_unlistable_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str]) -> Iterator[os.DirEntry[str]]:
        if Path(path) == tree / "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found, errors = collect([tree / "nope", tree], skip_dirs=[tree / "lib"])
    assert found == [tree / "a.jpg", tree / "b.txt"]
    assert errors == [
        (str(tree / "nope"), "no such file or directory"),
        (str(tree / "sub"), "cannot list folder: permission denied"),
    ]


@pytest.mark.skipif(ROOT, reason="root reads files whatever their mode")
def test_walk_unreadable_for_real(tree: Path) -> None:
    (tree / "sub").chmod(0)
    (tree / "b.txt").chmod(0)
    try:
        found, errors = collect([tree], skip_dirs=[tree / "lib"])
    finally:
        (tree / "sub").chmod(0o755)
    assert found == [tree / "a.jpg"]
    assert errors == [
        (str(tree / "b.txt"), "permission denied"),
        (str(tree / "sub"), "cannot list folder: permission denied"),
    ]


def test_walk_non_utf8_names(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path / "names")
    os.mkdir(folder)
    fd = os.open(os.path.join(folder, b"caf\xe9.txt"), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, "Latin-1 name, UTF-8 content: café.".encode())
    os.close(fd)
    os.close(os.open(os.path.join(folder, b"line\nbreak.txt"), os.O_CREAT | os.O_WRONLY, 0o644))
    found, errors = collect([tmp_path / "names"])
    assert errors == []
    assert [p.name for p in found] == ["caf\udce9.txt", "line\nbreak.txt"]
    assert display_path(found[0]) == f"{tmp_path}/names/caf\\xe9.txt"
    assert display_path(found[1]).endswith("/line\\x0abreak.txt")
    json.dumps(display_path(found[0])).encode("utf-8")  # safe for JSON output
    assert probe(found[0]) == "text"
    [segment] = text_segments(found[0], max_bytes=1000)
    assert os.fsencode(segment.source).endswith(b"caf\xe9.txt")  # reopenable: the name survives
    with pytest.raises(MediaError) as exc:
        probe(found[1])
    assert str(exc.value).startswith(f"{display_path(found[1])}: empty file (0 bytes); ")
    assert "\n" not in str(exc.value)
