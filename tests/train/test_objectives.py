"""Named objectives: C2KD's student/teacher rows and its formula; unsupported losses fail early."""
from __future__ import annotations

import pytest
import torch

from mvkit.losses import create_loss
from mvkit.models import create_model
from mvkit.train import C2KD
from mvkit.train.data import build_split
from mvkit.train.objectives import StepInput, TrainContext


def _ctx(world):
    ds, store = world
    train = build_split(ds, store, "train", ["appearance"], langs=["en", "de"])
    torch.manual_seed(0)
    model = create_model("mean", video_dims=store.dims, text_dim=train.text.shape[1], embed_dim=8)
    bound = lambda split, streams=None, **kw: build_split(ds, store, split, list(streams or ["appearance"]), **kw)
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


def test_c2kd_with_frozen_teacher_uses_the_teachers_similarities(world):
    """Two teachers pooled by max: the distilled term equals C2KD on the pooled teacher sims."""
    store = world[1]
    ctx, train, model = _ctx(world)
    torch.manual_seed(1)
    teachers = [create_model("mean", video_dims=store.dims, text_dim=train.text.shape[1], embed_dim=8).eval()
                for _ in range(2)]
    obj = C2KD(balance=0.0, temperature=0.2, pool="max", teachers=teachers)
    obj.prepare(ctx)
    rows = torch.tensor([0, 2, 3, 42, 43, 80])        # en and de captions of three videos
    vrows = train.caption_video[rows]
    te, ve = model.embed_text(train.text_batch(rows)), model.embed_video(train.video_batch(vrows))
    step = StepInput(model, te, ve, rows, vrows, train.is_en[rows])
    de = ~train.is_en[rows]
    en_rows = obj.teacher_row[rows[de]]
    with torch.no_grad():
        sims = [t.score(t.embed_text(obj.en.text_batch(en_rows)), t.embed_video(train.video_batch(vrows)))
                for t in teachers]
    want = create_loss("c2kd", temperature=0.2, pool="max")(step.sim[de], torch.stack(sims).amax(0))
    assert torch.allclose(obj(step), want)


def test_c2kd_teacher_of_another_width_is_refused_before_training(world):
    store = world[1]
    ctx, train, _ = _ctx(world)
    bad = create_model("mean", video_dims=store.dims, text_dim=train.text.shape[1] + 1, embed_dim=8)
    with pytest.raises(ValueError, match="teacher 0 expects text features of width 13"):
        C2KD(teachers=[bad]).prepare(ctx)
