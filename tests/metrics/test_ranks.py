"""ranks / text_video_ranks against brute-force loops, hand-computed cases and tie rules."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from mvkit.metrics import dual_softmax, ranks, summarize, text_video_ranks

# the package re-exports the function ``ranks``, which shadows the submodule attribute
ranks_mod = importlib.import_module("mvkit.metrics.ranks")


def brute_ranks(sim, pos_mask, ties):
    """Reference: 1 + number of negatives ahead of the best positive, by plain loops."""
    out = []
    for row, pos in zip(np.asarray(sim, dtype=np.float64).tolist(), np.asarray(pos_mask).tolist()):
        best = max(s for s, p in zip(row, pos) if p)
        if ties == "pessimistic":
            ahead = sum(1 for s, p in zip(row, pos) if not p and s >= best)
        else:
            ahead = sum(1 for s, p in zip(row, pos) if not p and s > best)
        out.append(ahead + 1)
    return out


def tied_case(seed, q=37, g=23, max_pos=4):
    """Integer-valued scores in 0..3 (heavy ties) and 1..max_pos positives per query."""
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 4, size=(q, g)).astype(np.float32)
    mask = np.zeros((q, g), dtype=bool)
    for i in range(q):
        mask[i, rng.choice(g, size=rng.integers(1, max_pos + 1), replace=False)] = True
    return sim, mask


@pytest.fixture(params=[True, False], ids=["numpy-path", "torch-path"])
def backend(request, monkeypatch):
    """Run each test through the CPU NumPy counting and the torch (CUDA-style) counting."""
    monkeypatch.setattr(ranks_mod, "_NUMPY_ON_CPU", request.param)


def test_hand_computed_single_positive(backend):
    sim = torch.tensor([[0.9, 0.5, 0.9, 0.1], [0.2, 0.8, 0.8, 0.8], [0.3, 0.1, 0.2, 0.0]])
    pos = torch.tensor([0, 1, 0])
    # row 0: one negative ties the positive; row 1: two negatives tie; row 2: clear winner
    assert ranks(sim, pos).tolist() == [2, 3, 1]
    assert ranks(sim, pos, ties="optimistic").tolist() == [1, 1, 1]
    pos[2] = 3  # everything beats it
    assert ranks(sim, pos).tolist()[2] == 4


def test_hand_computed_several_positives(backend):
    sim = torch.tensor([[0.2, 0.8, 0.8, 0.8], [0.5, 0.4, 0.3, 0.6]])
    mask = torch.tensor([[False, True, True, False], [False, True, True, False]])
    # row 0: the other positive (col 2) ties but never counts; col 3 does (pessimistic)
    # row 1: best positive 0.4; negatives 0.5 and 0.6 beat it
    assert ranks(sim, mask).tolist() == [2, 3]
    assert ranks(sim, mask, ties="optimistic").tolist() == [1, 3]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", ["pessimistic", "optimistic"])
def test_matches_brute_force_with_ties(seed, ties, backend):
    sim, mask = tied_case(seed)
    ref = brute_ranks(sim, mask, ties)
    for chunk in (1, 5, 16, None, 1000):
        assert ranks(torch.from_numpy(sim), torch.from_numpy(mask), ties=ties, chunk_size=chunk).tolist() == ref
    # one positive per query given as indices == the same mask with one True
    idx = np.random.default_rng(seed).integers(0, sim.shape[1], size=sim.shape[0])
    one = np.zeros_like(mask)
    one[np.arange(len(idx)), idx] = True
    assert ranks(sim, idx, ties=ties, chunk_size=7).tolist() == brute_ranks(sim, one, ties)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64])
def test_dtypes_and_numpy_inputs_agree(dtype, backend):
    sim, mask = tied_case(7, q=20, g=11)
    ref = brute_ranks(sim, mask, "pessimistic")
    t = torch.from_numpy(sim).to(dtype)
    assert ranks(t, torch.from_numpy(mask)).tolist() == ref
    if dtype != torch.bfloat16:
        assert ranks(t.numpy(), mask).tolist() == ref  # NumPy in, same answer
    ro = sim.copy()
    ro.setflags(write=False)  # e.g. a memory-mapped matrix
    assert ranks(ro, mask).tolist() == ref


def test_constant_model_is_not_rewarded(backend):
    g = 50
    sim = torch.zeros(200, g)
    pos = torch.arange(200) % g
    r = ranks(sim, pos)
    assert r.tolist() == [g] * 200  # every negative ties the positive -> all ahead
    assert summarize(r)["R1"] <= 100.0 / g
    assert summarize(ranks(sim, pos, ties="optimistic"))["R1"] == 100.0  # the habit this avoids


def test_returns_cpu_long_and_matches_sort_without_ties():
    rng = np.random.default_rng(3)
    sim = rng.standard_normal((64, 300))
    pos = rng.integers(0, 300, size=64)
    order = np.argsort(-sim, axis=1)
    expected = np.where(order == pos[:, None])[1] + 1
    r = ranks(sim, pos)
    assert r.dtype == torch.long and r.device.type == "cpu"
    assert r.tolist() == expected.tolist()


def test_nan_is_an_error_naming_count_and_first(backend):
    sim = torch.rand(6, 5)
    sim[2, 3] = float("nan")
    sim[4, 1] = float("nan")
    with pytest.raises(ValueError, match=r"2 NaN.*row 2, col 3"):
        ranks(sim, torch.zeros(6, dtype=torch.long), chunk_size=2)


def test_bad_positives_are_clear_errors():
    sim = torch.rand(3, 4)
    with pytest.raises(ValueError, match="no positive.*query 1"):
        ranks(sim, torch.tensor([[True, False, False, False], [False] * 4, [True] * 4]))
    with pytest.raises(ValueError, match="outside the gallery.*query 2 -> 4"):
        ranks(sim, torch.tensor([0, 1, 4]))
    with pytest.raises(ValueError, match="shape"):
        ranks(sim, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="ties"):
        ranks(sim, torch.tensor([0, 1, 2]), ties="random")
    with pytest.raises(ValueError, match="2-D"):
        ranks(torch.rand(3), torch.tensor([0]))


def tv_case(seed, q=41, v=13, d=3):
    """Small integer embeddings: exact dot products with many ties; every video captioned."""
    rng = np.random.default_rng(seed)
    text = rng.integers(-1, 2, size=(q, d)).astype(np.float32)
    video = rng.integers(-1, 2, size=(v, d)).astype(np.float32)
    cap = np.concatenate([np.arange(v), rng.integers(0, v, size=q - v)])
    rng.shuffle(cap)
    return text, video, cap


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", ["pessimistic", "optimistic"])
def test_text_video_ranks_brute_force(seed, ties, backend):
    text, video, cap = tv_case(seed)
    sim = text @ video.T
    t2v_mask = cap[:, None] == np.arange(len(video))[None, :]
    ref_t2v = brute_ranks(sim, t2v_mask, ties)
    ref_v2t = brute_ranks(sim.T, t2v_mask.T, ties)  # best own caption among all captions
    for chunk in (1, 4, None):
        t2v, v2t = text_video_ranks(torch.from_numpy(text), torch.from_numpy(video), torch.from_numpy(cap),
                                    chunk_size=chunk, ties=ties)
        assert t2v.tolist() == ref_t2v and v2t.tolist() == ref_v2t
    t2v_np, v2t_np = text_video_ranks(text, video, cap, ties=ties)  # NumPy inputs
    assert t2v_np.tolist() == ref_t2v and v2t_np.tolist() == ref_v2t


def test_text_video_ranks_hand_computed():
    # two videos; captions 0,1 belong to video 0, caption 2 to video 1
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    video = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    cap = torch.tensor([0, 0, 1])
    t2v, v2t = text_video_ranks(text, video, cap)
    # sims: c0 [1,0] c1 [0,1] c2 [1,0]
    assert t2v.tolist() == [1, 2, 2]
    # video 0: own best = 1 (c0); c2 (not its caption) also scores 1 -> rank 2
    # video 1: own caption c2 scores 0; c1 scores 1 -> ahead; c0 scores 0 ties -> ahead
    assert v2t.tolist() == [2, 3]


def test_text_video_ranks_sim_fn_hook_matches_dense():
    rng = np.random.default_rng(5)
    text, video = torch.from_numpy(rng.standard_normal((30, 4))), torch.from_numpy(rng.standard_normal((9, 4)))
    cap = torch.arange(30) % 9

    def neg_sq_dist(t, v):  # not a dot product
        return -torch.cdist(t, v) ** 2

    calls = []

    def tracked(t, v):
        calls.append((t.shape[0], v.shape[0]))
        return neg_sq_dist(t, v)

    sim = neg_sq_dist(text, video)
    mask = cap[:, None] == torch.arange(9)[None, :]
    t2v, v2t = text_video_ranks(text, video, cap, chunk_size=4, sim_fn=tracked)
    assert t2v.tolist() == ranks(sim, cap).tolist()
    assert v2t.tolist() == ranks(sim.T, mask.T).tolist()
    assert max(a * b for a, b in calls) <= 4 * 30  # never more than a chunk of rows at once


def test_text_video_ranks_dual_softmax_streams_the_dense_result():
    rng = np.random.default_rng(6)
    text, video = torch.from_numpy(rng.standard_normal((40, 8))), torch.from_numpy(rng.standard_normal((15, 8)))
    cap = torch.arange(40) % 15
    sim = text @ video.T
    mask = cap[:, None] == torch.arange(15)[None, :]
    t2v, v2t = text_video_ranks(text, video, cap, chunk_size=6, normalization="dual_softmax", temperature=0.5)
    assert t2v.tolist() == ranks(dual_softmax(sim, 0.5, query_dim=0), cap).tolist()
    assert v2t.tolist() == ranks(dual_softmax(sim.T, 0.5, query_dim=0), mask.T).tolist()
    plain, _ = text_video_ranks(text, video, cap)
    assert plain.tolist() != t2v.tolist()  # it does change the numbers


def test_dual_softmax_hand_computed():
    """An asymmetric case: the prior normalises over the queries (rows), so each column's
    softmax weighs the row; softmax over the other axis would give other numbers."""
    sim = torch.tensor([[1.0, 0.0], [2.0, 1.0]])
    out = dual_softmax(sim, temperature=1.0)
    a, b = 1 / (1 + np.e), np.e / (1 + np.e)          # softmax([1, 2]) = softmax([0, 1]) = (a, b)
    assert torch.allclose(out, torch.tensor([[1.0 * a, 0.0 * a], [2.0 * b, 1.0 * b]]))
    wrong_axis = sim * torch.softmax(sim, dim=1)
    assert not torch.allclose(out, wrong_axis)
    with pytest.raises(ValueError, match="temperature"):
        dual_softmax(sim, 0.0)


def test_text_video_ranks_errors():
    text, video = torch.rand(4, 3), torch.rand(3, 3)
    with pytest.raises(ValueError, match="no caption.*video 2"):
        text_video_ranks(text, video, torch.tensor([0, 1, 0, 1]))
    text[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"text_emb contains 1 NaN.*row 1, col 2"):
        text_video_ranks(text, video, torch.tensor([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="normalization"):
        text_video_ranks(torch.rand(4, 3), video, torch.tensor([0, 1, 2, 1]), normalization="qb")


def test_model_outputs_with_grad_are_fine():
    text = torch.rand(6, 4, requires_grad=True)
    video = torch.rand(3, 4, requires_grad=True)
    cap = torch.tensor([0, 1, 2, 0, 1, 2])
    t2v, _ = text_video_ranks(text, video, cap)
    with torch.no_grad():
        sim = text @ video.T
    assert t2v.tolist() == ranks(sim, cap).tolist()
    assert ranks(text @ video.T, cap).tolist() == t2v.tolist()  # a graph-carrying sim too
    with pytest.raises(ValueError, match="need captions and videos"):
        text_video_ranks(torch.rand(0, 4), video, torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="temperature"):
        text_video_ranks(text, video, cap, normalization="dual_softmax", temperature=0)
