"""summarize / bootstrap_ci / paired_test / per_language_table: hand cases and loop references."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mvkit.metrics import bootstrap_ci, paired_test, per_language_table, summarize


def test_summarize_hand_computed():
    m = summarize(torch.tensor([1, 2, 6, 11]))
    assert m == {"R1": 25.0, "R5": 50.0, "R10": 75.0, "MdR": 4.0, "MnR": 5.0, "RSum": 150.0}
    assert summarize(np.array([3]))["MdR"] == 3.0
    assert summarize([1, 1, 20])["R1"] == pytest.approx(200 / 3)


def test_summarize_rejects_bad_ranks():
    with pytest.raises(ValueError, match="1-based"):
        summarize([0, 1, 2])
    with pytest.raises(ValueError, match="non-empty"):
        summarize([])
    with pytest.raises(ValueError, match="integers"):
        summarize([1.5, 2.0])


def loop_bootstrap(r, fn, n_boot, seed, level):
    """Reference: the same resamples, one Python-level loop iteration per resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(r), size=(n_boot, len(r)))
    vals = [fn(r[i]) for i in idx]
    a = (1 - level) / 2
    return np.quantile(vals, [a, 1 - a])


@pytest.mark.parametrize("metric,fn", [
    ("R1", lambda x: 100 * np.mean(x <= 1)),
    ("R5", lambda x: 100 * np.mean(x <= 5)),
    ("MdR", lambda x: float(np.median(x))),
    ("MnR", lambda x: float(np.mean(x))),
    ("RSum", lambda x: 100 * (np.mean(x <= 1) + np.mean(x <= 5) + np.mean(x <= 10))),
])
def test_bootstrap_matches_loop_reference(metric, fn):
    r = np.random.default_rng(1).integers(1, 30, size=57)
    est, low, high = bootstrap_ci(r, metric, n_boot=300, seed=4, level=0.9)
    ref_low, ref_high = loop_bootstrap(r, fn, 300, 4, 0.9)
    assert est == pytest.approx(fn(r))
    assert (low, high) == pytest.approx((ref_low, ref_high))
    assert low <= est <= high
    assert bootstrap_ci(r, metric, n_boot=300, seed=4, level=0.9) == (est, low, high)  # seeded


def test_bootstrap_degenerate_and_callable():
    assert tuple(bootstrap_ci(torch.ones(50, dtype=torch.long), "R1")) == (100.0, 100.0, 100.0)
    iv = bootstrap_ci(np.arange(1, 101), lambda x: (x <= 50).mean(axis=-1))
    assert iv.estimate == 0.5 and 0.35 < iv.low < 0.5 < iv.high < 0.65
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_ci([1, 2], "R2")


def test_paired_test_identical_systems():
    r = np.random.default_rng(0).integers(1, 10, size=80)
    t = paired_test(r, r, "R1", n_boot=200, n_perm=200)
    assert t.difference == 0 and t.low == 0 and t.high == 0 and t.p_value == 1.0


def test_paired_test_clear_difference():
    a, b = np.ones(200, dtype=int), np.full(200, 50)
    t = paired_test(a, b, "R1", n_boot=300, n_perm=499)
    assert (t.a, t.b, t.difference) == (100.0, 0.0, 100.0)
    assert (t.low, t.high) == (100.0, 100.0)
    assert t.p_value == pytest.approx(1 / 500)  # the smallest a 499-permutation test can give
    assert "permutation" in t.to_dict()["method"]


def test_paired_permutation_p_value_matches_exact_enumeration():
    a = np.array([1, 1, 3, 1, 7, 2, 1, 9])
    b = np.array([2, 1, 1, 4, 7, 3, 6, 1])
    fn = lambda x: 100 * np.mean(x <= 1)
    obs = abs(fn(a) - fn(b))
    hits = 0
    for swap in itertools.product([False, True], repeat=len(a)):  # all 2^8 relabelings
        s = np.array(swap)
        hits += abs(fn(np.where(s, b, a)) - fn(np.where(s, a, b))) >= obs - 1e-12
    exact = hits / 2 ** len(a)
    t = paired_test(a, b, "R1", n_boot=100, n_perm=20000, seed=1)
    assert t.difference == pytest.approx(fn(a) - fn(b))
    assert t.p_value == pytest.approx(exact, abs=0.015)


def test_paired_test_needs_same_queries():
    with pytest.raises(ValueError, match="same queries"):
        paired_test([1, 2, 3], [1, 2])


def test_per_language_table_rows_and_values():
    data = {"en": {"t2v": [1, 2, 30], "v2t": torch.tensor([1, 1])}, "hi": {"t2v": np.array([5, 6])}}
    df = per_language_table(data)
    assert list(df[["language", "direction", "n"]].itertuples(index=False, name=None)) == [
        ("en", "t2v", 3), ("en", "v2t", 2), ("hi", "t2v", 2)]
    assert df.loc[0, "R1"] == pytest.approx(100 / 3) and df.loc[2, "MdR"] == 5.5
    with_ci = per_language_table(data, ci=True, n_boot=50)
    assert (with_ci["R1_low"] <= with_ci["R1"]).all() and (with_ci["R1"] <= with_ci["R1_high"]).all()
    with pytest.raises(TypeError):
        per_language_table({"en": [1, 2]})
