"""The floor every table needs: sliding windows scored by the retrieval model's similarity.

No training. Each clip gets the zero-shot text-clip similarity of the frozen encoder --
the cosine of the sentence feature with the clip's feature, averaged over the streams that
live in the encoder's joint space (mvkit-tiny: appearance, motion and audio; a plain
open_clip model: appearance only). Windows of several lengths slide over the clips (stride
one clip); a window scores ``mean(sim inside) - mean(sim outside)``, so it must stand out
from the rest of the video rather than just contain a high clip. The lengths are the 10,
30, 50, 70 and 90% quantiles of the *training* moments' durations (no tuning on test).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mvkit.grounding.features import TooShortError

QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)


def joint_streams(provenance: dict[str, Any]) -> tuple[str, ...]:
    """Streams comparable with the text feature: all three for mvkit-tiny, appearance otherwise."""
    return ("appearance", "motion", "audio") if provenance.get("encoder") == "mvkit-tiny" else ("appearance",)


class SlidingWindowFloor:
    """``predict(batch) -> (windows [B, W, 2] s, scores [B, W])`` (invalid windows score -inf)."""

    config: dict[str, Any]

    def __init__(self, clip_rate: float, lengths: Sequence[float], streams: Sequence[str] = ("appearance",)) -> None:
        self.clip_rate = float(clip_rate)
        self.steps = sorted({max(1, round(float(s) * self.clip_rate)) for s in lengths})
        self.streams = tuple(streams)
        self.config = {"name": "floor", "clip_rate": self.clip_rate, "lengths": [float(x) for x in lengths],
                       "streams": list(self.streams)}

    @classmethod
    def from_training(cls, train: Any, streams: Sequence[str], quantiles: Sequence[float] = QUANTILES
                      ) -> SlidingWindowFloor:
        """Window lengths from the training split's moment durations (:class:`~..data.GroundingSplit`)."""
        lengths = np.concatenate([g[:, 1] - g[:, 0] for g in train.gt])
        return cls(train.clip_rate, np.quantile(lengths, quantiles), streams)

    def eval(self) -> SlidingWindowFloor:   # the model interface of the evaluator
        return self

    def to(self, device: Any) -> SlidingWindowFloor:
        return self

    def clip_similarity(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """``(sim [B, T], valid [B, T])``: cosine of the query with each clip, averaged over streams."""
        text = torch.nn.functional.normalize(batch["text"].float(), dim=-1)
        total = torch.zeros(batch["masks"]["appearance"].shape, device=text.device)
        count = torch.zeros_like(total)
        for s in self.streams:
            x = batch["feats"].get(s)
            if x is None or x.shape[-1] != text.shape[-1]:
                continue
            m = batch["masks"][s].float()
            total += torch.einsum("btd,bd->bt", torch.nn.functional.normalize(x.float(), dim=-1), text) * m
            count += m
        return total / count.clamp(min=1), batch["masks"]["appearance"]

    @torch.no_grad()
    def predict(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        sim, valid = self.clip_similarity(batch)
        n = valid.sum(1)
        if (n == 0).any():
            raise TooShortError(f"cannot ground queries in videos shorter than one feature step "
                                f"({1 / self.clip_rate:g} s): {(n == 0).nonzero().flatten().tolist()[:5]}")
        b, t = sim.shape
        csum = torch.cat([sim.new_zeros(b, 1), (sim * valid).cumsum(1)], 1)
        total = csum[:, -1:]
        spans, scores = [], []
        for length in self.steps:
            start = torch.arange(0, max(t - length + 1, 1), device=sim.device)
            end = start + length
            inside = (csum[:, end.clamp(max=t)] - csum[:, start]) / length
            n_out = (n[:, None] - length).clamp(min=0)
            outside = torch.where(n_out > 0, (total - inside * length) / n_out.clamp(min=1), inside)
            ok = end[None] <= n[:, None]
            scores.append(torch.where(ok, inside - outside, torch.full_like(inside, -torch.inf)))
            se = torch.stack([start, end], -1).float() / self.clip_rate
            spans.append(torch.minimum(se[None].expand(b, -1, -1), batch["durations"][:, None, None].float()))
        return torch.cat(spans, 1), torch.cat(scores, 1)
