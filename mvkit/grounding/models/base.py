"""What every grounding model exposes: outputs for the loss, ranked windows for the metrics.

``forward(batch)`` returns ``{"layers": [{"logits" [B,N,2], "spans" [B,N,2] (normalised
centre, width), "iou" [B,N] | None}, ...] (one per decoder layer, the last is the
answer), "saliency", "clip_mask", "clip_centres", "anchors" [N,2] | None}``;
:meth:`predict` turns the last layer into windows in seconds (clamped to the video) and
their ranking scores. ``config`` holds what :func:`mvkit.grounding.models.create_grounding_model`
needs to rebuild the model from a checkpoint.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from mvkit.grounding.features import TooShortError
from mvkit.grounding.spans import cw_to_se


class GroundingModel(nn.Module):
    """Base class: subclasses build ``self.encoder`` and implement ``forward`` and ``scores``."""

    config: dict[str, Any]

    def scores(self, outputs: dict) -> Tensor:
        """Ranking score of every proposal ``[B, N]`` (higher first)."""
        raise NotImplementedError

    def fit_input_stats(self, feats: dict[str, Tensor], masks: dict[str, Tensor], text: Tensor) -> None:
        self.encoder.fit_input_stats(feats, masks, text)

    @torch.no_grad()
    def predict(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """``(windows [B, N, 2] in seconds, scores [B, N])``; says so if a video has no clip."""
        empty = (~batch["masks"]["appearance"].any(1)).nonzero().flatten().tolist()
        if empty:
            ids = [batch["video_ids"][i] for i in empty] if "video_ids" in batch else empty
            raise TooShortError(f"cannot ground queries in videos {ids[:5]}: shorter than one feature step "
                                f"({1 / self.encoder.clip_rate:g} s), so they have no clip")
        out = self(batch)
        spans = cw_to_se(out["layers"][-1]["spans"].float()).clamp(0, 1) * batch["durations"][:, None, None].float()
        return spans, self.scores(out)


def head_outputs(logits: Tensor, spans: Tensor, iou: Tensor | None = None) -> dict[str, Tensor | None]:
    return {"logits": logits, "spans": spans, "iou": iou}
