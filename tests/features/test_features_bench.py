"""`mvkit bench features` on a handful of clips with the fake encoder (fast)."""
import pytest

from mvkit.bench import features_bench

from .conftest import FakeEncoder


def test_bench_runs_and_reports_consistent_ratios(tmp_path):
    ds = features_bench._fallback_clips(tmp_path, 6)
    assert len(ds.videos) == 6 and ds.languages == ["en"]
    res = features_bench.run(ds, FakeEncoder(), "fallback", num_frames=4, batch_size=3, workers=1, epochs=2, repeats=2)
    for k in ("decode_s", "encode_s", "pipeline_s", "head_epoch_cached_s", "head_epoch_redecode_s"):
        assert res[k] > 0
    assert res["videos"] == 6 and res["repeats"] == 2
    assert res["pipeline_over_max"] == pytest.approx(res["pipeline_s"] / max(res["decode_s"], res["encode_s"]), abs=0.02)
    assert res["meets_target"] == (res["pipeline_over_max"] <= 1.3)
    # decoding every epoch must cost more than reading the cache
    assert res["redecode_over_cached"] > 1
    text = features_bench.report(res)
    assert "x max(decode, encode)" in text and "x the cached epoch" in text
