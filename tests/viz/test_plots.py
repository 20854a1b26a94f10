"""Training and ablation plots: the right series, points, error bars and labels."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from mvkit.viz import plots as P


def _record(scores, selected, losses=None):
    losses = losses or [1.0 / (e + 1) for e in range(len(scores))]
    hist = [{"epoch": e + 1, "loss": l, "val_score": s, "val": {"en": {"t2v": {"RSum": 2 * s}}}}
            for e, (l, s) in enumerate(zip(losses, scores))]
    return {"config": {}, "selection": {"split": "val", "criterion": "mean RSum on val",
                                        "selected_epoch": selected, "history": hist}}


def _results():
    ci = {"t2v": {"R1": [8.0, 12.0], "RSum": [50.0, 70.0]}}
    return {
        "results": {
            "en": {"t2v": {"R1": 10.0, "RSum": 60.0}, "v2t": {"R1": 9.0, "RSum": 55.0}, "ci": ci},
            "de": {"t2v": {"R1": 5.0, "RSum": 40.0}, "v2t": {"R1": 4.0, "RSum": 35.0},
                   "ci": {"t2v": {"R1": [3.0, 7.0], "RSum": [30.0, 45.0]}}},
        },
        "config": {},
    }


def test_history_frame_inputs():
    hist, sel, crit = P.history_frame(_record([1, 3, 2], 2))
    assert hist["epoch"].tolist() == [1, 2, 3] and sel == 2 and crit == "mean RSum on val"
    assert hist["val.en.t2v.RSum"].tolist() == [2, 6, 4]     # nested per-language metrics flattened
    hist2, sel2, _ = P.history_frame([{"epoch": 2, "loss": 0.5}, {"epoch": 1, "loss": 1.0}])
    assert hist2["epoch"].tolist() == [1, 2] and sel2 is None
    from mvkit.train.record import RunRecord

    record = RunRecord(
        config={}, protocol={}, selection=_record([1, 3, 2], 3)["selection"], results=_results()["results"],
        val_results={})
    assert P.history_frame(record)[1] == 3
    assert P.results_frame({"run": record})["language"].tolist() == ["en", "de"]
    with pytest.raises(ValueError, match="history"):
        P.history_frame({"config": {}})
    with pytest.raises(ValueError, match="epoch"):
        P.history_frame(pd.DataFrame({"loss": [1.0]}))


def test_training_curves_single_and_overlay():
    fig = P.training_curves(_record([10, 30, 20], 2))
    ax_loss, ax_val = fig.axes
    assert ax_loss.get_xlabel() == "epoch" and "loss" in ax_loss.get_ylabel()
    assert ax_val.get_ylabel() == "mean RSum on val"
    assert len(ax_loss.lines) == 1 and ax_loss.lines[0].get_xydata().tolist() == [[1, 1.0], [2, 0.5], [3, 1 / 3]]
    star = [l for l in ax_val.lines if l.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xydata().tolist() == [[2, 30]]
    assert any(t.get_text() == "selected epoch 2" for t in ax_val.get_legend().get_texts())
    plt.close(fig)

    # overlay of two runs; the second lacks a recorded choice -> its best val epoch is marked
    no_sel = _record([5, 4, 9], None)
    fig = P.training_curves({"hinge": _record([10, 30, 20], 2), "infonce": no_sel})
    ax_loss, ax_val = fig.axes
    assert len(ax_loss.lines) == 2
    stars = sorted(tuple(l.get_xydata()[0]) for l in ax_val.lines if l.get_marker() == "*")
    assert stars == [(2, 30), (3, 9)]
    labels = [t.get_text() for t in ax_val.get_legend().get_texts()]
    assert "hinge" in labels and "infonce: selected epoch 3" in labels
    plt.close(fig)
    fig = P.training_curves(_record([10, 30, 20], 2), metric_key="val.en.t2v.RSum", metric_label="RSum (en, t2v)")
    assert fig.axes[1].get_ylabel() == "RSum (en, t2v)"
    assert [tuple(l.get_xydata()[0]) for l in fig.axes[1].lines if l.get_marker() == "*"] == [(2, 60)]
    plt.close(fig)
    with pytest.raises(ValueError, match="no 'acc' column"):
        P.training_curves(_record([1, 2], 1), metric_key="acc")


def test_results_frame_and_table():
    df = P.results_frame({"base": _results(), "c2kd": _results()["results"]})
    assert df["method"].tolist() == ["base", "base", "c2kd", "c2kd"]
    assert df.loc[0, "R1"] == 10.0 and df.loc[1, "RSum_high"] == 45.0
    v2t = P.results_frame({"base": _results()}, direction="v2t")
    assert v2t["R1"].tolist() == [9.0, 4.0] and "R1_low" not in v2t.columns
    with pytest.raises(ValueError, match="no 'x2y'"):
        P.results_frame({"base": _results()}, direction="x2y")

    table = P.results_table(df[df.method == "base"], metrics=("R1", "RSum"), index=("method", "language"))
    assert table.loc[("base", "en"), "R1"] == "10.0 [8.0, 12.0]"
    assert table.loc[("base", "de"), "RSum"] == "40.0 [30.0, 45.0]"
    assert P.results_table(v2t, metrics=("R1",), index=("language",)).loc["de", "R1"] == "4.0"
    with pytest.raises(ValueError, match="missing"):
        P.results_table(df, metrics=("R50",))


def test_ci_bar_chart_methods_and_languages():
    df = pd.DataFrame({"method": ["a", "b"], "RSum": [60.0, 40.0], "RSum_low": [50.0, 30.0],
                       "RSum_high": [70.0, 45.0]})
    fig = P.ci_bar_chart(df, metric="RSum")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [60.0, 40.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    errbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    caps = errbars[0].lines[1]                      # cap markers: low and high ends
    ends = np.concatenate([np.asarray(c.get_ydata(), dtype=float) for c in caps])
    assert sorted(np.round(ends, 6).tolist()) == [30, 45, 50, 70]
    assert ax.get_ylabel().startswith("RSum") and "95% bootstrap CI" in ax.get_title()
    plt.close(fig)

    long = P.results_frame({"base": _results(), "c2kd": _results()})
    long.loc[long.method == "c2kd", ["R1", "R1_low", "R1_high"]] += 1
    fig = P.ci_bar_chart(long, x="language", hue="method", metric="R1")
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["base", "c2kd"]
    heights = {(round(p.get_x() + p.get_width() / 2, 2)): p.get_height() for p in ax.patches}
    assert heights[-0.2] == 10.0 and heights[0.2] == 11.0 and heights[0.8] == 5.0 and heights[1.2] == 6.0
    assert ax.get_ylabel() == "R@1 (%)"
    plt.close(fig)
    bad = df.assign(RSum_low=[61.0, 30.0])
    with pytest.raises(ValueError, match="outside"):
        P.ci_bar_chart(bad, metric="RSum")
    with pytest.raises(ValueError, match="no column"):
        P.ci_bar_chart(df, metric="R1")


def test_metric_vs_condition():
    df = pd.DataFrame({
        "method": ["base"] * 3 + ["robust"] * 3,
        "noise": [0.4, 0.0, 0.2] * 2,
        "R1": [5.0, 10.0, 8.0, 9.0, 11.0, 10.0],
        "R1_low": [4.0, 9.0, 7.0, 8.0, 10.0, 9.0],
        "R1_high": [6.0, 11.0, 9.0, 10.0, 12.0, 11.0],
    })
    fig = P.metric_vs_condition(df, x="noise", xlabel="MT noise rate (fraction of captions)")
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    assert ax.lines[0].get_xydata().tolist() == [[0.0, 10.0], [0.2, 8.0], [0.4, 5.0]]   # sorted by x
    assert len(ax.collections) == 2                                                     # CI bands
    assert ax.get_xlabel() == "MT noise rate (fraction of captions)" and ax.get_ylabel() == "R@1 (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["base", "robust"]
    plt.close(fig)
    fig = P.metric_vs_condition(df[["noise", "R1"]].iloc[:3], x="noise", hue=None)
    assert len(fig.axes[0].lines) == 1 and not fig.axes[0].collections and fig.axes[0].get_legend() is None
    plt.close(fig)
