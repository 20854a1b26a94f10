"""The notebook ablation grid: what each variant trains on, names, reuse of finished runs."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mvkit.analysis.run_ranks import load_ranks
from mvkit.experiments import crosslingual as xl
from mvkit.train.objectives import C2KD

LANGS = ["en", "de", "hi"]


def test_main_variants_training_captions():
    vs = {v.name: v for v in xl.main_variants(LANGS, ["c2kd", "joint", "translate_train"], out="/tmp/x")}
    assert list(vs) == ["zero_shot", "c2kd", "joint", "translate_train"]     # baseline first (C2KD teacher)
    zs = vs["zero_shot"].overrides
    assert zs["langs"] == ["en"] and zs["kinds"] == ["human"] and zs["eval_langs"] == ["en"]
    assert zs["text_encoder"] == "frozen"               # zero-shot: the text side never trains
    tt = vs["translate_train"].overrides
    assert tt["train_select"] == ["en:human", "de:machine-translated", "hi:machine-translated"]
    assert tt["eval_langs"] == LANGS
    assert vs["joint"].overrides["train_select"] == tt["train_select"] + ["de:human", "hi:human"]
    assert vs["c2kd"].overrides == tt and vs["c2kd"].objective is not None
    with pytest.raises(ValueError, match="unknown variants"):
        xl.main_variants(LANGS, ["nope"])
    with pytest.raises(ValueError, match="English"):
        xl.main_variants(["de", "hi"])


def test_sweep_names_share_the_translate_train_run():
    d = xl.default_mt_noise()
    assert xl.noise_key(d) == "default" and xl.noise_key(0.6) == "noise0.6"
    assert xl.sweep_name("infonce", noise=d) == "translate_train" == xl.sweep_name("infonce", fraction=1.0)
    assert xl.sweep_name("dcot", noise=0.6) == "dcot_noise0.6" and xl.sweep_name("nrccr", fraction=0.25) == "nrccr_data0.25"
    vs = xl.sweep_variants(LANGS, noise_levels=[d, 0.6], fractions=[0.25, 1.0])
    names = [v.name for v in vs]
    assert "translate_train" not in names and len(names) == len(set(names))
    assert sorted(names) == sorted(["infonce_noise0.6", "infonce_data0.25", "nrccr", "nrccr_noise0.6",
                                    "nrccr_data0.25", "dcot", "dcot_noise0.6", "dcot_data0.25"])
    by = {v.name: v for v in vs}
    assert by["dcot_noise0.6"].data == "noise0.6" and by["dcot_noise0.6"].train_fraction is None
    assert by["nrccr_data0.25"].data == "default" and by["nrccr_data0.25"].train_fraction == 0.25
    records = {n: n for n in names + ["translate_train"]}
    noise, share = xl.sweep_runs(records, noise_levels=[d, 0.6], fractions=[0.25, 1.0])
    assert noise[("infonce", d)] == "translate_train" and noise[("dcot", 0.6)] == "dcot_noise0.6"
    assert share[("infonce", 1.0)] == "translate_train" and share[("nrccr", 0.25)] == "nrccr_data0.25"


def test_zero_shot_ml_translate_test_and_dual_path_variants():
    vs = {v.name: v for v in xl.main_variants(LANGS, ["zero_shot_ml", "translate_test", "dual_path"])}
    assert vs["zero_shot_ml"].data == "ml" and vs["zero_shot_ml"].overrides == vs["zero_shot"].overrides
    assert vs["translate_test"].overrides == {} and xl.DERIVED["translate_test"] == "zero_shot"
    dual = vs["dual_path"].overrides
    assert dual["head"] == "fusion_dual" and dual["text_encoder"] == "tower"
    assert dual["text_encoder_kwargs"]["text_model"] == "mvkit-tiny-ml"
    t = xl.variants_table(list(vs.values()), xl.base_config(2))
    assert t.loc["dual_path", "text side"] == "tower (mvkit-tiny-ml)" and t.loc["zero_shot", "text side"] == "frozen"
    assert t.loc["translate_test", "loss"] == "(the zero_shot model)"


def test_variants_table_rows():
    t = xl.variants_table(xl.main_variants(LANGS, ["translate_train"]) +
                          xl.sweep_variants(LANGS, fractions=[0.5], methods=["infonce"]))
    assert list(t.index) == ["zero_shot", "translate_train", "infonce_data0.5"]
    assert t.loc["zero_shot", "train languages"] == 1 and t.loc["translate_train", "train languages"] == 3
    assert t.loc["infonce_data0.5", "train share"] == 0.5


def _world():
    path = Path(__file__).with_name("test_ablations.py")
    spec = importlib.util.spec_from_file_location("ablation_tests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_translation_world(n=30)


def test_run_all_trains_c2kd_from_the_zero_shot_teacher_and_reuses(tmp_path):
    data = {"default": _world()}
    vs = xl.main_variants(["en", "de"], ["zero_shot", "c2kd"], out=tmp_path)
    base = xl.base_config(2, head="mean", batch_size=8, bootstrap=0, text_encoder="frozen")   # fake world: appearance, no tokenizer
    recs = xl.run_all(vs, base, tmp_path, data, progress=False)
    assert recs["c2kd"].objective["teachers"] == 1                    # a frozen external teacher
    assert isinstance(vs[1].objective({}), C2KD)
    r = load_ranks(recs["c2kd"].run_dir)
    assert set(r.langs) == {"en", "de"} and len(r.t2v) == 12          # every human test caption
    mtime = (tmp_path / "c2kd" / "run.json").stat().st_mtime_ns
    again = xl.run_all(vs, base, tmp_path, data, progress=False)
    assert (tmp_path / "c2kd" / "run.json").stat().st_mtime_ns == mtime   # finished runs are reused
    models = xl.load_models(again)
    assert set(models) == {"zero_shot", "c2kd"} and not models["c2kd"].training
