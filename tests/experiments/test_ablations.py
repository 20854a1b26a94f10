"""run_variants on a tiny fake world with the embedded world's caption ids: every claim objective
trains, finished runs are reused, ranks match a brute-force ranking, subsampling is seeded."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from mvkit.analysis.run_ranks import load_ranks, query_ranks
from mvkit.data.records import CaptionRecord, RetrievalDataset, VideoRecord
from mvkit.experiments.ablations import Variant, run_variants, subsample_train
from mvkit.train import TrainConfig
from mvkit.train.objectives import (
    C2KD,
    DCOTObjective,
    NRCCRObjective,
    PartialOrderObjective,
    Probes,
)

_spec = importlib.util.spec_from_file_location("train_conftest", Path(__file__).parents[1] / "train" / "conftest.py")
_conf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conf)


def probes_of(table):
    """``Probes`` from ``{video_id: [(feature, label), ...]}`` (probe captions named after their video)."""
    caps, labels, feats = [], [], []
    for vid, rows in table.items():
        for k, (f, lab) in enumerate(rows):
            caps.append(CaptionRecord(f"rudder:{vid}#en#{k}", vid, "en", f"probe {k} of {vid}"))
            labels.append(lab)
            feats.append(f)
    return Probes(caps, labels, np.stack(feats))


def make_translation_world(n: int = 40, d: int = 12, seed: int = 0):
    """Videos with a latent z; English captions, machine translations into de (with their
    source ids) and back-translations, named like the embedded world's captions."""
    rng = np.random.default_rng(seed)
    A, W = rng.normal(size=(4, 16)), rng.normal(size=(4, d))
    videos, caps, frames, text = [], [], {}, {"en": ([], []), "de": ([], [])}
    for i in range(n):
        vid, z = f"v{i:03d}", rng.normal(size=4)
        split = "train" if i < n * 0.6 else ("val" if i < n * 0.8 else "test")
        videos.append(VideoRecord(vid, f"videos/{vid}.mp4", split))
        frames[vid] = {"appearance": (z @ A + 0.3 * rng.normal(size=(4, 16))).astype(np.float32)}

        def add(cid, lang, kind, src=None, vid=vid, z=z):
            caps.append(CaptionRecord(cid, vid, lang, cid, kind, src))
            text[lang][0].append(cid)
            text[lang][1].append((z @ W + 0.3 * rng.normal(size=d)).astype(np.float32))
        add(f"{vid}#en#0", "en", "human")
        add(f"{vid}#de#0", "de", "human")
        if split == "train":
            add(f"{vid}#en2de#0", "de", "machine-translated", f"{vid}#en#0")
            add(f"{vid}#en2de2en#0", "en", "back-translated", f"{vid}#en2de#0")
    store = _conf.FakeStore(frames, {l: (ids, np.stack(a)) for l, (ids, a) in text.items()}, {"appearance": 16})
    return RetrievalDataset("fake", ".", videos, caps, source="fake"), store


@pytest.fixture(scope="module")
def world():
    return make_translation_world()


def _base(**kw):
    return TrainConfig(**{"epochs": 2, "batch_size": 8, "threads": 1, "bootstrap": 0, **kw})


def test_every_claim_objective_trains_and_runs_are_reused(world, tmp_path):
    ds, store = world
    rng = np.random.default_rng(1)
    probes = probes_of({v.video_id: [(rng.normal(size=12).astype(np.float32), lab) for lab in (0, 1, 2, 2)]
                        for v in ds.videos})
    tt = {"train_select": ["en:human", "de:machine-translated"], "langs": None, "kinds": None,
          "eval_langs": ["en", "de"]}
    from mvkit.train import load_model
    vs = [Variant("teacher", {"langs": ["en"], "kinds": ["human"]}),
          Variant("po", {"langs": ["en"], "kinds": ["human"]}, objective=lambda d: PartialOrderObjective(probes)),
          Variant("c2kd", tt, objective=lambda d: C2KD(teachers=[load_model(d["teacher"].paths["best"])])),
          Variant("nrccr", tt, objective=lambda d: NRCCRObjective()),
          Variant("dcot", tt, objective=lambda d: DCOTObjective(2)),
          Variant("leccr", {**tt, "loss": "leccr"}),                     # named objectives, as `--loss`
          Variant("cl2cm", {**tt, "loss": "cl2cm"}),
          Variant("scarce", {"langs": ["en"], "kinds": ["human"]}, train_fraction=0.5)]
    logs = []
    recs = run_variants(vs, _base(), tmp_path, data={"default": (ds, store)}, log=logs.append)
    assert [r.objective["objective"] for r in recs] == ["contrastive", "partial-order", "c2kd", "nrccr", "dcot",
                                                         "leccr", "cl2cm", "contrastive"]
    for r in recs:
        h = r.selection["history"]
        assert len(h) == 2 and all(np.isfinite(x["loss"]) for x in h)
        ranks = load_ranks(r.run_dir)
        assert len(ranks.t2v) == 16 and set(ranks.langs) == {"en", "de"}      # 8 test videos x 2 langs
    assert recs[-1].data["train"]["videos"] == 12                               # half of 24 train videos
    # the DCOT curriculum counted every training step (a buffer, so resume keeps it)
    assert recs[4].objective["loss_kwargs"]["curriculum_epochs"] == 2
    # a second call reuses every finished run and trains nothing
    logs.clear()
    again = run_variants(vs, _base(), tmp_path, data={"default": (ds, store)}, log=logs.append)
    assert all("finished earlier" in m for m in logs) and len(again) == len(vs)
    # a changed config retrains that variant only
    logs.clear()
    run_variants([Variant("teacher", {"langs": ["en"], "kinds": ["human"], "lr": 1e-3})], _base(), tmp_path,
                 data={"default": (ds, store)}, log=logs.append)
    assert "config or feature weights changed" in logs[0]


def test_query_ranks_match_brute_force(world, tmp_path):
    ds, store = world
    rec = run_variants([Variant("m", {"langs": ["en"], "kinds": ["human"]})], _base(epochs=1), tmp_path,
                       data={"default": (ds, store)}, log=lambda m: None)[0]
    r = query_ranks(rec.model, ds, store)
    from mvkit.train.data import build_split
    data = build_split(ds, store, "test", ["appearance"], kinds=["human"])
    with torch.no_grad():
        sim = rec.model.similarity(data.text_batch(torch.arange(len(data.captions))),
                                   data.video_batch(torch.arange(len(data.video_ids))))
    for i, v in enumerate(data.caption_video.tolist()):
        assert r.t2v[i] == 1 + int((sim[i] >= sim[i, v]).sum()) - 1    # pessimistic: ties count ahead
    assert r.caption_ids == [c.caption_id for c in data.captions]


def test_subsample_train_is_seeded_and_keeps_eval_splits(world):
    ds, _ = world
    a, b = subsample_train(ds, 0.25, seed=3), subsample_train(ds, 0.25, seed=3)
    assert [v.video_id for v in a.videos] == [v.video_id for v in b.videos]
    assert sum(v.split == "train" for v in a.videos) == 6
    assert sum(v.split != "train" for v in a.videos) == sum(v.split != "train" for v in ds.videos)
    assert {c.video_id for c in a.captions} <= {v.video_id for v in a.videos}
    with pytest.raises(ValueError, match="train_fraction"):
        subsample_train(ds, 0.0)


def test_partial_order_objective_labels_by_hand():
    """Batch: captions 0,1 of video A, caption 2 of video B; A has probes (label 0, 1), B one (2)."""
    from types import SimpleNamespace

    from mvkit.losses import HingeLoss, PartialOrderLoss
    from mvkit.models.factory import create_model
    from mvkit.models.fusion import VideoBatch
    from mvkit.models.text import TextBatch
    from mvkit.train.objectives import StepInput

    torch.manual_seed(0)
    model = create_model("mean", video_dims={"appearance": 4}, text_dim=3)
    rng = np.random.default_rng(0)
    pf = rng.normal(size=(3, 3)).astype(np.float32)
    obj = PartialOrderObjective(probes_of({"A": [(pf[0], 0), (pf[1], 1)], "B": [(pf[2], 2)]}))
    obj.prepare(SimpleNamespace(train=SimpleNamespace(video_ids=["A", "B", "C"]), model=model))
    text = torch.randn(3, 3)
    vids = torch.randn(3, 2, 4)
    video_index = torch.tensor([0, 0, 1])
    te = model.embed_text(TextBatch(text, torch.ones(3, dtype=torch.bool)))
    ve = model.embed_video(VideoBatch({"appearance": vids}, {"appearance": torch.ones(3, 2, dtype=torch.bool)}))
    step = StepInput(model, te, ve, torch.arange(3), video_index, torch.ones(3, dtype=torch.bool))
    got = obj(step)
    # by hand: rows = the batch's videos (A, A, B); columns = 3 captions then probes pA0, pA1, pB
    sim = model.score(te, ve)
    pe = model.embed_text(TextBatch(torch.from_numpy(pf), torch.ones(3, dtype=torch.bool)))
    full = torch.cat([sim.T, model.score(pe, ve).T], dim=1)
    labels = torch.tensor([[0, 0, 2, 0, 1, -1], [0, 0, 2, 0, 1, -1], [2, 2, 0, -1, -1, 2]])
    want = HingeLoss(max_violation=True)(sim, video_index[:, None] == video_index[None, :]) + \
        PartialOrderLoss()(full, labels, torch.arange(3))
    assert torch.allclose(got, want)
