"""A trained model's view of one split: its text and video embeddings and every similarity.

The failure gallery (notebook 04), the embedding maps (00, 05) and the quick-start all look at
the same thing: what the model scores for each (caption, video) pair of a split. It is computed
here once with the trainer's own data loading and chunked similarity, so the pictures show the
numbers the evaluation reports.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mvkit.data.records import CaptionRecord, RetrievalDataset


@dataclass
class SplitEmbeddings:
    """A trained model's view of one split: captions (rows), videos (columns), similarities."""

    captions: list[CaptionRecord]
    video_ids: list[str]
    caption_video: np.ndarray      # int [Q]: column of each caption's video
    text: dict[str, torch.Tensor]  # the model's text embeddings (one tensor per space)
    video: dict[str, torch.Tensor]
    sim: np.ndarray                # float [Q, V] text-to-video similarity

    @property
    def langs(self) -> list[str]:
        return [c.lang for c in self.captions]

    def joint(self) -> tuple[np.ndarray, np.ndarray]:
        """(text [Q, E], video [V, E]) vectors whose dot product is the model's score.

        Each space's unit vectors are scaled by the square root of its fusion weight and
        concatenated, so one 2-D map shows the space the model actually ranks in.
        Only for heads that pool a video into one vector (mean, seqTransf, activity, fusion).
        """
        return _joint(self.text, self.video, self._weights)

    _weights: dict[str, float] | None = None


def _joint(text: dict, video: dict, weights: dict | None) -> tuple[np.ndarray, np.ndarray]:
    ts, vs = [], []
    for space, t in text.items():
        key = f"{space}.v"
        if key not in video:
            raise ValueError(f"space {space!r} has no single video vector (keys {sorted(video)}); "
                             "embedding maps need a pooling head (mean, seqtransf, activity, fusion)")
        w = float((weights or {}).get(space, 1.0)) ** 0.5
        ts.append(w * torch.nn.functional.normalize(t.float(), dim=-1))
        vs.append(w * video[key].float())
    return torch.cat(ts, 1).numpy(), torch.cat(vs, 1).numpy()


def embed_split_for_analysis(model: Any, dataset: RetrievalDataset, store: Any, split: str = "test",
                             langs: Sequence[str] | None = None, kinds: Sequence[str] = ("human",)
                             ) -> SplitEmbeddings:
    """Embed a split's captions and videos with ``model`` and score every pair.

    The same data and similarity the trainer's evaluation uses (``build_split`` +
    ``embed_split`` + ``similarity_matrix``), kept for failure views and maps.
    """
    from mvkit.train.data import split_for_model
    from mvkit.train.evaluate import embed_split

    device = next(model.parameters()).device
    data = split_for_model(model, dataset, store, split, langs=langs, kinds=kinds)
    te, ve = embed_split(model, data, device)
    sim = model.similarity_matrix(te, ve).numpy()
    out = SplitEmbeddings(data.captions, data.video_ids, data.caption_video.numpy(),
                          {k: v.cpu() for k, v in te.items()}, {k: v.cpu() for k, v in ve.items()}, sim)
    out._weights = dict(getattr(model, "weights", {}))
    return out


