"""Grounding metrics against hand-computed cases and a per-query brute-force reference."""
import numpy as np
import pytest

from mvkit.grounding.metrics import (
    MAP_THRESHOLDS,
    bootstrap_grounding,
    pad_windows,
    paired_grounding,
    per_query,
    rank,
    redundancy,
)
from mvkit.grounding.spans import iou_cross, iou_paired


def _iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _ap_reference(preds, gts, thr):
    """QVHighlights' per-query AP, written out with loops (ActivityNet / VOC procedure)."""
    preds = sorted(preds, key=lambda p: -p[2])[:10]           # stable sort, top 10
    locked, tp, fp = [False] * len(gts), [], []
    for p in preds:
        ious = [_iou(p, g) for g in gts]
        hit = 0
        for j in sorted(range(len(gts)), key=lambda j: -ious[j]):
            if ious[j] < thr:
                break
            if locked[j]:
                continue
            locked[j], hit = True, 1
            break
        tp.append(hit)
        fp.append(1 - hit)
    rec, prec, ctp, cfp = [], [], 0, 0
    for t, f in zip(tp, fp):
        ctp, cfp = ctp + t, cfp + f
        rec.append(ctp / len(gts))
        prec.append(ctp / (ctp + cfp))
    mprec, mrec = [0.0] + prec + [0.0], [0.0] + rec + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def _reference(preds, gts):
    ranked = sorted(preds, key=lambda p: -p[2])
    best = [max(_iou(p, g) for g in gts) for p in ranked]
    out = {f"R{k}@{t}": 100.0 * any(b >= t for b in best[:k]) for k in (1, 5) for t in (0.5, 0.7)}
    out["mIoU"] = 100.0 * best[0]
    aps = [_ap_reference(preds, gts, t) for t in MAP_THRESHOLDS]
    out.update({"mAP@0.5": 100 * aps[0], "mAP@0.75": 100 * aps[5], "mAP": 100 * float(np.mean(aps))})
    top = ranked[:5]
    pairs = [(i, j) for i in range(len(top)) for j in range(i + 1, len(top))]
    out["top5_mean_iou"] = 100 * np.mean([_iou(top[i], top[j]) for i, j in pairs]) if pairs else 0.0
    dups = [any(_iou(top[r], top[j]) >= 0.7 for j in range(r)) for r in range(1, len(top))]
    out["top5_duplicates"] = 100 * np.mean(dups) if dups else 0.0
    return out


def _arrays(queries):
    k = max(len(p) for p, _ in queries)
    spans, scores, valid = np.zeros((len(queries), k, 2)), np.zeros((len(queries), k)), np.zeros((len(queries), k), bool)
    for i, (p, _) in enumerate(queries):
        for j, (s, e, c) in enumerate(p):
            spans[i, j], scores[i, j], valid[i, j] = (s, e), c, True
    gt, gv = pad_windows([g for _, g in queries])
    return rank(spans, scores, valid), gt, gv


def test_iou_hand_cases():
    assert iou_paired(np.array([0.0, 10.0]), np.array([5.0, 15.0])) == pytest.approx(5 / 15)
    assert iou_paired(np.array([0.0, 7.0]), np.array([0.0, 10.0])) == 0.7        # exactly at a threshold
    assert iou_paired(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 0.0
    assert iou_cross(np.array([[0.0, 2.0], [1.0, 3.0]]), np.array([[1.0, 2.0]])).tolist() == [[0.5], [0.5]]


def test_hand_computed_query():
    # gt [0, 10] and [20, 30]; windows in score order: [0, 8] (IoU .8 with gt1), [1, 9] (.8, gt1 taken),
    # [20, 26] (.6 with gt2), [40, 50] (0)
    preds = [(1, 9, 0.8), (0, 8, 0.9), (40, 50, 0.1), (20, 26, 0.5)]
    ranked, gt, gv = _arrays([(preds, [(0, 10), (20, 30)])])
    v = per_query(ranked, gt, gv)
    assert v["R1@0.7"][0] == 100.0 and v["mIoU"][0] == pytest.approx(80.0)
    # AP@0.5: tp, fp, tp, fp -> precision 1, 1/2, 2/3, 1/2; recall .5, .5, 1, 1
    # envelope 1, 2/3, 2/3: AP = .5 * 1 + .5 * 2/3
    assert v["mAP@0.5"][0] == pytest.approx(100 * (0.5 + 0.5 * 2 / 3))
    # AP@0.75: [20, 26] is no longer a hit: tp, fp, fp, fp -> AP = .5
    assert v["mAP@0.75"][0] == pytest.approx(50.0)
    assert v["top5_duplicates"][0] == pytest.approx(100 / 3)   # [1, 9] repeats [0, 8] (IoU 7/9 >= .7)


def test_ties_keep_the_given_order_and_padding_goes_last():
    spans = np.array([[[0, 1], [5, 10], [0, 10]]], float)
    scores = np.array([[0.5, 0.5, 9.0]])
    r = rank(spans, scores, np.array([[True, True, False]]))
    assert r.spans[0].tolist() == [[0, 1], [5, 10], [0, 10]] and r.valid[0].tolist() == [True, True, False]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    queries = []
    for _ in range(60):
        d = 30.0
        gts = []
        for _ in range(int(rng.integers(1, 4))):
            s = float(rng.uniform(0, d - 2))
            gts.append((s, min(d, s + float(rng.uniform(1, 10)))))
        preds = []
        for _ in range(int(rng.integers(1, 13))):
            if rng.random() < 0.5:   # near a ground-truth window
                g = gts[int(rng.integers(len(gts)))]
                s, e = g[0] + rng.normal(0, 1.5), g[1] + rng.normal(0, 1.5)
            else:
                s = rng.uniform(0, d - 1)
                e = s + rng.uniform(0.5, 8)
            s, e = sorted((float(s), float(e)))
            preds.append((s, max(e, s + 0.1), float(np.round(rng.random(), 1))))   # rounded: ties happen
        queries.append((preds, gts))
    ranked, gt, gv = _arrays(queries)
    v = per_query(ranked, gt, gv)
    for i, (p, g) in enumerate(queries):
        ref = _reference(p, g)
        for k, val in ref.items():
            assert v[k][i] == pytest.approx(val, abs=1e-9), (i, k)


def test_values_do_not_depend_on_query_batching():
    rng = np.random.default_rng(3)
    spans = np.sort(rng.uniform(0, 20, (40, 10, 2)), axis=-1)
    scores = rng.random((40, 10))
    gt, gv = pad_windows([[sorted(rng.uniform(0, 20, 2))] for _ in range(40)])
    whole = per_query(rank(spans, scores), gt, gv)
    parts = [per_query(rank(spans[a:b], scores[a:b]), gt[a:b], gv[a:b]) for a, b in ((0, 7), (7, 40))]
    for k in whole:
        assert np.allclose(whole[k], np.concatenate([p[k] for p in parts]))


def test_no_ground_truth_is_an_error():
    ranked, _, _ = _arrays([([(0, 1, 1.0)], [(0, 1)])])
    with pytest.raises(ValueError, match=r"queries \[0\] have no ground-truth window"):
        per_query(ranked, np.zeros((1, 1, 2)), np.zeros((1, 1), bool))


def test_redundancy_single_window():
    r = rank(np.array([[[0.0, 1.0]]]), np.array([[1.0]]))
    red = redundancy(r)
    assert red["top5_mean_iou"][0] == 0 and red["top5_duplicates"][0] == 0


def test_intervals_and_paired_tests_reuse_retrieval_machinery():
    from mvkit.metrics import bootstrap_ci, paired_test
    vals = np.array([100.0, 0, 100, 100, 0, 100, 0, 0, 100, 100])
    iv = bootstrap_grounding(vals, n_boot=500, seed=1)
    # the same resamples as retrieval's R1 on ranks 1 (hit) / 2 (miss): identical intervals
    ref = bootstrap_ci(np.where(vals > 0, 1, 2), "R1", n_boot=500, seed=1)
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((ref.estimate, ref.low, ref.high))
    other = np.array([0.0, 0, 100, 0, 0, 100, 0, 0, 0, 100])
    t = paired_grounding(vals, other, "R1@0.5", n_boot=500, n_perm=500, seed=2)
    ref_t = paired_test(np.where(vals > 0, 1, 2), np.where(other > 0, 1, 2), "R1", n_boot=500, n_perm=500, seed=2)
    assert t.metric == "R1@0.5" and t.difference == pytest.approx(30.0)
    assert (t.low, t.high, t.p_value) == pytest.approx((ref_t.low, ref_t.high, ref_t.p_value))
