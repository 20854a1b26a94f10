"""`mvkit bench metrics --quick` runs, writes its JSON, and the dispatcher is robust."""
from __future__ import annotations

import pytest

from mvkit import bench
from mvkit.io import read_json


def test_quick_metrics_bench_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["metrics", "--quick", "--out", str(out)]) == 0
    res = read_json(out)
    s, m = res["ranks_vs_full_sort"], res["text_video_ranks_memory"]
    assert s["consistent"] and s["n"] == 1000 and s["speedup"] > 0
    assert m["n_captions"] == 2000 and m["peak_added_bytes"] < m["target_peak_bytes"]
    assert 0 < m["peak_process_bytes"] and m["method"]
    o = res["text_video_ranks_vs_gemm"]       # one pass vs the bare GEMM floor, same ranks as two passes
    assert o["n_captions"] == 2000 and o["t2v_differ"] == 0 and o["v2t_differ"] == 0
    assert len(o["all_gemm_seconds"]) == o["repeats"] == len(o["pair_ratios"])
    assert o["best_ratio"] == o["ranks_seconds"] / o["gemm_seconds"]
    assert min(o["pair_ratios"]) <= o["ratio"] <= max(o["pair_ratios"])
    printed = capsys.readouterr().out
    assert "faster" in printed and "peak added memory" in printed and "bare chunked GEMM pass" in printed


def test_missing_benchmark_module_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(bench.BENCHES, "features", ("mvkit.bench._no_such_bench", "x"))
    with pytest.raises(SystemExit, match="not available"):
        bench.main(["features"])
    assert bench.main(["nope"]) == 2
