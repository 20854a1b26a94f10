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


def test_text_timing_compares_the_same_captions_both_ways(tmp_path):
    import json

    import open_clip

    from mvkit.features.encoders import create_encoder

    cfg = {"embed_dim": 24, "vision_cfg": {"image_size": 32, "patch_size": 16, "width": 32, "head_width": 16,
                                           "layers": 1},
           "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1}}
    (tmp_path / "mvkit-bench-clip.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "mvkit-bench-clip.json")
    enc = create_encoder("mvkit-bench-clip", None, device="cpu")
    by_lang = {"en": ["a red ball", "a blue cube moves to the left", "a red ball"] * 5,
               "hi": ["एक लाल गेंद", "नीला घन बाईं ओर जाता है"] * 3}
    res = features_bench.time_text(enc, by_lang)
    assert res["same_features"] and res["max_abs_diff"] < 1e-4 and res["context"] == 32
    assert res["all"]["captions"] == 21 and res["en"]["captions"] == 15
    per = res["per_lang"]
    want = sum(p["before_s"] for p in per.values()) / sum(p["after_s"] for p in per.values())
    assert res["all"]["speedup"] == pytest.approx(want, abs=0.01)
    tokens = int((enc.tokenize(by_lang["en"], "en") != enc.pad_id).sum())
    assert per["en"]["tokens"] == tokens and res["en"]["padding_bound"] == round(15 * 32 / tokens, 2)
    assert res["en"]["meets_target"] == (res["en"]["speedup"] >= 3.0)
    text = features_bench.report_text(res)
    assert "every language" in text and "English" in text and "captions/s" in text
