"""Recordings and clips carrying container tags, written by FFmpeg (PyAV) as taggers and phones write them."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

_RATES = {"libmp3lame": 22050, "libopus": 48000}


def write_tagged(
    path: Path, tags: dict[str, str], *, codec: str = "libmp3lame", video: bool = False, on_stream: bool = False
) -> None:
    """Two seconds of a 440 Hz tone (or ten grey frames with ``video``) under ``tags``.

    ``on_stream`` puts the tags on the stream, as Ogg's Vorbis comments live; a video's keys are
    written as a phone writes them (QuickTime ``mdta``).
    """
    options = {"movflags": "use_metadata_tags"} if video else {}
    with av.open(str(path), "w", options=options) as out:
        if video:
            out.metadata.update(tags)
            stream = out.add_stream("mpeg4", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
        else:
            stream = out.add_stream(codec, rate=_RATES.get(codec, 16000), layout="mono")
            (stream.metadata if on_stream else out.metadata).update(tags)
            t = np.arange(32000) / 16000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            frame.sample_rate = 16000
            resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=stream.rate)
            for f in resampler.resample(frame) + resampler.resample(None):
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
