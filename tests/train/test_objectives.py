"""Named objectives: C2KD's student/teacher rows and its formula; unsupported losses fail early."""
from __future__ import annotations

import pytest
import torch

from mvkit.losses import create_loss
from mvkit.models import create_model
from mvkit.train import C2KD, TrainConfig, fit
from mvkit.train.data import build_split
from mvkit.train.objectives import StepInput, TrainContext, default_objective


def _ctx(world):
    ds, store = world
    train = build_split(ds, store, "train", ["appearance"], langs=["en", "de"])
    torch.manual_seed(0)
    model = create_model("mean", video_dims=store.dims, text_dim=train.text.shape[1], embed_dim=8)
    bound = lambda split, **kw: build_split(ds, store, split, ["appearance"], **kw)
    return TrainContext(None, ds, store, train, model, bound), train, model


def test_c2kd_objective_matches_formula(world):
    ctx, train, model = _ctx(world)
    obj = C2KD(balance=0.3, temperature=0.2)
    obj.prepare(ctx)
    rows = torch.tensor([0, 1, 2, 3, 40, 41, 80, 81])      # en and de captions of several videos
    vrows = train.caption_video[rows]
    te, ve = model.embed_text(train.text_batch(rows)), model.embed_video(train.video_batch(vrows))
    step = StepInput(model, te, ve, rows, vrows, train.is_en[rows])
    got = obj(step)
    # reference: teacher = first English caption of each German caption's video, same model
    de = ~train.is_en[rows]
    assert de.any() and (~de).any()
    en_rows = []
    for r in rows[de].tolist():
        vid = train.captions[r].video_id
        en_rows.append(next(i for i, c in enumerate(obj.en.captions) if c.video_id == vid))
    teacher = model.score(model.embed_text(obj.en.text_batch(torch.tensor(en_rows))), ve).detach()
    sim, pos = step.sim, step.pos
    want = 0.3 * create_loss("infonce")(sim, pos) + 0.7 * create_loss("c2kd", temperature=0.2)(sim[de], teacher)
    assert torch.allclose(got, want)
    assert obj.describe()["teachers"] == "self"


def test_c2kd_by_name_trains(world):
    ds, store = world
    rec = fit(TrainConfig(loss="c2kd", loss_kwargs={"balance": 0.5}, langs=["en", "de"], epochs=1, batch_size=16,
                          bootstrap=0, model_overrides={"embed_dim": 8}), dataset=ds, store=store)
    assert rec.objective["objective"] == "c2kd" and rec.objective["balance"] == 0.5


def test_losses_needing_more_than_sim_pos_are_refused():
    with pytest.raises(ValueError, match="unknown loss 'nope'; named objectives: .*'partial_order_ot'"):
        default_objective("nope", {}, dual=False)
    assert default_objective("vse++", {}, dual=False).loss_name == "vse++"
