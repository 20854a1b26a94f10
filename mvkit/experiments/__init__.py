"""Experiments over trained runs: ablation helpers (``ablations``), the claims' objectives
(``objectives``) and ``mvkit claims`` (``claims``), which reproduces the seed papers' claims."""
from mvkit.experiments.ablations import (
    Ranks,
    Variant,
    compare,
    interaction_test,
    load_ranks,
    paired,
    per_language_compare,
    query_ranks,
    run_variants,
    selected_ranks,
    subsample_train,
)

__all__ = [
    "Ranks",
    "Variant",
    "compare",
    "interaction_test",
    "load_ranks",
    "paired",
    "per_language_compare",
    "query_ranks",
    "run_variants",
    "selected_ranks",
    "subsample_train",
]
