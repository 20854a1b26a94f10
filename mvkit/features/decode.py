"""Decode a clip once: N uniformly sampled RGB frames plus the audio track's log-mel.

Sampling follows X-Pool's "uniform" rule: split the clip into N equal segments and take
the middle frame of each, so the frames cover the whole clip and do not depend on the
frame rate. Decoding stops at the last frame needed. A bad file raises
:class:`CorruptVideoError` whose message names the file and the reason, so the
extractor can skip it and list it in its report instead of caching zeros.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvkit.features.audio import log_mel as _log_mel


class CorruptVideoError(RuntimeError):
    """A video that cannot be used: missing, unreadable, truncated, no video stream, no frames.

    ``reason`` is a short machine-readable word (``missing``, ``unreadable``,
    ``truncated``, ``no video stream``, ``zero frames``) and ``path`` the file.
    """

    def __init__(self, path: str | os.PathLike, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {reason}" + (f" ({detail})" if detail else ""))

    def __reduce__(self):   # picklable across DataLoader worker processes
        return (CorruptVideoError, (self.path, self.reason, self.detail))


@dataclass
class DecodedClip:
    """Frames ``uint8 [T, H, W, 3]``, their times in seconds ``[T]``, log-mel or ``None``.

    ``log_mel is None`` means the file has no audio track (never a zero-filled array).
    """

    frames: np.ndarray
    frame_times: np.ndarray
    log_mel: np.ndarray | None
    duration: float


def sample_indices(n_total: int, num_frames: int) -> np.ndarray:
    """Indices of the middle frame of ``num_frames`` equal segments of ``n_total`` frames.

    Segment ``i`` spans ``[b_i, b_{i+1} - 1]`` with ``b = floor(linspace(0, n_total,
    num_frames + 1))``; its middle is ``(b_i + b_{i+1} - 1) // 2``. With fewer frames than
    segments, empty segments reuse their start frame, so the result always has
    ``num_frames`` entries (repeats allowed) and is non-decreasing.
    """
    if n_total <= 0:
        raise ValueError(f"sample_indices: n_total must be positive, got {n_total}")
    if num_frames <= 0:
        raise ValueError(f"sample_indices: num_frames must be positive, got {num_frames}")
    bounds = np.floor(np.linspace(0, n_total, num_frames + 1)).astype(np.int64)
    lo = np.minimum(bounds[:-1], n_total - 1)
    hi = np.maximum(bounds[1:] - 1, lo)
    return (lo + hi) // 2


def _open(path: Path):
    import av

    if not path.exists():
        raise CorruptVideoError(path, "missing", "file not found")
    if path.is_dir():
        raise CorruptVideoError(path, "unreadable", "is a directory")
    if path.stat().st_size == 0:
        raise CorruptVideoError(path, "unreadable", "empty file")
    try:
        return av.open(str(path))
    except Exception as e:  # noqa: BLE001 -- PyAV raises several types (InvalidDataError, OSError ...)
        # An MP4 that starts with its 'ftyp' box but cannot be opened lost its end
        # (the 'moov' index is written last): report it as truncated.
        with open(path, "rb") as fh:
            head = fh.read(12)
        reason = "truncated" if head[4:8] == b"ftyp" else "unreadable"
        raise CorruptVideoError(path, reason, f"{type(e).__name__}: {e}") from None


def decode_clip(path: str | os.PathLike, num_frames: int = 8, audio: bool = True,
                times: np.ndarray | None = None) -> DecodedClip:
    """Decode ``num_frames`` uniformly sampled RGB frames (and the log-mel) of one video.

    The container is read once: video packets are decoded only until the last sampled
    frame, audio packets (cheap) are decoded to the end when ``audio`` is true.
    ``times`` (seconds) replaces the uniform sampling: one frame per time, the frame on
    screen then (index ``floor(t * fps)``, clamped to the last frame); ``num_frames`` is
    then ignored. Raises :class:`CorruptVideoError` naming the file and the reason.
    """
    path = Path(path)
    if times is not None:
        times = np.asarray(times, dtype=np.float64)
        if times.ndim != 1 or times.size == 0 or not np.isfinite(times).all() or times.min() < 0:
            raise ValueError(f"{path}: times must be a non-empty 1-D array of seconds >= 0")
    try:
        return _decode_once(path, num_frames, audio, trust_count=True, times=times)
    except _CountMismatch:   # the header miscounts by a few frames: count by decoding
        return _decode_once(path, num_frames, audio, trust_count=False, times=times)


def _frame_indices(n_total: int, num_frames: int, times: np.ndarray | None, fps: float) -> np.ndarray:
    """The frames to keep: uniform middles, or the frames on screen at ``times``."""
    if times is None:
        return sample_indices(n_total, num_frames)
    return np.minimum(np.floor(times * fps + 1e-9).astype(np.int64), n_total - 1)


class _CountMismatch(Exception):
    """The stream ended cleanly a few frames short of the header's frame count."""


# A clean end of stream this close to the declared count is a header miscount, not a
# truncation (which ends in a decoder error, or much earlier).
_COUNT_TOLERANCE = 0.05


def _decode_once(path: Path, num_frames: int, audio: bool, trust_count: bool,
                 times: np.ndarray | None = None) -> DecodedClip:
    container = _open(path)
    try:
        return _decode(container, path, num_frames, audio, trust_count, times)
    except (CorruptVideoError, _CountMismatch):
        raise
    except Exception as e:  # noqa: BLE001 -- decoder errors deep in a damaged stream
        raise CorruptVideoError(path, "truncated", f"{type(e).__name__}: {e}") from None
    finally:
        container.close()


def _decode(container, path: Path, num_frames: int, audio: bool, trust_count: bool,
            times: np.ndarray | None = None) -> DecodedClip:
    import av

    if not container.streams.video:
        raise CorruptVideoError(path, "no video stream")
    vstream = container.streams.video[0]
    astream = container.streams.audio[0] if (audio and container.streams.audio) else None
    # one thread per clip: extraction parallelises across clips (DataLoader workers), and
    # FFmpeg's own threads only compete with them and with the encoder (measured slower)
    for s in (vstream, astream):
        if s is not None:
            s.thread_type = "NONE"
            s.codec_context.thread_count = 1
    n_declared = int(vstream.frames or 0) if trust_count else 0
    fps = float(vstream.average_rate or 0) or 1.0

    wanted: np.ndarray | None = None
    if n_declared > 0:
        wanted = _frame_indices(n_declared, num_frames, times, fps)
    last_needed = int(wanted.max()) if wanted is not None else None

    wanted_set = set(wanted.tolist()) if wanted is not None else set()
    kept: dict[int, tuple[np.ndarray, float]] = {}     # frame index -> (rgb, time)
    all_frames: list[tuple[np.ndarray, float]] = []    # only when the count is unknown
    chunks: list[np.ndarray] = []
    audio_rate = None
    n_seen = 0

    def take(frame) -> bool:
        """Keep ``frame`` if sampled; True once the last sampled frame is in hand."""
        nonlocal n_seen
        if wanted is None:
            all_frames.append((frame.to_ndarray(format="rgb24"), _time(frame, n_seen, vstream)))
        elif n_seen in wanted_set:
            kept[n_seen] = (frame.to_ndarray(format="rgb24"), _time(frame, n_seen, vstream))
        n_seen += 1
        return last_needed is not None and n_seen > last_needed

    # demux() ends each stream with an empty packet whose decode() flushes the decoder,
    # so frames held back by reordering come out without an explicit flush.
    video_done = False
    streams = [vstream] + ([astream] if astream is not None else [])
    try:
        for packet in container.demux(*streams):
            if packet.stream.type == "video":
                if video_done:
                    continue
                video_done = any(take(frame) for frame in packet.decode())
                if video_done and astream is None:
                    break
            else:
                for frame in packet.decode():
                    chunks.append(_audio_float(frame))
                    audio_rate = frame.sample_rate
    except av.error.FFmpegError as e:
        raise CorruptVideoError(path, "truncated", f"decoding stopped after {n_seen} frames: {e}") from None

    if wanted is None:
        if not all_frames:
            raise CorruptVideoError(path, "zero frames")
        picked = [all_frames[i] for i in _frame_indices(len(all_frames), num_frames, times, fps)]
    else:
        if n_seen == 0:
            raise CorruptVideoError(path, "zero frames")
        if not video_done and n_seen >= n_declared * (1 - _COUNT_TOLERANCE) - 1:
            raise _CountMismatch()
        if not video_done:
            raise CorruptVideoError(path, "truncated",
                                    f"header declares {n_declared} frames, decoded {n_seen}")
        picked = [kept[int(i)] for i in wanted]

    frames = np.stack([f for f, _ in picked])
    times = np.asarray([t for _, t in picked], dtype=np.float64)
    mel = None
    if astream is not None:
        samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0), np.float32)
        mel = _log_mel(samples, audio_rate or astream.rate)
    return DecodedClip(frames=frames, frame_times=times, log_mel=mel,
                       duration=_duration(container, vstream, n_declared or len(all_frames)))


def _time(frame, index: int, vstream) -> float:
    """Presentation time in seconds; falls back to ``index / fps`` without timestamps."""
    if frame.pts is not None and frame.time_base is not None:
        start = vstream.start_time or 0
        return float((frame.pts - start) * frame.time_base)
    rate = float(vstream.average_rate or 1)
    return index / rate


def _audio_float(frame) -> np.ndarray:
    """PyAV audio frame -> float32 ``[C, N]`` in [-1, 1], for planar or packed layouts."""
    arr = np.asarray(frame.to_ndarray())
    name = frame.format.name
    if not frame.format.is_planar:             # packed: [1, N * C] interleaved
        channels = max(1, len(frame.layout.channels))
        arr = arr.reshape(-1, channels).T
    if name.startswith("s16"):
        return arr.astype(np.float32) / 32768.0
    if name.startswith("s32"):
        return arr.astype(np.float32) / 2147483648.0
    if name.startswith("u8"):
        return (arr.astype(np.float32) - 128.0) / 128.0
    return arr.astype(np.float32)


def _duration(container, vstream, n_frames: int) -> float:
    """Clip duration in seconds from the stream, the container, or frames / fps."""
    if vstream.duration is not None and vstream.time_base is not None:
        return float(vstream.duration * vstream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000.0
    rate = float(vstream.average_rate or 1)
    return n_frames / rate
