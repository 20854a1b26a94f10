"""`mvkit bench grounding --quick` runs end to end and reports every number against its target."""
import numpy as np

from mvkit import bench
from mvkit.bench.grounding_bench import reference_query
from mvkit.io import read_json


def test_reference_loop_matches_hand_case():
    spans = np.array([[0.0, 8.0], [1.0, 9.0], [20.0, 26.0], [40.0, 50.0]])
    out = reference_query(spans, np.ones(4, bool), np.array([[0.0, 10.0], [20.0, 30.0]]))
    assert out[:5] == [1.0, 1.0, 1.0, 1.0, 0.8]
    assert out[5] == (0.5 + 0.5 * 2 / 3)          # AP@0.5 as in tests/grounding/test_metrics.py


def test_quick_grounding_bench(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["grounding", "--quick", "--out", str(out), "--runs", str(tmp_path / "runs")]) == 0
    res = read_json(out)
    assert set(res["training"]) == {"detr", "rgtr"}
    for r in res["training"].values():
        assert r["wall_seconds"] > 0 and 0 <= r["match_share"] < 1 and r["target_seconds"] == 180
    e = res["evaluation"]
    assert e["pairs"] == 1000 and e["reference_agrees"] and e["metrics_speedup_vs_reference"] > 1
    printed = capsys.readouterr().out
    assert "Hungarian matching" in printed and "query-video pairs" in printed
