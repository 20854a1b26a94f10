"""Batched evaluation: collect embeddings batch by batch, rank once at the end.

An evaluation loop sees captions and videos in batches (from a DataLoader, or from
several ranks); the exact ranks need all of them. The accumulator keeps embeddings on the
CPU (the only thing that grows with the split) and calls :func:`text_video_ranks`, which
never builds the full similarity matrix.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch

from mvkit.metrics.ranks import Ties, text_video_ranks
from mvkit.metrics.summary import summarize


class RetrievalAccumulator:
    """Collects ``(text_emb, video_id)`` and ``(video_emb, video_id)`` batches; ranks on ``compute``.

    Videos may arrive in any order and more than once (e.g. one copy per caption in a
    caption-level loader): the first embedding of each id is kept, later copies are
    checked to be identical, so a video is never its own negative.
    """

    def __init__(self, ties: Ties = "pessimistic") -> None:
        self.ties = ties
        self._text: list[torch.Tensor] = []
        self._text_vid: list[Hashable] = []
        self._video: dict[Hashable, torch.Tensor] = {}

    def update_text(self, emb: torch.Tensor, video_ids: Sequence[Hashable]) -> None:
        """Add a batch of caption embeddings ``[B, D]`` and each caption's video id."""
        if emb.shape[0] != len(video_ids):
            raise ValueError(f"update_text: {emb.shape[0]} embeddings but {len(video_ids)} video ids")
        self._text.append(emb.detach().float().cpu())
        self._text_vid.extend(video_ids)

    def update_video(self, emb: torch.Tensor, video_ids: Sequence[Hashable]) -> None:
        """Add a batch of video embeddings ``[B, D]`` with their ids (repeats must agree)."""
        if emb.shape[0] != len(video_ids):
            raise ValueError(f"update_video: {emb.shape[0]} embeddings but {len(video_ids)} video ids")
        for row, vid in zip(emb.detach().float().cpu(), video_ids):
            seen = self._video.get(vid)
            if seen is None:
                self._video[vid] = row
            elif not torch.allclose(seen, row, atol=1e-5):
                raise ValueError(f"update_video: video {vid!r} arrived twice with different embeddings")

    def compute(self, chunk_size: int | None = None) -> dict[str, dict[str, float]]:
        """``{"t2v": summary, "v2t": summary}`` (see :func:`summarize`) over everything added."""
        t2v, v2t = self.ranks(chunk_size)
        return {"t2v": summarize(t2v), "v2t": summarize(v2t)}

    def ranks(self, chunk_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-query ranks in both directions (text order as added; videos in id order of arrival)."""
        if not self._text or not self._video:
            raise ValueError("RetrievalAccumulator: add captions and videos before computing")
        ids = list(self._video)
        index = {v: i for i, v in enumerate(ids)}
        missing = sorted({str(v) for v in self._text_vid if v not in index})
        if missing:
            raise ValueError(f"RetrievalAccumulator: captions of videos never added: {missing[:10]}")
        caption_video = torch.tensor([index[v] for v in self._text_vid])
        video = torch.stack([self._video[v] for v in ids])
        return text_video_ranks(torch.cat(self._text), video, caption_video, chunk_size=chunk_size, ties=self.ties)
