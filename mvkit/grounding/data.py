"""One split's grounding queries and clip features in memory, ready for batching.

Clip features come from the clip store (:mod:`mvkit.grounding.features`, ``[T, D]`` per
video and stream, padded to the longest video with a mask); queries are the split's
captions that carry ``spans``, with their cached sentence features. Ground truth is kept
in seconds (for metrics) and as ``(centre, width)`` normalised by the video's duration
(for training, as Moment-DETR does). Videos without features (corrupt, too short) are
left out with their queries, and a :class:`~mvkit.data.readers.common.DataWarning` says so.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mvkit.data.readers.common import DataWarning, fmt_ids
from mvkit.data.records import CaptionRecord, RetrievalDataset
from mvkit.train.data import load_stream


def text_rows(store: Any, captions: Sequence[CaptionRecord]) -> Tensor:
    """Cached sentence features ``[N, D]`` of ``captions`` (in order) from ``store.text_features``."""
    table: dict[str, np.ndarray] = {}
    for lang in sorted({c.lang for c in captions}):
        ids, arr = store.text_features(lang)
        table.update(zip(ids, np.asarray(arr, dtype=np.float32)))
    missing = [c.caption_id for c in captions if c.caption_id not in table]
    if missing:
        raise ValueError(f"{getattr(store, 'path', store)}: no cached text features for {len(missing)} queries, "
                         f"e.g. {missing[:5]}; run `mvkit extract-clips` without --no-text")
    return torch.from_numpy(np.stack([table[c.caption_id] for c in captions])) if captions else torch.zeros(0, 0)


@dataclass
class GroundingSplit:
    """Videos of one split (clip features) and their grounding queries.

    ``q_video[i]``: row of query i's video; ``gt[i]``: its windows in seconds ``[G_i, 2]``
    (:meth:`gt_cw_row`: normalised (centre, width)); ``durations[v]`` in seconds.
    """

    split: str
    video_ids: list[str]
    durations: Tensor
    feats: dict[str, Tensor]
    masks: dict[str, Tensor]
    queries: list[CaptionRecord]
    q_video: Tensor
    text: Tensor
    gt: list[np.ndarray]
    skipped: dict[str, str] = field(default_factory=dict)
    clip_rate: float = 2.0

    @property
    def clip_mask(self) -> Tensor:
        """``[V, T]``: the clips each video really has (the appearance stream is never absent)."""
        return self.masks["appearance"]

    @property
    def langs(self) -> list[str]:
        return [q.lang for q in self.queries]

    def select(self, rows: Sequence[int] | Tensor) -> GroundingSplit:
        """The same videos with only the queries at ``rows`` (e.g. one language)."""
        rows = torch.as_tensor(list(rows) if not isinstance(rows, Tensor) else rows, dtype=torch.long)
        r = rows.tolist()
        return GroundingSplit(self.split, self.video_ids, self.durations, self.feats, self.masks,
                              [self.queries[i] for i in r], self.q_video[rows], self.text[rows],
                              [self.gt[i] for i in r], self.skipped, self.clip_rate)

    def by_lang(self, lang: str) -> GroundingSplit:
        return self.select([i for i, q in enumerate(self.queries) if q.lang == lang])

    def batch(self, rows: Tensor, targets: bool = True) -> dict[str, Any]:
        """Queries at ``rows`` with their videos' clips, trimmed to the longest clip count
        (``targets=False``: without the ground truth, for inference)."""
        v = self.q_video[rows]
        t = int(self.clip_mask[v].sum(1).max()) if len(rows) else 0
        out = {"feats": {s: x[v, :t] for s, x in self.feats.items()},
               "masks": {s: m[v, :t] for s, m in self.masks.items()},
               "text": self.text[rows], "durations": self.durations[v],
               "video_ids": [self.video_ids[int(i)] for i in v]}
        if targets:
            out["targets"] = [self.gt_cw_row(int(i)) for i in rows]
        return out

    def gt_cw_row(self, i: int) -> Tensor:
        """Query ``i``'s windows as (centre, width) normalised by its video's duration."""
        d = float(self.durations[int(self.q_video[i])])
        se = torch.as_tensor(self.gt[i], dtype=torch.float32) / d
        return torch.stack([(se[:, 0] + se[:, 1]) / 2, se[:, 1] - se[:, 0]], 1)


def build_grounding_split(dataset: RetrievalDataset, store: Any, split: str, *,
                          langs: Sequence[str] | None = None, kinds: Sequence[str] | None = None,
                          streams: Sequence[str] | None = None) -> GroundingSplit:
    """Load one split's grounding queries (captions with spans) of ``langs``/``kinds`` and their videos."""
    sub = dataset.subset(split=split, langs=langs, kinds=kinds)
    src = dataset.source or dataset.name
    queries = [c for c in sub.captions if c.spans]
    if not queries:
        raise ValueError(f"{src}: split {split!r} has no grounding queries (captions with spans) for "
                         f"langs={list(langs) if langs else 'all'} kinds={list(kinds) if kinds else 'all'}")
    in_store = set(store.video_ids)
    wanted = sorted({q.video_id for q in queries})
    skipped = {v: (store.skipped or {}).get(v, "not in the feature store") for v in wanted if v not in in_store}
    if skipped:
        dropped = sum(q.video_id in skipped for q in queries)
        warnings.warn(f"{getattr(store, 'path', store)}: {len(skipped)} {split} video(s) have no clip features, "
                      f"so their {dropped} queries are left out: "
                      f"{fmt_ids(f'{v} ({r})' for v, r in skipped.items())}", DataWarning, stacklevel=2)
    vids = [v for v in wanted if v in in_store]
    if not vids:
        raise ValueError(f"{getattr(store, 'path', store)}: none of the {len(wanted)} {split!r} videos has clip features")
    streams = list(streams or store.streams)
    feats, masks = {}, {}
    for s in streams:
        feats[s], masks[s] = load_stream(store, vids, s)
    index = {v: i for i, v in enumerate(vids)}
    queries = [q for q in queries if q.video_id in index]
    dur = {v.video_id: v.duration for v in sub.videos}
    return GroundingSplit(split, vids, torch.tensor([float(dur[v]) for v in vids]), feats, masks, queries,
                          torch.tensor([index[q.video_id] for q in queries]), text_rows(store, queries),
                          [np.asarray(q.spans, dtype=np.float64) for q in queries], skipped,
                          float(store.provenance.get("clip_rate", 2.0)))
