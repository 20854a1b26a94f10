"""Clip-level features at a fixed rate in the decode-once feature store: ``mvkit extract-clips``.

Grounding models see a video as a sequence of short clips (Moment-DETR: 2 s clips of
QVHighlights; here ``rate`` clips per second, default 2). Each video is decoded once, at
``frames_per_clip`` frames per clip (the frame on screen at the middle of each sub-step),
and encoded by the same :class:`~mvkit.features.encoders.VideoTextEncoder` as retrieval,
so any open_clip model works; each stream becomes one feature per clip ``[T, D]`` with
``T = floor(duration * rate)`` (variable per video):

* ``appearance`` -- the image features of the clip's frames, averaged;
* ``motion`` -- the encoder's motion stream over the whole frame sequence (mvkit-tiny's
  motion tower, else consecutive feature differences), averaged over the clip's frame pairs;
* ``audio`` -- the encoder's audio stream of an ``audio_window``-second log-mel window
  centred on the clip (mvkit-tiny's audio tower, else log-mel statistics), averaged over
  time; absent for a video without an audio track.

The store is the retrieval store (:mod:`mvkit.features.store`): sharded, atomic, resumable,
provenance-checked (``"sampling": "clip-rate"`` plus the rate and window), with every
language's text features under ``text/``. A video shorter than one clip, or one that does
not decode, is skipped and listed with its reason in ``report.json``.

    mvkit extract-clips --data DIR [--encoder mvkit-tiny] [--rate 2] [--out DIR] [--shard i/n]
"""
from __future__ import annotations

import argparse
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkit.features.audio import HOP_LENGTH, SAMPLE_RATE
from mvkit.features.decode import CorruptVideoError, decode_clip
from mvkit.features.extract import (
    TEXT_COMPLETE,
    _as_encoder,
    _worker_init,
    default_num_workers,
    extract_text_features,
    plan_shards,
    resolve_shard,
    video_provenance,
    weights_id,
)
from mvkit.features.store import FeatureStore, StoreWriter, open_store

SAMPLING = "clip-rate"
_MEL_PER_SECOND = SAMPLE_RATE / HOP_LENGTH


class TooShortError(ValueError):
    """A video shorter than one feature step: there is no clip to ground a query in."""


@dataclass(frozen=True)
class ClipSampling:
    """How a video becomes clips: ``rate`` clips per second, frames per clip, audio context."""

    rate: float = 2.0
    frames_per_clip: int = 2
    audio_window: float = 1.0

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.frames_per_clip >= 1 and self.audio_window > 0):
            raise ValueError(f"ClipSampling needs rate > 0, frames_per_clip >= 1, audio_window > 0; got {self}")

    @property
    def step(self) -> float:
        """Seconds per clip."""
        return 1.0 / self.rate

    def n_clips(self, duration: float, video_id: str = "") -> int:
        """Whole clips in ``duration`` seconds; :class:`TooShortError` when there is none."""
        n = math.floor(duration * self.rate + 1e-6)
        if n < 1:
            raise TooShortError(f"video {video_id!r} is {duration:g} s long, shorter than one feature step "
                                f"({self.step:g} s at {self.rate:g} clips/s)")
        return n

    def frame_times(self, n_clips: int) -> np.ndarray:
        """Times (s) of the decoded frames: the middles of ``frames_per_clip`` sub-steps per clip."""
        f = self.frames_per_clip
        return (np.arange(n_clips * f) + 0.5) / (self.rate * f)

    def provenance(self) -> dict[str, Any]:
        return {"sampling": SAMPLING, "clip_rate": self.rate, "frames_per_clip": self.frames_per_clip,
                "audio_window": self.audio_window,
                "clip_pooling": "mean over the clip's frames / frame pairs / audio window"}


def audio_windows(log_mel: np.ndarray, n_clips: int, sampling: ClipSampling) -> list[np.ndarray]:
    """One log-mel window ``[n_mels, W]`` per clip, centred on it (edges repeat the border column)."""
    width = max(1, round(sampling.audio_window * _MEL_PER_SECOND))
    padded = np.pad(log_mel, ((0, 0), (width, width)), mode="edge")
    out = []
    for k in range(n_clips):
        centre = (k + 0.5) * sampling.step * _MEL_PER_SECOND
        lo = round(centre - width / 2) + width
        out.append(padded[:, lo:lo + width])
    return out


def clip_features(encoder: Any, frames: Any, log_mel: np.ndarray | None, n_clips: int,
                  sampling: ClipSampling) -> dict[str, np.ndarray]:
    """Per-clip features ``{stream: float32 [n_clips, D]}`` of one video's decoded frames.

    ``frames``: the encoder's transformed frames ``[n_clips * frames_per_clip, 3, S, S]``.
    """
    f = sampling.frames_per_clip
    if f < 2:   # the encoder's motion stream needs two frames: repeat the single one
        frames = frames.repeat_interleave(2, dim=0)
        f = 2
    out = encoder.encode_batch(frames[None], [None])[0]
    app = out["appearance"]
    mot = np.concatenate([out["motion"], out["motion"][-1:]])      # pair i -> frame i; last repeats
    feats = {"appearance": app.reshape(n_clips, f, -1).mean(1), "motion": mot.reshape(n_clips, f, -1).mean(1)}
    if log_mel is not None and "audio" in encoder.streams:
        audio = encoder.encode_audio(audio_windows(log_mel, n_clips, sampling), segments=1, batch=True)
        feats["audio"] = np.stack([a.mean(0) for a in audio])
    return {k: v.astype(np.float32) for k, v in feats.items()}


class _LongClipDataset:
    """index -> (video_id, transformed frames | None, log_mel, n_clips, skip reason); runs in workers."""

    def __init__(self, items: list[tuple[str, Path | None, float | None]], sampling: ClipSampling,
                 transform: Any, audio: bool) -> None:
        self.items, self.sampling, self.transform, self.audio = items, sampling, transform, audio

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        vid, path, duration = self.items[i]
        if path is None:
            return vid, None, None, 0, "missing: the dataset gives no path"
        if duration is None:
            return vid, None, None, 0, "no duration: grounding needs the video's duration"
        try:
            n = self.sampling.n_clips(duration, vid)
            clip = decode_clip(path, audio=self.audio, times=self.sampling.frame_times(n))
        except TooShortError as e:
            return vid, None, None, 0, f"too short: {e}"
        except CorruptVideoError as e:
            return vid, None, None, 0, f"{e.reason}: {e}"
        return vid, self.transform(clip.frames), clip.log_mel, n, None


def extract_clip_features(dataset: Any, encoder: Any, out_dir: str | os.PathLike,
                          sampling: ClipSampling | None = None, shard: tuple[int, int] | str | None = None,
                          num_workers: int | None = None, device: Any = None, videos_per_shard: int = 64,
                          progress: bool = True) -> FeatureStore | None:
    """Decode, encode and cache every video of ``dataset`` as clip-level features at ``out_dir``.

    Resumes a killed run at the first unfinished shard; returns the opened store, or ``None``
    when this process's ``shard`` is done but others are missing. Raises
    :class:`~mvkit.features.store.ProvenanceMismatch` if ``out_dir`` holds other features.
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    sampling = sampling or ClipSampling()
    out_dir = Path(out_dir)
    i, n = resolve_shard(shard)
    plan = plan_shards([v.video_id for v in dataset.videos], videos_per_shard)
    prov = {**video_provenance(encoder, sampling.frames_per_clip, "float32"), **sampling.provenance()}
    writer = StoreWriter(out_dir, prov, plan)
    writer.clean_stale()
    mine = [k for k in writer.pending() if k % n == i]
    if mine:
        by_id = {v.video_id: v for v in dataset.videos}
        order = [(k, vid) for k in mine for vid in plan[k]]
        items = [(vid, dataset.video_path(by_id[vid]), by_id[vid].duration) for _, vid in order]
        workers = default_num_workers() if num_workers is None else int(num_workers)
        data = _LongClipDataset(items, sampling, encoder.frame_transform, audio="audio" in encoder.streams)
        loader = DataLoader(data, batch_size=None, num_workers=workers,
                            worker_init_fn=_worker_init if workers else None, prefetch_factor=4 if workers else None)
        dev = torch.device(device) if device is not None else torch.device(getattr(encoder, "device", "cpu"))
        threads = torch.get_num_threads()
        if dev.type == "cpu" and workers:   # leave the decoding workers their cores
            torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
        feats: dict[str, dict[str, np.ndarray]] = {}
        skipped: dict[str, str] = {}
        bar = tqdm(total=len(items), desc=f"clips {encoder.name}", unit="video", disable=not progress)
        try:
            for (k, _), (vid, frames, mel, n_clips, reason) in zip(order, loader):
                if reason is None:
                    with torch.inference_mode():
                        feats[vid] = clip_features(encoder, frames.to(dev), mel, n_clips, sampling)
                else:
                    skipped[vid] = reason
                bar.update(1)
                if vid == plan[k][-1]:
                    writer.write_shard(k, {v: feats.pop(v) for v in plan[k] if v in feats},
                                       {v: skipped.pop(v) for v in plan[k] if v in skipped})
        finally:
            torch.set_num_threads(threads)
            bar.close()
    return open_store(out_dir) if writer.finalize() else None


def clip_store_name(encoder: Any, sampling: ClipSampling) -> str:
    """Folder name under ``<world>/features/``, e.g. ``mvkit-tiny-clips-r2-f2-a1-w1a2b3c4d5e``."""
    from mvkit.features.extract import store_dir_name

    base = store_dir_name(encoder.name, sampling.frames_per_clip, weights_id(encoder), getattr(encoder, "text_name", None))
    stem, _, tail = base.rpartition(f"-f{sampling.frames_per_clip}")
    return f"{stem}-clips-r{sampling.rate:g}-f{sampling.frames_per_clip}-a{sampling.audio_window:g}{tail}"


def clip_store_is_complete(out: Path, encoder: Any, sampling: ClipSampling) -> bool:
    """True when ``out`` holds finished clip features and every language's text features of ``encoder``."""
    if not ((out / "index.json").exists() and (out / "text" / TEXT_COMPLETE).exists()):
        return False
    open_store(out, expect={"encoder": encoder.name, "weights_sha256": weights_id(encoder), **sampling.provenance()})
    return True


def ensure_clip_store(data: Any, encoder: Any = "mvkit-tiny", sampling: ClipSampling | None = None,
                      out: str | os.PathLike | None = None, pretrained: str | None = None, device: Any = None,
                      num_workers: int | None = None, progress: bool = True) -> Path:
    """The clip store of a dataset (a world folder or a loaded dataset), built once, then reused.

    Default location: ``<world>/features/<clip_store_name>/``. Video and all-language text
    features; an interrupted build resumes.
    """
    from mvkit.data import load
    from mvkit.io import atomic_write_json

    sampling = sampling or ClipSampling()
    dataset = load(data) if isinstance(data, (str, os.PathLike)) else data
    enc = _as_encoder(encoder, pretrained, device)
    out = Path(out) if out is not None else Path(dataset.root) / "features" / clip_store_name(enc, sampling)
    if clip_store_is_complete(out, enc, sampling):
        return out
    extract_clip_features(dataset, enc, out, sampling, num_workers=num_workers, device=device, progress=progress)
    langs = extract_text_features(dataset, enc, out, progress=progress)
    atomic_write_json(out / "text" / TEXT_COMPLETE, {"langs": langs})
    return out


def main(argv: list[str] | None = None) -> int:
    """``mvkit extract-clips``: build (or finish) a clip-level feature store for one dataset."""
    ap = argparse.ArgumentParser(prog="mvkit extract-clips", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder or manifest (mvkit.data.load)")
    ap.add_argument("--encoder", default="mvkit-tiny", help="open_clip model name, checkpoint, local-dir:, or mvkit-tiny")
    ap.add_argument("--pretrained", default=None, help="open_clip pretrained tag (e.g. openai)")
    ap.add_argument("--rate", type=float, default=2.0, help="clips per second (default 2)")
    ap.add_argument("--frames-per-clip", type=int, default=2)
    ap.add_argument("--audio-window", type=float, default=1.0, help="seconds of audio per clip (default 1)")
    ap.add_argument("--out", default=None, help="store folder, resumed if it exists (default under <data>/features/)")
    ap.add_argument("--shard", default=None, help="i/n: this process's part (default: torchrun RANK/WORLD_SIZE)")
    ap.add_argument("--workers", type=int, default=None, help="decoding workers (default: cores - 1)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--no-text", action="store_true", help="skip text features")
    args = ap.parse_args(argv)

    from mvkit.data import load
    from mvkit.features.encoders import create_encoder
    from mvkit.io import atomic_write_json

    sampling = ClipSampling(args.rate, args.frames_per_clip, args.audio_window)
    dataset = load(args.data)
    enc = create_encoder(args.encoder, args.pretrained, device=args.device)
    out = Path(args.out) if args.out else Path(dataset.root) / "features" / clip_store_name(enc, sampling)
    store = extract_clip_features(dataset, enc, out, sampling, shard=args.shard, num_workers=args.workers,
                                  device=args.device)
    if store is None:
        print(f"{out}: this part is done; the store completes when every --shard has run")
        return 0
    if not args.no_text:
        langs = extract_text_features(dataset, enc, store)
        atomic_write_json(store.path / "text" / TEXT_COMPLETE, {"langs": langs})
    print(f"{store.path}: {len(store.video_ids)} videos, streams {store.dims}, "
          f"{len(store.skipped)} skipped (see report.json), text {store.text_langs}, {asdict(sampling)}")
    return 0
