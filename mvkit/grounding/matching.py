"""Hungarian matching of predicted moments to ground-truth windows (DETR's set matching).

Per video-query pair, the cost of assigning prediction ``i`` to ground-truth window ``g``
is Moment-DETR's ``C = 4 * (-p_fg(i)) + 10 * |cw_i - cw_g|_1 + 1 * (-GIoU(i, g))`` (spans
as normalised (centre, width)); ``scipy.optimize.linear_sum_assignment`` finds the
one-to-one assignment of least total cost, and unmatched predictions are "no moment".

Region-constrained matching (RGTR): with ``region_k`` set, each window may only be given
to a query whose anchor is among the ``region_k`` anchors nearest to it in (centre, width)
-- its region -- so every query learns the moments of one temporal region. A large
constant ``region_penalty`` (not infinity) is added outside the region, so a window whose
region queries are all taken (two windows in one region) still gets the next best query.

The matcher keeps the seconds it spends (cost matrices + assignment) in ``seconds``, so a
benchmark can report its share of a training step.
"""
from __future__ import annotations

import time

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mvkit.grounding.spans import cw_to_se, torch_iou_giou


class HungarianMatcher:
    """``matcher(logits [B,N,2], spans [B,N,2], targets [G_b,2] x B, anchors [N,2] | None) -> [(rows, cols)]``."""

    def __init__(self, cost_class: float = 4.0, cost_span: float = 10.0, cost_giou: float = 1.0,
                 region_k: int | None = None, region_penalty: float = 1e3) -> None:
        if region_k is not None and region_k < 1:
            raise ValueError(f"region_k must be None or >= 1, got {region_k}")
        self.cost_class, self.cost_span, self.cost_giou = cost_class, cost_span, cost_giou
        self.region_k, self.region_penalty = region_k, region_penalty
        self.seconds = 0.0
        self.calls = 0

    def region_mask(self, anchors: Tensor, targets: Tensor) -> Tensor:
        """``[N, G]`` True where query ``i``'s anchor is among the ``region_k`` nearest to window ``g``."""
        d = torch.cdist(targets.float(), anchors.float())              # [G, N]
        k = min(int(self.region_k or anchors.shape[0]), anchors.shape[0])
        near = d.topk(k, dim=1, largest=False).indices                 # [G, k]
        mask = torch.zeros(anchors.shape[0], targets.shape[0], dtype=torch.bool, device=anchors.device)
        mask[near.T.reshape(-1), torch.arange(targets.shape[0], device=anchors.device).repeat(k)] = True
        return mask

    @torch.no_grad()
    def __call__(self, logits: Tensor, spans: Tensor, targets: list[Tensor],
                 anchors: Tensor | None = None) -> list[tuple[Tensor, Tensor]]:
        t0 = time.perf_counter()
        b, n = spans.shape[:2]
        sizes = [len(t) for t in targets]
        empty = torch.zeros(0, dtype=torch.long)
        if sum(sizes) == 0:
            self.seconds += time.perf_counter() - t0
            return [(empty, empty) for _ in targets]
        prob = logits.float().softmax(-1)[..., 0].reshape(b * n)                 # foreground is class 0
        pred = spans.float().reshape(b * n, 2)
        tgt = torch.cat([t.to(pred.device, torch.float32) for t in targets])     # [sum G, 2]
        _, giou = torch_iou_giou(cw_to_se(pred), cw_to_se(tgt))
        cost = self.cost_span * torch.cdist(pred, tgt, p=1) - self.cost_giou * giou - self.cost_class * prob[:, None]
        cost = cost.view(b, n, -1)
        if self.region_k is not None and anchors is not None:
            cost = cost + self.region_penalty * (~self.region_mask(anchors.detach().float(), tgt)).float()[None]
        cost = cost.cpu().numpy()
        out, start = [], 0
        for i, g in enumerate(sizes):
            if g == 0:
                out.append((empty, empty))
                continue
            r, col = linear_sum_assignment(cost[i, :, start:start + g])
            out.append((torch.as_tensor(r, dtype=torch.long), torch.as_tensor(col, dtype=torch.long)))
            start += g
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out
