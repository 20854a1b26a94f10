"""The set-prediction loss of DETR-style grounding (Moment-DETR, Lei et al. 2021; RGTR).

After Hungarian matching (:mod:`mvkit.grounding.matching`), for each decoder layer::

    L = 10 * mean_matched |cw_pred - cw_gt|_1           (span L1, normalised centre/width)
      +  1 * mean_matched (1 - GIoU(pred, gt))          (generalised temporal IoU)
      +  4 * CE(class; matched = moment, others = none)  (the "none" class weighted 0.1)
      + w_iou * BCE(iou_logit, IoU(pred, best gt))      (RGTR's IoU-aware head, all queries)

plus, once per batch, a clip-level saliency term ``w_sal * BCE(saliency_logit_t, 1[clip t
lies in a ground-truth window])`` over the real clips (Moment-DETR trains clip saliency
next to the moments; we use the in-window indicator as its label). The weights are
Moment-DETR's (``span_loss_coef=10, giou_loss_coef=1, label_loss_coef=4, eos_coef=0.1``);
the IoU weight is ours (1, a BCE of the same order as the class term / 4). Every term is a
mean, so the loss does not depend on the batch size. Returns the total and its parts.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from mvkit.grounding.matching import HungarianMatcher
from mvkit.grounding.spans import cw_to_se, torch_iou_giou


def pad_targets(targets: list[Tensor], device: torch.device) -> tuple[Tensor, Tensor]:
    """Windows of a batch ``[B, G, 2]`` (start, end) with their mask ``[B, G]`` (G = most windows)."""
    g = max(1, max(len(t) for t in targets))
    out = torch.zeros(len(targets), g, 2, device=device)
    valid = torch.zeros(len(targets), g, dtype=torch.bool, device=device)
    for b, t in enumerate(targets):
        if len(t):
            out[b, :len(t)] = cw_to_se(t.to(device).float())
            valid[b, :len(t)] = True
    return out, valid


def clip_labels(windows: Tensor, valid: Tensor, clip_centres: Tensor) -> Tensor:
    """``[B, T]``: 1 where a clip's centre (normalised, ``clip_centres [B, T]``) lies in a window."""
    x = clip_centres[:, :, None]
    inside = (x >= windows[:, None, :, 0]) & (x <= windows[:, None, :, 1]) & valid[:, None, :]
    return inside.any(-1).float()


def best_iou(spans_cw: Tensor, windows: Tensor, valid: Tensor) -> Tensor:
    """``[B, N]``: IoU of every predicted span with its best window (0 when a query has none)."""
    p = cw_to_se(spans_cw.float())[:, :, None]                       # [B, N, 1, 2]
    w = windows[:, None]                                             # [B, 1, G, 2]
    inter = (torch.minimum(p[..., 1], w[..., 1]) - torch.maximum(p[..., 0], w[..., 0])).clamp(min=0)
    union = (p[..., 1] - p[..., 0]) + (w[..., 1] - w[..., 0]) - inter
    iou = torch.where(valid[:, None], inter / union.clamp(min=1e-8), torch.zeros_like(inter))
    return iou.max(-1).values


class SetCriterion(torch.nn.Module):
    """Moment-DETR's loss (module doc); ``iou_weight > 0`` adds RGTR's IoU-aware term."""

    def __init__(self, matcher: HungarianMatcher, span_weight: float = 10.0, giou_weight: float = 1.0,
                 class_weight: float = 4.0, eos_coef: float = 0.1, iou_weight: float = 0.0,
                 saliency_weight: float = 1.0) -> None:
        super().__init__()
        self.matcher = matcher
        self.span_weight, self.giou_weight, self.class_weight = span_weight, giou_weight, class_weight
        self.iou_weight, self.saliency_weight = iou_weight, saliency_weight
        self.register_buffer("class_weights", torch.tensor([1.0, eos_coef]), persistent=False)

    def _layer(self, layer: dict[str, Tensor], targets: list[Tensor], anchors: Tensor | None,
               padded: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        logits, spans = layer["logits"], layer["spans"]
        indices = self.matcher(logits, spans, targets, anchors)
        b_idx = torch.cat([torch.full_like(r, i) for i, (r, _) in enumerate(indices)]).to(spans.device)
        q_idx = torch.cat([r for r, _ in indices]).to(spans.device)
        tgt = torch.cat([t[c].to(spans.device) for t, (_, c) in zip(targets, indices)]).float()
        src = spans[b_idx, q_idx].float()
        out = {}
        if len(tgt):
            out["span"] = F.l1_loss(src, tgt)
            out["giou"] = (1 - torch.diagonal(torch_iou_giou(cw_to_se(src), cw_to_se(tgt))[1])).mean()
        else:
            out["span"] = out["giou"] = spans.sum() * 0.0
        classes = torch.ones(spans.shape[:2], dtype=torch.long, device=spans.device)    # 1 = no moment
        classes[b_idx, q_idx] = 0
        out["class"] = F.cross_entropy(logits.float().transpose(1, 2), classes, weight=self.class_weights)
        if self.iou_weight > 0 and layer.get("iou") is not None:
            target_iou = best_iou(spans.detach(), *padded)
            out["iou"] = F.binary_cross_entropy_with_logits(layer["iou"].float(), target_iou)
        return out

    def forward(self, outputs: dict, targets: list[Tensor]) -> tuple[Tensor, dict[str, float]]:
        anchors = outputs.get("anchors")
        total = outputs["saliency"].new_zeros(())
        parts: dict[str, float] = {}
        weights = {"span": self.span_weight, "giou": self.giou_weight, "class": self.class_weight,
                   "iou": self.iou_weight}
        padded = pad_targets(targets, outputs["saliency"].device)
        for li, layer in enumerate(outputs["layers"]):
            for name, value in self._layer(layer, targets, anchors, padded).items():
                total = total + weights[name] * value
                parts[f"{name}{'' if li == len(outputs['layers']) - 1 else f'_{li}'}"] = float(value.detach())
        if self.saliency_weight > 0:
            mask = outputs["clip_mask"]
            labels = clip_labels(*padded, outputs["clip_centres"])
            sal = F.binary_cross_entropy_with_logits(outputs["saliency"].float(), labels, reduction="none")
            sal = (sal * mask).sum() / mask.sum().clamp(min=1)
            total = total + self.saliency_weight * sal
            parts["saliency"] = float(sal.detach())
        return total, parts

