"""The notebook layer: the recipe's caption selection, the per-language table, the joint embedding,
shared data parameters and one run-folder rule."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mvkit import notebook as nb
from mvkit.analysis.embeddings import _joint
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord


@pytest.fixture()
def ds(tmp_path):
    videos = [VideoRecord("a", None, "train"), VideoRecord("b", None, "val"), VideoRecord("c", None, "test")]
    caps = [CaptionRecord("a#en#0", "a", "en", "x", "human"),
            CaptionRecord("a#de#0", "a", "de", "x", "human"),
            CaptionRecord("a#en2de#0", "a", "de", "x", "machine-translated", "a#en#0"),
            CaptionRecord("a#en2de2en#0", "a", "en", "x", "back-translated", "a#en2de#0"),
            CaptionRecord("a#en2fr#0", "a", "fr", "x", "machine-translated", "a#en#0"),
            CaptionRecord("c#en#0", "c", "en", "x", "human"),
            CaptionRecord("c#de#0", "c", "de", "x", "human")]
    return RetrievalDataset("toy", tmp_path, videos, caps)


def test_train_config_is_translate_train(ds):
    cfg = nb.train_config(ds, None, epochs=2, out="/tmp/x")
    # English human + machine translations; never back-translations or scarce human non-English
    assert cfg.train_select == ["de:machine-translated", "en:human", "fr:machine-translated"]
    assert cfg.eval_langs == ["de", "en"]          # fr has no human test caption
    assert cfg.eval_kinds == ["human"] and cfg.head == "fusion" and cfg.loss == "infonce"
    assert cfg.text_encoder == "bag"                 # the translated languages are learnt
    only_en = nb.train_config(ds, None, langs=["en"], head="mean", lr=1e-4)
    assert only_en.train_select == ["en:human"] and only_en.eval_langs == ["en"]
    assert only_en.head == "mean" and only_en.lr == 1e-4
    with pytest.raises(ValueError, match="no training or test captions"):
        nb.train_config(ds, None, langs=["ja"])


def _record():
    summ = {"R1": 50.0, "R5": 75.0, "R10": 100.0, "MdR": 1.5, "MnR": 2.0, "RSum": 225.0}
    ci = {m: [v - 10, v + 10] for m, v in summ.items()}
    return {"results": {"en": {"t2v": summ, "v2t": {**summ, "R1": 25.0}, "ci": {"t2v": ci, "v2t": ci},
                               "n_captions": 8, "n_videos": 4, "n_v2t_queries": 4}}}


def test_language_table_values_ci_and_chance():
    rec = _record()
    rec["results"] = {"de": rec["results"]["en"], **rec["results"]}
    assert [r[0] for r in nb.results_by_language(rec)[["language"]].values] == ["en", "en", "de", "de"]
    df = nb.results_by_language(_record())
    assert df[["language", "direction"]].values.tolist() == [["en", "t2v"], ["en", "v2t"]]
    t2v, v2t = df.iloc[0], df.iloc[1]
    assert t2v.R1 == 50.0 and (t2v.R1_low, t2v.R1_high) == (40.0, 60.0)
    assert t2v.chance_R1 == 25.0 and v2t.chance_R1 == 12.5      # 4 videos; 8 captions
    assert t2v.n_queries == 8 and v2t.n_queries == 4 and v2t.R1 == 25.0
    wide = nb.format_language_table(df, ("R1", "R5", "MdR"), columns="direction")
    assert list(wide.columns) == ["t2v R1", "t2v R5", "t2v MdR", "v2t R1", "v2t R5", "v2t MdR"]
    assert wide.loc["en", "t2v R1"] == "50.0 [40.0, 60.0]" and wide.loc["en", "v2t MdR"] == "1.5 [-8.5, 11.5]"


def test_joint_vectors_reproduce_weighted_fused_score():
    g = torch.Generator().manual_seed(0)
    n = lambda *s: torch.nn.functional.normalize(torch.randn(*s, generator=g), dim=-1)
    text = {"object": n(5, 4), "activity": n(5, 3)}
    video = {"object.v": n(6, 4), "activity.v": n(6, 3)}
    w = {"object": 1.0, "activity": 0.5}
    t, v = _joint(text, video, w)
    ref = sum(w[s] * (text[s] @ video[f"{s}.v"].T) for s in w)
    assert np.allclose(t @ v.T, ref.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="pooling head"):
        _joint({"main": n(2, 3)}, {"main.k": n(2, 3)}, None)


def test_runs_dir_keyed_by_dataset_and_feature_weights(ds, monkeypatch, tmp_path):
    from types import SimpleNamespace

    monkeypatch.setenv("MVKIT_HOME", str(tmp_path))
    store = SimpleNamespace(provenance={"weights_sha256": "0123456789abcdef"})
    assert nb.runs_dir(ds, store, "02") == tmp_path / "runs" / "toy-w0123456789" / "02"
    other = SimpleNamespace(provenance={"weights_sha256": "fedcba9876543210"})
    assert nb.runs_dir(ds, other, "02") != nb.runs_dir(ds, store, "02")


def test_data_params_defaults_overrides_and_typos():
    p = nb.data_params({"encoder": "ViT-B-32", "pretrained": "openai"})
    assert (p.dataset, p.encoder, p.pretrained, p.ml_text_model) == ("embedded", "ViT-B-32", "openai", "mvkit-tiny-ml")
    assert nb.data_params() == nb.DataParams() and set(nb.DATA_DEFAULTS) == set(vars(nb.DataParams()))
    with pytest.raises(ValueError, match=r"unknown data parameters \['encodr'\]"):
        nb.data_params({"encodr": "x"})
