"""The learning-rate schedule: linear warm-up, then cosine decay (its state is one step counter)."""
from __future__ import annotations

import math
from typing import Any

import torch


class WarmupCosine:
    """Linear warm-up to the base learning rate, then cosine decay to ``min_lr_ratio`` x base.

    factor(t) = (t + 1) / W for t < W, else m + (1 - m) * (1 + cos(pi * (t - W) / (N - W))) / 2.
    Its whole state is the step counter, so resuming is exact.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                 min_lr_ratio: float = 0.0) -> None:
        self.optimizer, self.total, self.warmup, self.min_ratio = optimizer, max(total_steps, 1), warmup_steps, min_lr_ratio
        self.base = [g["lr"] for g in optimizer.param_groups]
        self.t = 0
        self._apply()

    def factor(self, t: int) -> float:
        if t < self.warmup:
            return (t + 1) / self.warmup
        p = min((t - self.warmup) / max(self.total - self.warmup, 1), 1.0)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * p))

    def _apply(self) -> None:
        f = self.factor(self.t)
        for g, b in zip(self.optimizer.param_groups, self.base):
            g["lr"] = b * f

    def step(self) -> None:
        self.t += 1
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "base": self.base}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.base = int(state["t"]), list(state["base"])
        self._apply()
