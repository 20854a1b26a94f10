"""The grounding training entry point: val-only selection, run record, checkpoints, exact resume."""
import numpy as np
import pytest
import torch

from mvkit.data import load
from mvkit.features.store import open_store
from mvkit.grounding.data import build_grounding_split
from mvkit.grounding.evaluate import evaluate_grounding, predict, selection_score
from mvkit.grounding.train import (
    GroundingConfig,
    epoch_batches,
    fit_grounding,
    load_grounding_model,
    main,
)
from mvkit.train.checkpoint import read_checkpoint
from mvkit.train.record import RunRecord

SMALL = {"d_model": 32, "ff_dim": 64}


def _cfg(gworld, gstore, out, **kw):
    kw = {"epochs": 3, "batch_size": 16, "bootstrap": 50, "model_overrides": SMALL, **kw}
    return GroundingConfig(data=str(gworld), store=str(gstore), out=str(out), **kw)


def test_batches_cover_every_query_once_per_epoch_and_shard_over_ranks():
    one = torch.cat(epoch_batches(50, 8, seed=1, epoch=2))
    assert sorted(one.tolist()) == list(range(50))
    assert torch.equal(one, torch.cat(epoch_batches(50, 8, seed=1, epoch=2)))   # same seed and epoch: same order
    ranks = [torch.cat(epoch_batches(50, 8, 1, 2, rank=r, world=2)) for r in (0, 1)]
    assert sorted(torch.cat(ranks).tolist()) == list(range(50))


@pytest.mark.parametrize("model", ["detr", "rgtr"])
def test_fit_selects_on_val_and_writes_its_record(tmp_path, gworld, gstore, model):
    rec = fit_grounding(_cfg(gworld, gstore, tmp_path / model, model=model))
    saved = RunRecord.read(tmp_path / model / "run.json")
    assert saved.protocol["selection_split"] == "val" and saved.protocol["test_evaluated_after_selection"]
    hist = rec.selection["history"]
    best = max(range(len(hist)), key=lambda e: hist[e]["val_score"])
    assert rec.selection["selected_epoch"] == best                     # the best val epoch, never test
    assert set(saved.results) == {"en"} and saved.results["en"]["n"] > 0
    assert 0 <= saved.timings["match_share"] < 1
    m = saved.results["en"]["metrics"]
    lo, hi = saved.results["en"]["ci"]["R1@0.5"]
    assert lo <= m["R1@0.5"] <= hi
    # the saved best checkpoint is the selected model: it scores the val queries as selection saw them
    ds, store = load(gworld), open_store(gstore)
    val = build_grounding_split(ds, store, "val", langs=["en"], kinds=["human"])
    again = load_grounding_model(tmp_path / model / "best.safetensors")
    assert selection_score(evaluate_grounding(again, val, ["en"], bootstrap=0)) == pytest.approx(hist[best]["val_score"])
    if model == "rgtr":
        assert saved.model_config["anchors_init"] and "region-constrained" in saved.objective["matching"]


def test_killed_run_resumes_to_the_same_weights(tmp_path, gworld, gstore):
    full = fit_grounding(_cfg(gworld, gstore, tmp_path / "full", model="rgtr"))

    def kill(epoch, state):
        if epoch == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        fit_grounding(_cfg(gworld, gstore, tmp_path / "cut", model="rgtr"), callbacks=[kill])
    resumed = fit_grounding(_cfg(gworld, gstore, tmp_path / "cut", model="rgtr", resume=True))
    a, _ = read_checkpoint(tmp_path / "full" / "last.safetensors")
    b, _ = read_checkpoint(tmp_path / "cut" / "last.safetensors")
    model_keys = [k for k in a if k.startswith("model.")]
    assert model_keys and all(torch.equal(a[k], b[k]) for k in model_keys)
    assert resumed.results["en"]["metrics"] == full.results["en"]["metrics"]
    with pytest.raises(ValueError, match=r"cannot resume, the config changed in \['lr'\]"):
        fit_grounding(_cfg(gworld, gstore, tmp_path / "cut", model="rgtr", resume=True, lr=1e-3))


def test_translate_train_and_per_language_evaluation(tmp_path, gworld, gstore):
    cfg = _cfg(gworld, gstore, tmp_path / "tt", model="detr", train_select=["en:human", "de:machine-translated"],
               langs=None, kinds=None, epochs=1, eval_langs=["en", "de", "hi"])
    rec = fit_grounding(cfg)
    assert rec.data["train"]["queries"] > 0 and set(rec.results) == {"en", "de", "hi"}
    test = build_grounding_split(load(gworld), open_store(gstore), "test", langs=["de"], kinds=["human"])
    r = predict(rec.model, test)
    assert r.spans.shape[:2] == (len(test.queries), 10) and np.isfinite(r.spans).all()


def test_cli(tmp_path, gworld, gstore, capsys):
    assert main(["--data", str(gworld), "--store", str(gstore), "--model", "detr", "--out", str(tmp_path / "c"),
                 "--epochs", "1", "--no-test"]) == 0
    out = capsys.readouterr().out
    assert "selected epoch 0 on val; val split" in out and "en: n=" in out
