"""Figures of the ablation notebook: what is drawn matches the table."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mvkit.viz.ablation import paired_difference_chart, sweep_chart


def _results():
    rows = []
    for lang, (d1, p1), (d2, p2) in [("en", (1.0, 0.5), (-2.0, 0.01)), ("de", (5.0, 0.001), (3.0, 0.2))]:
        rows.append({"variant": "base", "language": lang, "R1": 10.0, "diff": np.nan, "diff_low": np.nan,
                     "diff_high": np.nan, "p": np.nan})
        rows.append({"variant": "a", "language": lang, "R1": 11.0, "diff": d1, "diff_low": d1 - 1,
                     "diff_high": d1 + 1, "p": p1})
        rows.append({"variant": "b", "language": lang, "R1": 8.0, "diff": d2, "diff_low": d2 - 1,
                     "diff_high": d2 + 1, "p": p2})
    return pd.DataFrame(rows)


def test_paired_difference_chart_bars_stars_and_zero_line():
    fig = paired_difference_chart(_results(), baseline="base")
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == [-2.0, 1.0, 3.0, 5.0]                    # baseline rows are not drawn
    stars = [t for t in ax.texts if t.get_text() == "*"]
    assert len(stars) == 2                                     # p < 0.05: (de, a) and (en, b)
    ys = sorted(t.xy[1] for t in stars)
    assert ys == [-3.0, 6.0]                                   # beyond the CI end, away from zero
    assert any(np.allclose(l.get_ydata(), 0) for l in ax.lines)
    assert "base" in ax.get_ylabel() and [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(fig)


def test_paired_difference_chart_needs_differences():
    with pytest.raises(ValueError, match="no paired differences"):
        paired_difference_chart(_results().query("variant == 'base'"))


def test_sweep_chart_one_panel_per_condition():
    noise = pd.DataFrame({"method": ["infonce", "infonce", "dcot", "dcot"], "noise": [0.1, 0.6, 0.1, 0.6],
                          "R1": [20.0, 10.0, 21.0, 15.0], "R1_low": [18, 8, 19, 13], "R1_high": [22, 12, 23, 17]})
    share = noise.rename(columns={"noise": "share"}).assign(share=[0.25, 1.0, 0.25, 1.0])
    fig = sweep_chart([(noise, "noise", "MT noise rate"), (share, "share", "share of videos"),
                       (noise.iloc[:0], "noise", "not swept")])
    assert len(fig.axes) == 2
    ax0 = fig.axes[0]
    assert ax0.get_xlabel() == "MT noise rate" and "R@1" in ax0.get_ylabel()
    assert [l.get_ydata().tolist() for l in ax0.lines] == [[20.0, 10.0], [21.0, 15.0]]
    assert len(ax0.collections) == 2                           # one CI band per method
    plt.close(fig)
    with pytest.raises(ValueError):
        sweep_chart([])


def test_per_language_chart_sized_and_with_intervals():
    from mvkit.viz.ablation import per_language_chart

    df = _results().assign(R1_low=lambda d: d["R1"] - 1, R1_high=lambda d: d["R1"] + 2)
    fig = per_language_chart(df)
    ax = fig.axes[0]
    assert sorted(p.get_height() for p in ax.patches) == [8.0, 8.0, 10.0, 10.0, 11.0, 11.0]
    assert 6.0 <= fig.get_figwidth() <= 13.0 and "95%" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["en", "de"]
    plt.close(fig)
