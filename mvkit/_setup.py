"""One call at the top of every notebook: pick the device and seed everything."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def setup(seed: int = 0, device: str | None = None, deterministic: bool = True) -> torch.device:
    """Seed Python, NumPy and torch, and return the device to use.

    The device is CUDA when present (else CPU) unless ``device`` names one. With
    ``deterministic`` the CPU runs are bit-for-bit repeatable for the same seed;
    on CUDA cuDNN benchmarking is turned off, but atomics may still differ.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def smoke() -> bool:
    """True when ``MVKIT_SMOKE`` asks for the small, fast variant of a job (CI, nbval)."""
    return os.environ.get("MVKIT_SMOKE", "0").strip().lower() not in ("", "0", "false", "no")
