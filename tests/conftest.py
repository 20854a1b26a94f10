"""Session fixtures shared across the suite: the smoke world with its mvkit-tiny features.

Built once under ``MVKIT_HOME`` (``make test`` points it at a repo-local folder, so a fresh
clone builds them from scratch) and reused by every test that needs real captions, real
features and the real tokenizer.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_encoder():
    from mvkit.features.encoders import create_encoder

    return create_encoder("mvkit-tiny", device="cpu")


@pytest.fixture(scope="session")
def smoke(tiny_encoder):
    """``(dataset, store, encoder)`` of the smoke-sized embedded world (200 clips)."""
    from mvkit.data import load
    from mvkit.data.synth import SMOKE_VIDEOS, ensure_world
    from mvkit.features.extract import ensure_store
    from mvkit.features.store import open_store

    world = ensure_world(SMOKE_VIDEOS, seed=0)
    return load(world), open_store(ensure_store(world, tiny_encoder, progress=False)), tiny_encoder
