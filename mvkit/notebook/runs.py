"""Where notebooks keep their training runs (one rule for every notebook)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def runs_dir(dataset: Any, store: Any, name: str) -> Path:
    """``<MVKIT_HOME>/runs/<dataset name>-w<feature weights>/<name>``.

    Keyed by the dataset (the embedded world's name holds its size and seed, so smoke and
    full runs never mix) and by the weights of the features, so runs of another encoder never
    collide; ``name`` is the study (e.g. ``"02_training"``, ``"crosslingual"``). A re-run reuses
    finished runs with the same config.
    """
    from mvkit.paths import mvkit_home

    sha = str((getattr(store, "provenance", None) or {}).get("weights_sha256") or "unknown")[:10]
    return mvkit_home() / "runs" / f"{dataset.name}-w{sha}" / name
