"""A tiny learnable fake world: a dataset and an in-memory store with the FeatureStore methods.

Each video has a latent vector z; its appearance frames are a fixed linear map of z plus
noise, its captions' text features another map of z plus noise, so a head can learn the
match in a few epochs. Frame counts vary (padding is exercised) and some videos are silent.
"""
from __future__ import annotations

import numpy as np
import pytest

from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord


class FakeStore:
    """Implements the parts of ``mvkit.features.store.FeatureStore`` the trainer uses."""

    def __init__(self, frames: dict[str, dict[str, np.ndarray]], text: dict[str, tuple[list[str], np.ndarray]],
                 dims: dict[str, int], skipped: dict[str, str] | None = None) -> None:
        self._frames, self._text, self.dims = frames, text, dims
        self.streams = list(dims)
        self.video_ids = list(frames)
        self.skipped = dict(skipped or {})
        self.provenance = {"encoder": "fake", "streams": dims}
        self.path = "fake-store"

    def has(self, vid: str, stream: str = "appearance") -> bool:
        return vid in self._frames and stream in self._frames[vid]

    def stacked(self, ids, stream="appearance"):
        ids = list(ids)
        t = max((len(self._frames[v][stream]) for v in ids if self.has(v, stream)), default=0)
        out = np.zeros((len(ids), t, self.dims[stream]), np.float32)
        mask = np.zeros((len(ids), t), bool)
        for i, v in enumerate(ids):
            if v not in self._frames:
                raise KeyError(v)
            if self.has(v, stream):
                a = self._frames[v][stream]
                out[i, :len(a)], mask[i, :len(a)] = a, True
        return out, mask

    def text_features(self, lang: str):
        return self._text[lang]


def make_world(n_videos: int = 60, langs=("en", "de"), caps_per_video: int = 2, seed: int = 0,
               d_app: int = 16, d_mot: int = 8, d_aud: int = 6, d_text: int = 12, latent: int = 6,
               noise: float = 0.3, skip: int = 0):
    rng = np.random.default_rng(seed)
    A, M, U = rng.normal(size=(latent, d_app)), rng.normal(size=(latent, d_mot)), rng.normal(size=(latent, d_aud))
    W = {l: rng.normal(size=(latent, d_text)) for l in langs}
    videos, captions, frames = [], [], {}
    text: dict[str, tuple[list, list]] = {l: ([], []) for l in langs}
    for i in range(n_videos):
        vid = f"v{i:03d}"
        split = "train" if i < n_videos * 0.6 else ("val" if i < n_videos * 0.8 else "test")
        z = rng.normal(size=latent)
        t = int(rng.integers(3, 7))
        silent = i % 4 == 0
        f = {"appearance": (z @ A + noise * rng.normal(size=(t, d_app))).astype(np.float32),
             "motion": (z @ M + noise * rng.normal(size=(t, d_mot))).astype(np.float32)}
        if not silent:
            f["audio"] = (z @ U + noise * rng.normal(size=(t + 1, d_aud))).astype(np.float32)
        videos.append(VideoRecord(vid, f"videos/{vid}.mp4", split, has_audio=not silent))
        if i >= skip:
            frames[vid] = f
        for lang in langs:
            for k in range(caps_per_video):
                cid = f"{vid}-{lang}-{k}"
                kind = "human" if lang == "en" or k == 0 else "machine-translated"
                captions.append(CaptionRecord(cid, vid, lang, f"caption {k} of {vid} in {lang}", kind))
                text[lang][0].append(cid)
                text[lang][1].append((z @ W[lang] + noise * rng.normal(size=d_text)).astype(np.float32))
    ds = RetrievalDataset("fake", ".", videos, captions, source="fake-world")
    store = FakeStore(frames, {l: (ids, np.stack(a)) for l, (ids, a) in text.items()},
                      {"appearance": d_app, "motion": d_mot, "audio": d_aud},
                      {f"v{i:03d}": "corrupt" for i in range(skip)})
    return ds, store


@pytest.fixture(scope="session")
def world():
    return make_world()


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: intra-op threads only add overhead (and thrash on a shared 2-core box)."""
    from mvkit.train.trainer import torch_threads
    with torch_threads(1):
        yield
