"""Encode frames and a waveform into one MP4 (H.264 video + AAC audio) with PyAV.

The encoder runs single-threaded at a constant quantiser, so the same frames and samples
give byte-identical files on the same PyAV/FFmpeg build. A clip without audio gets no audio
stream at all (silence is "absent", never a stream of zeros).
"""
from __future__ import annotations

import io

import av
import numpy as np


def encode_mp4(frames: np.ndarray, audio: np.ndarray | None, fps: int, sample_rate: int,
               qp: int = 20) -> bytes:
    """MP4 bytes for ``frames uint8 [T, H, W, 3]`` and optional mono ``audio float32 [N]``."""
    _, h, w, _ = frames.shape
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        vs = container.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        # constant QP, one thread: libx264's CRF rate control (mb-tree lookahead) gave
        # different bytes from run to run here; constant QP is reproducible
        vs.options = {"qp": str(qp), "preset": "veryfast", "threads": "1"}
        vs.codec_context.thread_count = 1
        as_ = None
        if audio is not None:
            as_ = container.add_stream("aac", rate=sample_rate)
            as_.layout = "mono"
            as_.bit_rate = 32000          # plenty for clicks and tones; keeps files small
            as_.options = {"aac_coder": "fast"}
        for f in frames:
            for pkt in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(pkt)
        for pkt in vs.encode():
            container.mux(pkt)
        if as_ is not None:
            step = 1024
            for i in range(0, audio.size, step):
                af = av.AudioFrame.from_ndarray(audio[None, i:i + step].astype(np.float32),
                                                format="fltp", layout="mono")
                af.sample_rate, af.pts = sample_rate, i
                for pkt in as_.encode(af):
                    container.mux(pkt)
            for pkt in as_.encode():
                container.mux(pkt)
    return buf.getvalue()
