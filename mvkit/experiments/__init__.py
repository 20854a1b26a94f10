"""Experiments over trained runs: ablation helpers (``ablations``), the claims' objectives
(``objectives``) and ``mvkit claims`` (``claims``), which reproduces the seed papers' claims."""
from mvkit.experiments.ablations import (
    Ranks, Variant, compare, interaction_test, load_ranks, paired, per_language_compare, run_variants,
    selected_ranks, subsample_train, query_ranks,
)

__all__ = ["Variant", "Ranks", "run_variants", "compare", "per_language_compare", "paired", "interaction_test",
           "load_ranks", "selected_ranks", "subsample_train", "query_ranks"]
