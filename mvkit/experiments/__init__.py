"""Experiments over trained runs: ablation helpers (``ablations``), the cross-lingual grid of the
notebooks (``crosslingual``) and ``mvkit claims`` (``claims``), which reproduces the seed papers'
claims. Per-query ranks of runs live one floor down, in :mod:`mvkit.analysis.run_ranks`."""
from mvkit.experiments.ablations import (
    Variant,
    compare,
    interaction_test,
    paired,
    per_language_compare,
    run_variants,
    subsample_train,
)

__all__ = [
    "Variant",
    "compare",
    "interaction_test",
    "paired",
    "per_language_compare",
    "run_variants",
    "subsample_train",
]
