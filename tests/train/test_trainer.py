"""fit/evaluate on the fake world: learning, determinism, exact resume, val-only selection, hooks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import mvkit.train.trainer as trainer_mod
from mvkit.losses import create_loss
from mvkit.train import (
    Contrastive,
    DualPath,
    Objective,
    RunRecord,
    TrainConfig,
    evaluate,
    fit,
    load_model,
)
from mvkit.train.checkpoint import read_checkpoint

from .conftest import make_world

FAST = {"langs": ["en", "de"], "batch_size": 16, "lr": 3e-3, "bootstrap": 100, "model_overrides": {"embed_dim": 16}}


class Killed(Exception):
    pass


def _weights(path):
    t, _ = read_checkpoint(path)
    return {k: v for k, v in t.items() if k.startswith("model.")}


def test_learns_and_record_is_complete(world, tmp_path):
    ds, store = world
    rec = fit(TrainConfig(epochs=4, out=str(tmp_path), **FAST), dataset=ds, store=store)
    hist = rec.selection["history"]
    assert rec.selection["split"] == "val" and rec.protocol["selection_split"] == "val"
    assert rec.protocol["eval_split"] == "test" and rec.protocol["test_evaluated_after_selection"]
    assert rec.selection["selected_epoch"] == int(np.argmax([h["val_score"] for h in hist]))
    assert set(rec.results) == {"en", "de"}
    chance_r1 = 100 / rec.results["en"]["n_videos"]
    assert rec.results["en"]["t2v"]["R1"] > 3 * chance_r1          # it learned the latent match
    for r in rec.results.values():
        for d in ("t2v", "v2t"):
            lo, hi = r["ci"][d]["R1"]
            assert lo <= r[d]["R1"] <= hi
    assert RunRecord.read(tmp_path / "run.json").results == rec.results
    assert len(rec.timings["epoch_train_seconds"]) == 4
    # the saved best weights rebuild the selected model
    m = load_model(tmp_path / "best.safetensors")
    again = evaluate(m, ds, store, "test", langs=["en", "de"], bootstrap=0)
    assert again["en"]["t2v"] == rec.results["en"]["t2v"]


def test_same_seed_same_record(world):
    ds, store = world
    a = fit(TrainConfig(epochs=2, head="dcm", **FAST), dataset=ds, store=store)
    b = fit(TrainConfig(epochs=2, head="dcm", **FAST), dataset=ds, store=store)
    assert a.results == b.results and a.val_results == b.val_results
    assert [h["loss"] for h in a.selection["history"]] == [h["loss"] for h in b.selection["history"]]
    c = fit(TrainConfig(epochs=2, head="dcm", **{**FAST, "lr": 1e-3}, seed=1), dataset=ds, store=store)
    assert [h["loss"] for h in a.selection["history"]] != [h["loss"] for h in c.selection["history"]]


@pytest.mark.parametrize("head", ["seqtransf"])          # dropout exercises the RNG state
def test_resume_after_kill_is_exact(world, tmp_path, head):
    ds, store = world
    cfg = dict(epochs=3, head=head, **FAST)
    full = fit(TrainConfig(out=str(tmp_path / "full"), **cfg), dataset=ds, store=store)

    def kill(epoch, state):
        if epoch == 1:
            raise Killed()
    with pytest.raises(Killed):
        fit(TrainConfig(out=str(tmp_path / "cut"), **cfg), dataset=ds, store=store, callbacks=[kill])
    assert read_checkpoint(tmp_path / "cut" / "last.safetensors")[1]["trainer"]["epoch"] == 1
    resumed = fit(TrainConfig(out=str(tmp_path / "cut"), resume=True, **cfg), dataset=ds, store=store)
    assert [h["loss"] for h in resumed.selection["history"]] == [h["loss"] for h in full.selection["history"]]
    assert resumed.results == full.results and resumed.selection["selected_epoch"] == full.selection["selected_epoch"]
    for name in ("last.safetensors", "best.safetensors"):
        a, b = _weights(tmp_path / "full" / name), _weights(tmp_path / "cut" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # a changed config is refused rather than silently mixed
    with pytest.raises(ValueError, match="config changed in \\['lr'\\]"):
        fit(TrainConfig(out=str(tmp_path / "cut"), resume=True, **{**cfg, "lr": 1.0}), dataset=ds, store=store)


def test_selection_never_reads_test(world, monkeypatch):
    ds, store = world
    calls = []
    real_eval, real_build = trainer_mod.evaluate_split, trainer_mod.build_split

    def spy_eval(model, data, **kw):
        calls.append(("eval", data.split))
        return real_eval(model, data, **kw)

    def spy_build(dataset, store, split, *a, **kw):
        calls.append(("build", split))
        return real_build(dataset, store, split, *a, **kw)

    monkeypatch.setattr(trainer_mod, "evaluate_split", spy_eval)
    monkeypatch.setattr(trainer_mod, "build_split", spy_build)

    def check(epoch, state):                  # during training the test split is never touched
        calls.append(("epoch_end", epoch))
        assert ("build", "test") not in calls and ("eval", "test") not in calls
    fit(TrainConfig(epochs=3, **FAST), dataset=ds, store=store, callbacks=[check])
    last_epoch = max(i for i, c in enumerate(calls) if c[0] == "epoch_end")
    test_idx = [i for i, c in enumerate(calls) if c[1] == "test"]
    assert test_idx and min(test_idx) > last_epoch
    assert calls.count(("eval", "test")) == 1
    assert [c for c in calls if c[0] == "eval"][:3] == [("eval", "val")] * 3


def test_objective_hook_sees_global_batch_and_pos(world):
    ds, store = world
    seen = []

    class Spy(Objective):
        name = "spy"

        def __init__(self):
            super().__init__()
            self.loss = create_loss("infonce")

        def prepare(self, ctx):
            self.train = ctx.train
            self.en_split = ctx.build_split("train", langs=["en"])   # extra data an objective may load

        def forward(self, step):
            cv = self.train.caption_video[step.caption_index]
            assert torch.equal(cv, step.video_index)
            assert torch.equal(step.pos, cv[:, None] == cv[None, :])
            assert step.sim.shape == (len(cv), len(cv))
            seen.append(len(cv))
            return self.loss(step.sim, step.pos)

    rec = fit(TrainConfig(epochs=1, eval_test=False, **FAST), dataset=ds, store=store, objective=Spy())
    assert rec.objective == {"objective": "spy"} and sum(seen) == rec.data["train"]["captions"]
    assert rec.protocol["eval_split"] == "val"


def test_dual_path_is_sum_of_language_losses():
    torch.manual_seed(0)
    sim, vid = torch.randn(6, 6), torch.tensor([0, 1, 2, 0, 1, 3])
    pos = vid[:, None] == vid[None, :]
    en = torch.tensor([True, True, True, False, False, False])
    loss = create_loss("infonce")

    class S:  # the parts of StepInput DualPath reads
        pass
    s = S()
    s.sim, s.pos, s.is_en = sim, pos, en
    got = DualPath(loss)(s)
    assert torch.allclose(got, loss(sim[en], pos[en]) + loss(sim[~en], pos[~en]))
    assert torch.allclose(Contrastive(loss)(s), loss(sim, pos))


def test_dual_text_training_and_train_select(world):
    ds, store = world
    rec = fit(TrainConfig(epochs=1, head="dcm_dual", train_select=["en:human", "de:machine-translated"],
                          **{**FAST, "bootstrap": 0}), dataset=ds, store=store)
    assert rec.objective["objective"] == "dual-path"
    n_train_videos = rec.data["train"]["videos"]
    assert rec.data["train"]["captions"] == n_train_videos * 3     # 2 en human + 1 de MT per video


def test_skipped_videos_are_left_out_and_counted():
    from mvkit.train.data import MissingVideosWarning
    ds, store = make_world(skip=3)
    with pytest.warns(MissingVideosWarning, match=r"3 of the 36 'train' videos have no features: 'v000' \(corrupt\)"):
        rec = fit(TrainConfig(epochs=1, **{**FAST, "bootstrap": 0}), dataset=ds, store=store)
    assert rec.data["train"]["skipped"] == 3 and rec.data["train"]["videos"] == 36 - 3


@pytest.fixture(scope="module")
def tiny():
    from mvkit.features.encoders import create_encoder

    return create_encoder("mvkit-tiny", device="cpu")


@pytest.mark.parametrize("text_encoder", ["tower", "bag"])
def test_trainable_text_side_trains_and_reloads(world, tiny, tmp_path, text_encoder):
    """The text module learns (its weights move), the checkpoint names it, and load_model rebuilds
    it from the encoder so evaluation gives the same numbers; another encoder is refused."""
    ds, store = world
    from mvkit.features.encoders import create_encoder
    from mvkit.models.text_encoders import create_text_encoder

    rec = fit(TrainConfig(epochs=2, text_encoder=text_encoder, out=str(tmp_path), **{**FAST, "bootstrap": 0}),
              dataset=ds, store=store, encoder=tiny)
    start = create_text_encoder(text_encoder, tiny, **({"seed": 0} if text_encoder == "bag" else {}))
    trained = dict(rec.model.text.module.named_parameters())
    moved = [n for n, p in start.named_parameters() if not torch.allclose(p, trained[n])]
    assert moved and rec.protocol["text_encoder"]["name"] == text_encoder
    m = load_model(tmp_path / "best.safetensors", encoder=tiny)
    again = evaluate(m, ds, store, "test", langs=["en", "de"], bootstrap=0)
    assert again["en"]["t2v"] == rec.results["en"]["t2v"]
    other = create_encoder("mvkit-tiny", "random", device="cpu")
    with pytest.raises(ValueError, match="trained from encoder 'mvkit-tiny'"):
        load_model(tmp_path / "best.safetensors", encoder=other)


def test_dual_path_with_a_multilingual_store(world):
    """English rows read the main store, the others the multilingual tower's store (its own dim)."""
    ds, store = world
    from .conftest import FakeStore
    rng = np.random.default_rng(3)
    ml = FakeStore({}, {l: (ids, rng.normal(size=(len(ids), 7)).astype(np.float32))
                        for l, (ids, _) in store._text.items()}, {})
    from mvkit.train.data import build_split
    d = build_split(ds, store, "val", ["appearance"], langs=["en", "de"], ml_store=ml)
    en, de = d.is_en, ~d.is_en
    assert d.ml_text.shape[1] == 7 and d.text.shape[1] == 12
    assert (d.ml_text[en] == 0).all() and (d.text[de] == 0).all() and (d.ml_text[de] != 0).any()
    rec = fit(TrainConfig(epochs=1, head="dcm_dual", **{**FAST, "bootstrap": 0}), dataset=ds, store=store, ml_store=ml)
    assert rec.model.text_projs["main"].proj_ml.in_features == 7


def test_standardize_uses_training_split_statistics(world):
    ds, store = world
    rec = fit(TrainConfig(epochs=1, **{**FAST, "bootstrap": 0, "lr": 0.0}), dataset=ds, store=store)
    train_ids = [v.video_id for v in ds.videos if v.split == "train"]
    frames = np.concatenate([store._frames[v]["appearance"] for v in train_ids])
    norm = rec.model.video_norms["appearance"]
    assert np.allclose(norm.mean.numpy(), frames.mean(0), atol=1e-5)
    assert np.allclose(norm.std.numpy(), frames.std(0), atol=1e-5)
    caps = [c.caption_id for c in ds.captions if c.video_id in set(train_ids) and c.lang in ("en", "de")]
    rows = {cid: a for l in ("en", "de") for cid, a in zip(*store.text_features(l))}
    assert np.allclose(rec.model.text.norm.mean.numpy(), np.stack([rows[c] for c in caps]).mean(0), atol=1e-5)
    raw = fit(TrainConfig(epochs=1, standardize=False, **{**FAST, "bootstrap": 0}), dataset=ds, store=store)
    assert torch.equal(raw.model.video_norms["appearance"].mean, torch.zeros(16))


def _without(store, vids):
    """The store with some videos' features gone, as after a corrupt download (named in ``skipped``)."""
    import copy
    s = copy.copy(store)
    s._frames = {v: f for v, f in store._frames.items() if v not in vids}
    s.video_ids = list(s._frames)
    s.skipped = {**store.skipped, **{v: "truncated: moov atom not found" for v in vids}}
    return s


def test_missing_test_videos_are_an_error_unless_allowed_and_then_recorded(world):
    from mvkit.train.data import MissingVideosWarning, build_split
    ds, store = world
    short = _without(store, ["v050", "v051", "v003"])
    with pytest.raises(ValueError, match=r"fake-store: 2 of the 12 'test' videos have no features: 'v050' "
                                         r"\(truncated: moov atom not found\), 'v051' .* allow_missing_videos=True"):
        build_split(ds, short, "test", ["appearance"])
    with pytest.warns(MissingVideosWarning, match=r"2 of the 12 'test' videos have no features.*evaluated on the "
                                                  r"videos there are"):
        assert len(build_split(ds, short, "test", ["appearance"], allow_missing_videos=True).video_ids) == 10
    with pytest.warns(MissingVideosWarning, match=r"1 of the 36 'train' videos have no features: 'v003'.*left out"):
        assert len(build_split(ds, short, "train", ["appearance"]).video_ids) == 35
    with pytest.raises(ValueError, match=r"fake-store: 2 of the 12 'test' videos"):     # before any training
        fit(TrainConfig(epochs=1, **{**FAST, "bootstrap": 0}), dataset=ds, store=short)
    with pytest.warns(MissingVideosWarning):
        rec = fit(TrainConfig(epochs=1, allow_missing_videos=True, **{**FAST, "bootstrap": 0}), dataset=ds, store=short)
    assert rec.protocol["missing_videos"]["allowed"] is True and rec.protocol["missing_videos"]["test_without_features"] == 2
    assert rec.data["test"] == {"videos": 10, "captions": rec.data["test"]["captions"], "skipped": 2}
    with pytest.raises(ValueError, match="2 of the 12 'test' videos"):
        evaluate(rec.model, ds, short, "test", bootstrap=0)


def test_the_test_gallery_is_checked_before_the_first_epoch(world, monkeypatch):
    ds, store = world
    epochs = []
    monkeypatch.setattr(trainer_mod, "evaluate_split", lambda *a, **k: epochs.append(1) or {})
    with pytest.raises(ValueError, match="1 of the 12 'test' videos"):
        fit(TrainConfig(epochs=1, **{**FAST, "bootstrap": 0}), dataset=ds, store=_without(store, ["v055"]))
    assert epochs == []
