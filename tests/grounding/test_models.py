"""Matching, anchors, losses, the three grounders and the floor: brute force and hand cases."""
import itertools

import numpy as np
import pytest
import torch

from mvkit.grounding.anchors import kmeans_anchors, nearest_anchors
from mvkit.grounding.losses import SetCriterion, best_iou, clip_labels, pad_targets
from mvkit.grounding.matching import HungarianMatcher
from mvkit.grounding.models import (
    MODELS,
    GroundingModel,
    SlidingWindowFloor,
    create_grounding_model,
    criterion_for,
    register_grounding_model,
)
from mvkit.grounding.models.detr import MomentDETR
from mvkit.grounding.spans import cw_to_se, se_to_cw, torch_iou_giou


def _brute_force(cost: np.ndarray) -> float:
    n, g = cost.shape
    return min(sum(cost[p[j], j] for j in range(g)) for p in itertools.permutations(range(n), g))


def test_giou_hand_case():
    a, b = torch.tensor([[0.0, 2.0]]), torch.tensor([[3.0, 4.0]])
    iou, giou = torch_iou_giou(a, b)
    assert iou.item() == 0 and giou.item() == pytest.approx(0 - (4 - 3) / 4)   # enclosing 4, union 3
    x = torch.tensor([[0.3, 0.2]])
    assert torch.allclose(se_to_cw(cw_to_se(x)), x)


@pytest.mark.parametrize("seed", range(5))
def test_hungarian_is_the_least_total_cost(seed):
    g = torch.Generator().manual_seed(seed)
    logits, spans = torch.randn(3, 5, 2, generator=g), torch.rand(3, 5, 2, generator=g) * 0.5 + 0.1
    targets = [torch.rand(k, 2, generator=g) * 0.4 + 0.1 for k in (1, 2, 3)]
    m = HungarianMatcher()
    out = m(logits, spans, targets)
    for b, ((rows, cols), t) in enumerate(zip(out, targets)):
        prob = logits[b].softmax(-1)[:, 0]
        _, giou = torch_iou_giou(cw_to_se(spans[b]), cw_to_se(t))
        cost = (10 * torch.cdist(spans[b], t, p=1) - giou - 4 * prob[:, None]).numpy()
        assert sorted(cols.tolist()) == list(range(len(t)))
        assert cost[rows, cols].sum() == pytest.approx(_brute_force(cost), abs=1e-5)
    assert m.calls == 1 and m.seconds > 0


def test_region_constraint_gives_each_window_to_its_nearest_anchor():
    anchors = torch.tensor([[0.2, 0.1], [0.5, 0.1], [0.8, 0.1]])
    spans = torch.tensor([[[0.8, 0.1], [0.5, 0.1], [0.2, 0.1]]])       # each query predicts another's region
    logits = torch.zeros(1, 3, 2)
    target = [torch.tensor([[0.21, 0.1]])]
    free = HungarianMatcher()(logits, spans, target)[0]
    constrained = HungarianMatcher(region_k=1)(logits, spans, target, anchors)[0]
    assert free[0].tolist() == [2] and constrained[0].tolist() == [0]   # query 0 owns the region near 0.2
    both = HungarianMatcher(region_k=1)(logits, spans, [torch.tensor([[0.2, 0.1], [0.22, 0.1]])], anchors)[0]
    assert 0 in both[0].tolist() and len(set(both[0].tolist())) == 2     # the second window still gets a query


def test_kmeans_anchors_find_clusters_deterministically():
    rng = np.random.default_rng(0)
    centres = np.array([[0.2, 0.1], [0.5, 0.4], [0.8, 0.15]])
    pts = np.concatenate([c + rng.normal(0, 0.01, (50, 2)) for c in centres])
    a = kmeans_anchors(pts, 3, seed=1)
    assert np.allclose(a, centres, atol=0.01) and np.array_equal(a, kmeans_anchors(pts, 3, seed=1))
    assert nearest_anchors(a, np.array([[0.79, 0.2]]))[0, 0] == 2
    with pytest.raises(ValueError, match=r"expected points \[N, 2\]"):
        kmeans_anchors(np.zeros((0, 2)), 3)


def test_padding_labels_and_iou_targets():
    targets = [torch.tensor([[0.5, 0.2]]), torch.tensor([[0.25, 0.1], [0.75, 0.1]])]
    w, v = pad_targets(targets, torch.device("cpu"))
    assert w.shape == (2, 2, 2) and v.tolist() == [[True, False], [True, True]]
    centres = torch.tensor([[0.1, 0.5, 0.75], [0.1, 0.25, 0.5]])
    assert clip_labels(w, v, centres).tolist() == [[0, 1, 0], [0, 1, 0]]
    pred = torch.tensor([[[0.5, 0.2], [0.5, 0.4]], [[0.75, 0.1], [0.1, 0.05]]])
    assert torch.allclose(best_iou(pred, w, v), torch.tensor([[1.0, 0.5], [1.0, 0.0]]))


def _batch(b: int = 4, t: int = 12, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[0, 9:] = False
    return {"feats": {"appearance": torch.randn(b, t, 8, generator=g), "audio": torch.randn(b, t, 8, generator=g)},
            "masks": {"appearance": mask, "audio": mask & (torch.arange(b) > 0)[:, None]},
            "text": torch.randn(b, 6, generator=g), "durations": torch.tensor([4.5, 6.0, 6.0, 6.0]),
            "targets": [torch.tensor([[0.4, 0.2]]), torch.tensor([[0.3, 0.2], [0.7, 0.1]]),
                        torch.tensor([[0.5, 0.5]]), torch.tensor([[0.1, 0.1]])], "video_ids": list("abcd")}


@pytest.mark.parametrize("name", ["detr", "rgtr", "rgtr_noiou"])
def test_every_model_trains_and_predicts_inside_the_video(name):
    torch.manual_seed(0)
    anchors = np.array([[0.1 * k + 0.05, 0.2] for k in range(10)])
    m = create_grounding_model(name, video_dims={"appearance": 8, "audio": 8}, text_dim=6, clip_rate=2.0,
                               anchors=anchors, d_model=32, ff_dim=64)
    crit = criterion_for(m.config)
    batch = _batch()
    opt = torch.optim.AdamW(m.parameters(), 1e-3)
    losses = []
    for _ in range(15):
        loss, parts = crit(m(batch), batch["targets"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert ("iou" in parts) == (name == "rgtr") and "saliency" in parts and "span_0" in parts
    m.eval()
    spans, scores = m.predict(batch)
    assert spans.shape == (4, 10, 2) and scores.shape == (4, 10)
    assert (spans[..., 0] <= spans[..., 1]).all() and (spans >= 0).all()
    assert (spans <= batch["durations"][:, None, None]).all()


def test_rgtr_score_combines_class_and_iou():
    m = create_grounding_model("rgtr", video_dims={"appearance": 8}, text_dim=6, clip_rate=2.0, d_model=32)
    out = {"layers": [{"logits": torch.tensor([[[2.0, 0.0]]]), "spans": torch.zeros(1, 1, 2),
                       "iou": torch.tensor([[0.0]])}]}
    p = torch.tensor(2.0).exp() / (1 + torch.tensor(2.0).exp())
    assert m.scores(out).item() == pytest.approx(float((p * 0.5) ** 0.5))
    out["layers"][0]["iou"] = None
    assert m.scores(out).item() == pytest.approx(float(p))


def test_loss_weights_follow_moment_detr():
    crit = SetCriterion(HungarianMatcher())
    assert (crit.span_weight, crit.giou_weight, crit.class_weight) == (10, 1, 4)
    assert crit.class_weights.tolist() == pytest.approx([1.0, 0.1])


def test_floor_finds_a_window_that_stands_out():
    floor = SlidingWindowFloor(clip_rate=2.0, lengths=[1.0, 2.0], streams=("appearance",))
    text = torch.tensor([[1.0, 0.0]])
    feats = torch.tensor([[[0.0, 1.0]] * 4 + [[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4])   # clips 4-7 match
    batch = {"feats": {"appearance": feats}, "masks": {"appearance": torch.ones(1, 12, dtype=torch.bool)},
             "text": text, "durations": torch.tensor([6.0])}
    spans, scores = floor.predict(batch)
    best = spans[0, scores[0].argmax()]
    assert best.tolist() == [2.0, 4.0] and floor.steps == [2, 4]
    assert scores.shape[1] == (12 - 2 + 1) + (12 - 4 + 1)


def test_register_a_model_from_outside():
    class Bigger(MomentDETR):
        pass
    register_grounding_model("bigger_detr", Bigger, {"n_queries": 20, "iou_weight": 0.0})
    try:
        m = create_grounding_model("bigger_detr", video_dims={"appearance": 8}, text_dim=6, clip_rate=2.0, d_model=32)
        assert isinstance(m, GroundingModel) and m.query_pos.num_embeddings == 20
    finally:
        MODELS.pop("bigger_detr")
    with pytest.raises(ValueError, match="unknown grounding model 'nope'"):
        create_grounding_model("nope", video_dims={}, text_dim=1, clip_rate=1.0)
