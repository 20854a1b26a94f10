"""One call at the top of every notebook: pick the device and seed everything.

:func:`setup` also records its seed for the *random initialisations* mvkit makes itself
(``create_encoder(name, None)``): :func:`seeded_init` builds them from that seed under a
forked RNG, so the same seed gives the same random weights, and building an encoder never
moves the caller's random stream.
"""
from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

_INIT_SEED = 0     # the seed of the last setup() call: what random initialisations start from


def setup(seed: int = 0, device: str | None = None, deterministic: bool = True) -> torch.device:
    """Seed Python, NumPy and torch, and return the device to use.

    The device is CUDA when present (else CPU) unless ``device`` names one. With
    ``deterministic`` the CPU runs are bit-for-bit repeatable for the same seed;
    on CUDA cuDNN benchmarking is turned off, but atomics may still differ. The seed
    also becomes :func:`init_seed`, the seed of random encoder weights.
    """
    global _INIT_SEED
    _INIT_SEED = int(seed)
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


def init_seed() -> int:
    """The seed random initialisations use: that of the last :func:`setup` call (0 before any)."""
    return _INIT_SEED


@contextlib.contextmanager
def seeded_init(seed: int | None = None) -> Iterator[int]:
    """Run the block with torch's CPU generator seeded with ``seed`` (None: :func:`init_seed`),
    then give the caller back its own random state, as if the block had drawn nothing.

    Modules are initialised on the CPU (open_clip and transformers build there, then move),
    so the CPU generator decides random weights. Yields the seed used.
    """
    seed = init_seed() if seed is None else int(seed)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield seed


def smoke() -> bool:
    """True when ``MVKIT_SMOKE`` asks for the small, fast variant of a job (CI, nbval)."""
    return os.environ.get("MVKIT_SMOKE", "0").strip().lower() not in ("", "0", "false", "no")
