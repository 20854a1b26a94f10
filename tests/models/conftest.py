from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: intra-op threads only add overhead (and thrash on a shared 2-core box)."""
    from mvkit.train.trainer import torch_threads
    with torch_threads(1):
        yield
