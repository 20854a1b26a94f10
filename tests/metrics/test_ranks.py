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


@pytest.fixture(params=["numba", "numpy", "torch"], ids=["numba-path", "numpy-path", "torch-path"])
def backend(request, monkeypatch):
    """Run each test through the CPU counting (compiled with numba, or NumPy passes) and the torch
    (CUDA-style) counting."""
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setattr(ranks_mod, "_NUMPY_ON_CPU", request.param != "torch")
    monkeypatch.setattr(ranks_mod, "_USE_NUMBA", request.param == "numba")


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


# ---- one similarity pass for both directions -------------------------------------------------
def two_pass_reference(text, video, cap, ties, chunk):
    """The direct count, one pass per direction (what text_video_ranks did before one-pass)."""
    text, video, cap = (torch.as_tensor(np.asarray(x)) for x in (text, video, cap))
    counts = torch.bincount(cap, minlength=len(video))
    rows = chunk or 1000
    return ranks_mod._two_pass(text, video, cap, counts, rows, rows, ties, None, "none", 0.01)


def multi_caption_case(seed, kind):
    """Several captions per video, heavy ties (integer / coarse grid) or continuous scores."""
    rng = np.random.default_rng(seed)
    v = int(rng.integers(3, 15))
    q = v + int(rng.integers(0, 3 * v))
    d = int(rng.integers(1, 6))
    if kind == "int":
        text, video = rng.integers(-1, 2, size=(q, d)), rng.integers(-1, 2, size=(v, d))
    elif kind == "grid":      # float32 values on a coarse grid: exact products, many exact ties
        text = (rng.integers(-2, 3, size=(q, d)) / 4).astype(np.float32)
        video = (rng.integers(-2, 3, size=(v, d)) / 4).astype(np.float32)
    else:
        text, video = rng.standard_normal((q, d)).astype(np.float32), rng.standard_normal((v, d)).astype(np.float32)
    text[rng.integers(0, q, size=q // 4)] = text[0]    # duplicate captions across videos
    cap = np.concatenate([np.arange(v), rng.integers(0, v, size=q - v)])
    rng.shuffle(cap)
    return text, video, cap


@pytest.mark.parametrize("kind", ["int", "grid", "normal"])
@pytest.mark.parametrize("ties", ["pessimistic", "optimistic"])
def test_one_pass_equals_the_two_pass_count(kind, ties, backend):
    """Same ranks as one pass per direction; exactly the brute force where arithmetic is exact.

    With continuous scores v2t near-ties are decided by float64 dot products (duplicate
    captions tie exactly), so v2t is compared with the float64 brute force there.
    """
    for seed in range(8):
        text, video, cap = multi_caption_case(seed, kind)
        sim = text.astype(np.float64) @ video.astype(np.float64).T
        mask = cap[:, None] == np.arange(len(video))[None, :]
        ref_v2t64 = brute_ranks(sim.T, mask.T, ties)
        for chunk in (1, 4, None):
            ref_t2v, ref_v2t = two_pass_reference(text, video, cap, ties, chunk)
            t2v, v2t = text_video_ranks(text, video, cap, chunk_size=chunk, ties=ties)
            assert t2v.tolist() == ref_t2v.tolist()
            assert v2t.tolist() == (ref_v2t.tolist() if kind != "normal" else ref_v2t64)
        if kind != "normal":        # exact arithmetic: the brute-force loops agree too
            assert t2v.tolist() == brute_ranks(sim, mask, ties) and v2t.tolist() == ref_v2t64


def test_duplicate_captions_tie_exactly_in_v2t():
    """A copy of a video's best caption under another video is a tie (pessimistic: counted ahead)."""
    rng = np.random.default_rng(0)
    video = rng.standard_normal((6, 5)).astype(np.float32)
    text = rng.standard_normal((12, 5)).astype(np.float32)
    cap = np.arange(12) % 6
    text[7] = text[0] = video[0] * 3          # caption 0 (video 0) and caption 7 (video 1) are identical
    _, v2t = text_video_ranks(text, video, cap, chunk_size=4)
    _, v2t_opt = text_video_ranks(text, video, cap, chunk_size=4, ties="optimistic")
    assert v2t[0] == 2 and v2t_opt[0] == 1


def test_one_pass_recounts_videos_whose_band_overflows(monkeypatch, backend):
    calls = []
    real = ranks_mod._v2t_exact
    monkeypatch.setattr(ranks_mod, "_v2t_exact", lambda *a: calls.append(len(a[4])) or real(*a))
    text, video = np.zeros((12, 3), np.float32), np.zeros((4, 3), np.float32)   # a constant model
    cap = np.arange(12) % 4
    t2v, v2t = text_video_ranks(text, video, cap)
    assert t2v.tolist() == [4] * 12 and v2t.tolist() == [12 - 3 + 1] * 4 and calls == []
    t2v, v2t = text_video_ranks(text, video, cap, ties="optimistic")
    assert t2v.tolist() == [1] * 12 and v2t.tolist() == [1] * 4
    monkeypatch.setattr(ranks_mod, "_BAND_MAX", 5)
    for ties in ("pessimistic", "optimistic"):
        calls.clear()
        t2v, v2t = text_video_ranks(text, video, cap, chunk_size=2, ties=ties)
        assert v2t.tolist() == ([10] * 4 if ties == "pessimistic" else [1] * 4) and calls and calls[0] > 0
    text, video, cap = multi_caption_case(3, "grid")
    got = text_video_ranks(text, video, cap, chunk_size=2)
    assert got[1].tolist() == two_pass_reference(text, video, cap, "pessimistic", 2)[1].tolist()


def test_one_pass_is_used_for_dot_products_only(monkeypatch):
    used = []
    real = ranks_mod._two_pass
    monkeypatch.setattr(ranks_mod, "_two_pass", lambda *a, **k: used.append("two") or real(*a, **k))
    text, video, cap = multi_caption_case(0, "normal")
    text_video_ranks(text, video, cap)
    assert used == []
    text_video_ranks(text, video, cap, sim_fn=lambda t, v: t @ v.T)
    text_video_ranks(torch.from_numpy(text).half(), torch.from_numpy(video).half(), cap)
    assert used == ["two", "two"]


def test_infinite_values_are_refused(backend):
    sim = torch.rand(4, 5)
    sim[1, 2] = float("inf")
    with pytest.raises(ValueError, match=r"sim contains 1 infinite value\(s\); first at \(row 1, col 2\)"):
        ranks(sim, torch.zeros(4, dtype=torch.long))
    sim[3, 0] = float("-inf")
    sim[0, 4] = float("nan")
    with pytest.raises(ValueError, match=r"sim contains 1 NaN and 2 infinite value\(s\); first at \(row 0, col 4\)"):
        ranks(sim.numpy(), np.zeros(4, dtype=np.int64), chunk_size=1)
    text, video = torch.rand(4, 3), torch.rand(2, 3)
    video[1, 0] = float("-inf")
    with pytest.raises(ValueError, match=r"video_emb contains 1 infinite value\(s\); first at \(row 1, col 0\)"):
        text_video_ranks(text, video, torch.tensor([0, 1, 0, 1]))

    def inf_head(t, v):   # a head whose similarity overflows for the second video
        s = t @ v.T
        s[:, 1:] = float("inf")
        return s
    with pytest.raises(ValueError, match=r"similarities of captions 0\.\.3 .* contains 4 infinite value"):
        text_video_ranks(torch.rand(4, 3), torch.rand(2, 3), torch.tensor([0, 1, 0, 1]), sim_fn=inf_head)


def test_width_mismatch_and_sim_fn_shape_are_clear_errors():
    with pytest.raises(ValueError, match=r"text_emb has width 3 but video_emb has width 4: the default similarity "
                                         r"is a dot product"):
        text_video_ranks(torch.rand(4, 3), torch.rand(2, 4), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"sim_fn\(text\[0:4\], video\) returned shape \(2, 4\), expected \(4, 2\) "
                                         r"= \(captions in the chunk, videos\)"):
        text_video_ranks(torch.rand(4, 3), torch.rand(2, 4), torch.tensor([0, 1, 0, 1]),
                         sim_fn=lambda t, v: torch.rand(2, 4))
    w = torch.rand(3, 4)     # a width-changing head with a sim_fn of the right shape is fine

    def bad_video_pass(t, v):     # right shape for caption chunks, wrong one for video chunks
        return (t @ w) @ v.T if len(v) == 2 else torch.rand(len(t), 3)
    with pytest.raises(ValueError, match=r"sim_fn\(text, video\[0:1\]\) returned shape \(4, 3\), expected \(4, 1\)"):
        text_video_ranks(torch.rand(4, 3), torch.rand(2, 4), torch.tensor([0, 1, 0, 1]), chunk_size=1,
                         sim_fn=bad_video_pass)
    t2v, _ = text_video_ranks(torch.rand(4, 3), torch.rand(2, 4), torch.tensor([0, 1, 0, 1]),
                              sim_fn=lambda t, v: (t @ w) @ v.T)
    assert t2v.shape == (4,)


def test_one_pass_memory_stays_a_few_chunks(monkeypatch):
    """Many chunks, one thread: the extra memory must not grow with the number of chunks.

    (A fresh score block per chunk among the counting's small allocations once fragmented
    the heap until the process held about the whole matrix.)
    """
    from mvkit.bench.metrics_bench import PeakRSS, _embeddings
    monkeypatch.setattr(ranks_mod, "_DOT_CHUNK_ELEMENTS", 1 << 18)     # 1 MB chunks
    text, video, cap = _embeddings(4000, 128, 0)                       # full matrix: 64 MB
    with PeakRSS() as mem:
        text_video_ranks(text, video, cap)
    assert mem.added < 32e6
