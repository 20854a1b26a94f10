"""Exact retrieval ranks without sorting: count what beats each query's best positive.

Sorting every row of a ``[Q, G]`` similarity matrix costs O(QG log G) time and several
full-size copies, and the usual "find the positive in the sorted row" trick silently
credits ties to the query (a constant model then scores R@1 = 100). Here a rank is a
count: ``1 + #negatives that beat the best positive``, computed a few rows at a time, so
extra memory is O(chunk x G) and the tie rule is explicit:

* ``"pessimistic"`` (default): every negative scoring ``>=`` the best positive is ranked
  ahead of it. A constant model gets rank G (R@1 = 0 unless G = 1).
* ``"optimistic"``: only negatives scoring strictly ``>`` the best positive count; ties
  go to the query (what a full sort followed by "first occurrence" usually does).

Other positives of the same query are never counted ahead: a query with several correct
items is ranked by its best one.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import torch

Ties = Literal["pessimistic", "optimistic"]
TIES: tuple[str, ...] = ("pessimistic", "optimistic")
NORMALIZATIONS: tuple[str, ...] = ("none", "dual_softmax")

# Elements per counting chunk: small enough to stay in cache (measured fastest on CPU),
# large enough that the Python loop is negligible.
_COUNT_CHUNK_ELEMENTS = 1 << 20
# Elements per similarity chunk in text_video_ranks (~16 MB in fp32): bounds the extra
# memory to a few tens of MB whatever the gallery size.
_SIM_CHUNK_ELEMENTS = 1 << 22
# Scores per chunk of the one-pass dot-product count (~64 MB in fp32, one reused buffer): a
# plain GEMM output, no per-score intermediate, and taller chunks make the GEMM about twice as
# fast on CPU as 4M-score ones (measured at 40k x 40k, d=128).
_DOT_CHUNK_ELEMENTS = 1 << 24
# Rows per step of the float64 row-wise dot products of the one-pass count.
_DOT64_ROWS = 1 << 14


def _as_tensor(x, name: str) -> torch.Tensor:
    """Torch view of a torch tensor or NumPy array (no copy when possible)."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        # torch.from_numpy shares memory; read-only arrays (e.g. memory-mapped) are copied.
        return torch.from_numpy(x if x.flags.writeable else np.array(x))
    try:
        return torch.as_tensor(np.asarray(x))
    except Exception as e:
        raise TypeError(f"{name}: expected a torch tensor or NumPy array, got {type(x).__name__}") from e


def _check_ties(ties: str) -> None:
    if ties not in TIES:
        raise ValueError(f"ties={ties!r}: expected one of {TIES}")


def _lowest(dtype: torch.dtype) -> float | int:
    """The value below every other value of ``dtype`` (masks non-positives out of a max)."""
    if dtype.is_floating_point:
        return float("-inf")
    return torch.iinfo(dtype).min


def _raise_nonfinite(sim: torch.Tensor, what: str = "sim", chunk_rows: int = 256) -> None:
    """Raise ValueError naming how many NaN / infinite values ``sim`` holds and where the first is."""
    n_nan = n_inf = 0
    first = None
    for start in range(0, sim.shape[0], chunk_rows):
        part = sim[start:start + chunk_rows]
        nan, inf = torch.isnan(part), torch.isinf(part)
        n_nan, n_inf = n_nan + int(nan.sum()), n_inf + int(inf.sum())
        bad = nan | inf
        if first is None and bool(bad.any()):
            r, c = (int(v) for v in bad.nonzero()[0])
            first = (start + r, c)
    if first is None:
        return
    kinds = " and ".join(k for k in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else "") if k)
    raise ValueError(
        f"{what} contains {kinds} value(s); first at (row {first[0]}, col {first[1]}). "
        "Non-finite similarities cannot be ranked (an inf silently beats or loses to everything): "
        "check the model outputs (e.g. zero-norm embeddings, overflow)."
    )


def _has_nonfinite(chunk: torch.Tensor) -> bool:
    """Cheap NaN/inf screen: one reduction (a finite overflow of the sum only triggers the exact scan)."""
    if not chunk.dtype.is_floating_point or chunk.numel() == 0:
        return False
    if bool(torch.isfinite(chunk.sum())):
        return False
    return not bool(torch.isfinite(chunk).all())


# On CPU the counting runs in NumPy: single-threaded compare + count_nonzero measured
# 2-5x faster than torch's bool reductions here, and steadier when cores are shared.
# ``_NUMPY_ON_CPU`` exists so the tests can exercise the torch (CUDA) path on CPU too.
_NUMPY_ON_CPU = True


def _numpy_view(chunk: torch.Tensor) -> np.ndarray | None:
    """NumPy view of a CPU chunk when the NumPy path applies, else None."""
    if not (_NUMPY_ON_CPU and chunk.device.type == "cpu"):
        return None
    chunk = chunk.detach()
    if chunk.dtype == torch.bfloat16:  # no NumPy bfloat16; float32 holds it exactly
        chunk = chunk.float()
    return chunk.numpy()


def _chunk_ranks(chunk: torch.Tensor, positives: torch.Tensor, ties: str) -> torch.Tensor | None:
    """Ranks of each row's best positive in ``chunk`` ([c, G]); None if it holds a NaN or inf.

    ``positives`` is a LongTensor [c] (one index per row), a LongTensor [c, K] (up to K
    distinct indices per row, padded with -1: the compact form for a few positives in a
    long row) or a BoolTensor [c, G]. The best positive is the row max over positives.
    Pessimistic: ``#(row >= best)`` minus the positives in that count, plus one.
    Optimistic: ``#(row > best)`` plus one (no positive can beat the best positive).
    """
    x = _numpy_view(chunk)
    if x is not None:
        if x.dtype.kind == "f" and x.size and not np.isfinite(x.sum()) and not np.isfinite(x).all():
            return None
        p = positives.numpy()
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        if p.dtype == np.bool_:
            best = np.where(p, x, low).max(1, keepdims=True)
            if ties == "pessimistic":
                return torch.from_numpy(np.count_nonzero((x >= best) & ~p, axis=1).astype(np.int64) + 1)
            own = 0
        else:
            p = p.reshape(len(x), -1)
            valid = p >= 0
            vals = np.where(valid, np.take_along_axis(x, np.maximum(p, 0), 1), low)
            best = vals.max(1, keepdims=True)
            own = np.count_nonzero(valid & (vals >= best), axis=1)  # the positives tied at best
        if ties == "pessimistic":
            n = np.count_nonzero(x >= best, axis=1) - own + 1
        else:
            n = np.count_nonzero(x > best, axis=1) + 1
        return torch.from_numpy(n.astype(np.int64, copy=False))
    if _has_nonfinite(chunk):
        return None
    low = _lowest(chunk.dtype)
    if positives.dtype == torch.bool:
        best = torch.where(positives, chunk, low).amax(1, keepdim=True)
        own = 0
        if ties == "pessimistic":
            ahead = (chunk >= best) & ~positives
            return (ahead.view(torch.uint8).sum(1, dtype=torch.int32).long() + 1).cpu()
    else:
        p = positives.reshape(len(chunk), -1)
        valid = p >= 0
        vals = torch.where(valid, chunk.gather(1, p.clamp(min=0)), low)
        best = vals.amax(1, keepdim=True)
        own = (valid & (vals >= best)).sum(1)
    ahead = chunk >= best if ties == "pessimistic" else chunk > best
    # uint8 view + int32 accumulator: about 2x faster than summing bools
    n = ahead.view(torch.uint8).sum(1, dtype=torch.int32).long()
    return ((n - own if ties == "pessimistic" else n) + 1).cpu()


def _check_positives(positives: torch.Tensor, q: int, g: int, what: str) -> torch.Tensor:
    if positives.dtype == torch.bool:
        if tuple(positives.shape) != (q, g):
            raise ValueError(f"{what}: bool mask has shape {tuple(positives.shape)}, expected ({q}, {g})")
        has = positives.any(1)
        if not bool(has.all()):
            empty = (~has).nonzero().flatten()
            raise ValueError(
                f"{what}: {len(empty)} query(ies) have no positive in the gallery; "
                f"first is query {int(empty[0])}. Every query needs at least one correct item."
            )
        return positives
    if positives.dtype.is_floating_point or positives.dtype.is_complex:
        raise TypeError(f"{what}: expected integer indices [Q] or a bool mask [Q, G], got {positives.dtype}")
    if tuple(positives.shape) != (q,):
        raise ValueError(f"{what}: index tensor has shape {tuple(positives.shape)}, expected ({q},)")
    positives = positives.long()
    bad = (positives < 0) | (positives >= g)
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise ValueError(
            f"{what}: {int(bad.sum())} index(es) outside the gallery [0, {g}); "
            f"first is query {i} -> {int(positives[i])}"
        )
    return positives


def ranks(sim: Any, positives: Any, ties: Ties = "pessimistic", chunk_size: int | None = None) -> torch.Tensor:
    """1-based rank of each query's best positive in a ``[Q, G]`` similarity matrix.

    ``sim`` is a torch tensor or NumPy array (any device; higher = more similar).
    ``positives`` is a LongTensor ``[Q]`` (one gallery index per query) or a BoolTensor
    ``[Q, G]`` (several positives per query; the best one is ranked and the others never
    count ahead of it). ``ties`` is the tie rule (see the module docstring). Rows are
    processed ``chunk_size`` at a time (automatic when None) so the extra memory is
    O(chunk x G); no sort is performed. Returns a CPU LongTensor ``[Q]``.

    Raises ValueError on NaN or infinite similarities (naming how many and where the first
    is), on queries without any positive, and on out-of-range indices.

    Example (query 1 ties its positive with a negative: pessimistic puts the negative first):
        >>> import torch
        >>> from mvkit.metrics import ranks
        >>> sim = torch.tensor([[0.9, 0.1, 0.3], [0.5, 0.5, 0.2]])
        >>> ranks(sim, torch.tensor([0, 1])).tolist(), ranks(sim, torch.tensor([0, 1]), ties="optimistic").tolist()
        ([1, 2], [1, 1])
    """
    _check_ties(ties)
    sim = _as_tensor(sim, "sim")
    if sim.ndim != 2:
        raise ValueError(f"sim: expected a 2-D [Q, G] matrix, got shape {tuple(sim.shape)}")
    if sim.dtype == torch.bool or sim.dtype.is_complex:
        raise TypeError(f"sim: expected real similarity scores, got {sim.dtype}")
    q, g = sim.shape
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    positives = _check_positives(_as_tensor(positives, "positives").to(sim.device), q, g, "positives")
    rows = chunk_size or max(1, _COUNT_CHUNK_ELEMENTS // max(g, 1))
    out = torch.empty(q, dtype=torch.long)
    for start in range(0, q, rows):
        r = _chunk_ranks(sim[start:start + rows], positives[start:start + rows], ties)
        if r is None:
            _raise_nonfinite(sim)
        out[start:start + rows] = r
    return out


def _captions_per_video(caption_video: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``[V, K]`` caption indices of each video (K = most captions of one video), -1 padded."""
    order = torch.argsort(caption_video, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(len(order), device=order.device) - starts[caption_video[order]]
    out = torch.full((len(counts), int(counts.max())), -1, dtype=torch.long, device=order.device)
    out[caption_video[order], slot] = order
    return out


def _dot(text: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
    return text @ video.T


@torch.no_grad()
def text_video_ranks(
    text_emb: Any,
    video_emb: Any,
    caption_video: Any,
    chunk_size: int | None = None,
    ties: Ties = "pessimistic",
    sim_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    normalization: str = "none",
    temperature: float = 0.01,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Text->video and video->text ranks from embeddings, never building the full matrix.

    ``text_emb`` is ``[Q, D]`` (one row per caption), ``video_emb`` ``[V, D]``, and
    ``caption_video[q]`` is the index of caption q's video. Similarities are
    ``sim_fn(text[a:b], video)`` (default: the dot product; pass the model's own
    similarity for heads that are not a dot product, e.g. text-conditioned pooling; it
    must return ``[b-a, V]``) and are computed ``chunk_size`` rows at a time (automatic:
    about 4M scores per chunk, 16M for plain dot products).

    * text->video (``t2v``, ``[Q]``): rank of each caption's video among all videos.
    * video->text (``v2t``, ``[V]``): rank of the best of the video's own captions among
      all captions ("any correct caption", as in VSE++); other captions of the same video
      never count ahead. Every video must have at least one caption.

    With the dot product (float32/float64 or integer embeddings, no normalization) both
    directions are counted from **one** pass over the similarities: each video's best
    own-caption score is first computed cheaply in float64 with a bound on its rounding,
    the pass counts every caption clearly above it, and the few scores inside that bound
    are decided exactly afterwards. The ranks are the same as two separate passes would
    give (for v2t near-ties within float rounding, float64 decides, so duplicate captions
    tie exactly). On CPU the counting runs in NumPy, compiled into one loop with numba when
    it is installed. Other cases (``sim_fn``, ``dual_softmax``, half precision) take one
    pass per direction.

    ``normalization="dual_softmax"`` applies the dual-softmax inference prior (Cheng et
    al. 2021, arXiv:2109.04290; see ``dual_softmax``) in two streamed passes: this
    changes the evaluation protocol and must be reported as such. The computation runs on
    ``device`` (default: that of ``text_emb``), CPU or CUDA; returns CPU LongTensors.

    Raises ValueError on NaN or infinite embeddings or similarities, on a text/video
    width mismatch for the dot product, on a ``sim_fn`` result of the wrong shape, and on
    videos without a caption.
    
    Example (three captions, two videos; caption 2 is about video 1):
        >>> import torch
        >>> from mvkit.metrics import text_video_ranks
        >>> text = torch.tensor([[1.0, 0.0], [0.8, 0.2], [0.0, 1.0]])
        >>> video = torch.tensor([[1.0, 0.0], [0.1, 0.9]])
        >>> t2v, v2t = text_video_ranks(text, video, torch.tensor([0, 0, 1]))
        >>> t2v.tolist(), v2t.tolist()
        ([1, 1, 1], [1, 1])
    """
    _check_ties(ties)
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization={normalization!r}: expected one of {NORMALIZATIONS}")
    if normalization == "dual_softmax" and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    text = _as_tensor(text_emb, "text_emb")
    video = _as_tensor(video_emb, "video_emb")
    dev = torch.device(device) if device is not None else text.device
    text, video = text.to(dev), video.to(dev)
    cap_vid = _as_tensor(caption_video, "caption_video").to(dev)
    if text.ndim != 2 or video.ndim != 2:
        raise ValueError(f"expected text_emb [Q, D] and video_emb [V, D], got {tuple(text.shape)} and {tuple(video.shape)}")
    nq, nv = text.shape[0], video.shape[0]
    if nq == 0 or nv == 0:
        raise ValueError(f"text_video_ranks: need captions and videos, got {nq} and {nv}")
    if sim_fn is None and text.shape[1] != video.shape[1]:
        raise ValueError(
            f"text_emb has width {text.shape[1]} but video_emb has width {video.shape[1]}: the default "
            f"similarity is a dot product, so both must be [N, D] with the same D (pass sim_fn= for a "
            f"head whose similarity is not a dot product)")
    cap_vid = _check_positives(cap_vid, nq, nv, "caption_video")
    counts = torch.bincount(cap_vid, minlength=nv)
    if bool((counts == 0).any()):
        missing = (counts == 0).nonzero().flatten()
        raise ValueError(
            f"caption_video: {len(missing)} video(s) have no caption, so video->text is undefined "
            f"(first is video {int(missing[0])}); drop them from video_emb or evaluate t2v with ranks()"
        )
    for name, emb in (("text_emb", text), ("video_emb", video)):
        if _has_nonfinite(emb):
            _raise_nonfinite(emb, name)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    rows_t = chunk_size or max(1, _SIM_CHUNK_ELEMENTS // nv)
    rows_v = chunk_size or max(1, _SIM_CHUNK_ELEMENTS // nq)
    if sim_fn is None and normalization == "none" and text.dtype == video.dtype:
        u = _unit_roundoff(text.dtype, dev)
        if u is not None and _dot_products_finite(text, video):
            rows_t = chunk_size or max(1, _DOT_CHUNK_ELEMENTS // nv)
            return _one_pass(text, video, cap_vid, counts, rows_t, rows_v, ties, u)
    return _two_pass(text, video, cap_vid, counts, rows_t, rows_v, ties, sim_fn, normalization, temperature)


def _unit_roundoff(dtype: torch.dtype, device: torch.device) -> float | None:
    """Rounding unit of the similarity GEMM for the one-pass bound; None: use two passes.

    Only the width of the "recount exactly" band depends on it, never the result: a video
    whose exact best score falls outside its band is recounted anyway.
    """
    if dtype == torch.bool or dtype.is_complex:
        return None
    if not dtype.is_floating_point:
        return 0.0                       # integer arithmetic is exact
    if dtype == torch.float64:
        return 2.0 ** -53
    if dtype != torch.float32:
        return None                      # float16 / bfloat16: kept on the two-pass count
    if torch.get_float32_matmul_precision() != "highest":
        return 2.0 ** -8                 # bfloat16 / TF32 kernels may be used
    if device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32:
        return 2.0 ** -11
    return 2.0 ** -24


def _dot_products_finite(text: torch.Tensor, video: torch.Tensor) -> bool:
    """True when no dot product can overflow (Cauchy-Schwarz on the largest norms)."""
    if not text.dtype.is_floating_point:
        return True
    big = float(_norms(text).max()) * float(_norms(video).max())
    return big < torch.finfo(text.dtype).max / 4


def _one_pass(text, video, cap_vid, counts, rows_t, rows_v, ties, u) -> tuple[torch.Tensor, torch.Tensor]:
    """Both directions from one chunked GEMM pass (see :func:`text_video_ranks`)."""
    nq, nv = text.shape[0], video.shape[0]
    dev, d = text.device, text.shape[1]
    # 1. each video's best own score in float64, and a band around it wider than any rounding
    #    of a GEMM score in its column: 2 * gamma_D * max|t| * |v| (Cauchy-Schwarz on the
    #    classic dot-product bound gamma_D * sum|t_k v_k|, doubled to cover both roundings)
    gamma = 2 * d * u / max(1 - d * u, 0.5) * (1 + 1e-5)       # (1 + 1e-5): norms in float32
    best64 = torch.full((nv,), float("-inf"), dtype=torch.float64, device=dev)
    for a in range(0, nq, _DOT64_ROWS):           # few, large steps: small ops cost on busy cores
        idx = cap_vid[a:a + _DOT64_ROWS]
        best64.scatter_reduce_(0, idx, _dot64(text[a:a + _DOT64_ROWS], video[idx]), "amax")
    width = gamma * float(_norms(text).max()) * _norms(video)
    lo, hi = _thresholds(best64 - width, best64 + width, text.dtype)
    # 2. the pass: t2v exactly in each row; per video, the captions at or above its band
    #    (counted) and those inside it (kept as (caption, video) pairs)
    counter = _counter(nv, ties, lo, hi, dev, rows_t)
    t2v = torch.empty(nq, dtype=torch.long)
    try:
        for a, scores in _score_chunks(text, video, rows_t, overlap=isinstance(counter, _NumpyCounter)):
            t2v[a:a + rows_t] = counter.add(scores, cap_vid[a:a + rows_t], a)
        n_ge, (b_row, b_col), overflow = counter.totals()
    finally:
        counter.close()
    # 3. v2t = 1 + captions above the band (never a video's own: none can beat its best) +
    #    the other captions inside it whose float64 score reaches the best, so near ties,
    #    duplicate captions included, are decided by one consistent arithmetic. A video whose
    #    band held more scores than are kept is recounted directly.
    other = cap_vid[b_row] != b_col
    rows, cols = b_row[other], b_col[other]
    step = _DOT64_ROWS
    s64 = torch.cat([_dot64(text[rows[i:i + step]], video[cols[i:i + step]]) for i in range(0, len(rows), step)]
                    or [torch.zeros(0, dtype=torch.float64, device=dev)])
    beats = s64 >= best64[cols] if ties == "pessimistic" else s64 > best64[cols]
    v2t = (1 + n_ge - torch.bincount(b_col, minlength=nv) + torch.bincount(cols[beats], minlength=nv)).cpu()
    if bool(overflow.any()):
        vs = overflow.nonzero().flatten()
        v2t[vs.cpu()] = _v2t_exact(text, video, cap_vid, counts, vs, rows_v, ties)
    return t2v, v2t


# These vector ops run in NumPy on CPU: small torch ops pay the thread pool's latency, which
# on busy cores costs more than the whole count of a small split.
def _score_chunks(text: torch.Tensor, video: torch.Tensor, rows: int, overlap: bool
                  ) -> Iterator[tuple[int, torch.Tensor]]:
    """``(start, text[start:start+rows] @ video.T)`` for every caption chunk, in reused buffers.

    Reused, because a fresh block per chunk among the counting's small allocations fragments
    the heap until it holds about the whole matrix. With ``overlap`` (CPU counting) a thread
    computes the next chunk while the caller counts this one, in a second buffer: the GEMM's
    threads are then busy instead of spinning while the count runs (measured ~10% faster).
    """
    nq = len(text)
    bufs = [torch.empty((min(rows, nq), len(video)), dtype=text.dtype, device=text.device)
            for _ in range(2 if overlap else 1)]

    def gemm(i: int) -> torch.Tensor:
        t = text[i * rows:(i + 1) * rows]
        with torch.no_grad():       # grad mode is per thread
            return torch.mm(t, video.T, out=bufs[i % len(bufs)][:len(t)])

    n = -(-nq // rows)
    if not overlap:
        for i in range(n):
            yield i * rows, gemm(i)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        nxt = pool.submit(gemm, 0)
        for i in range(n):
            scores = nxt.result()
            if i + 1 < n:           # the other buffer: the caller is done with it
                nxt = pool.submit(gemm, i + 1)
            yield i * rows, scores


def _norms(x: torch.Tensor) -> torch.Tensor:
    """Row norms in float64 (computed in float32 unless the input is float64)."""
    if x.device.type == "cpu":
        a = x.detach().numpy() if x.dtype in (torch.float32, torch.float64) else x.detach().float().numpy()
        return torch.from_numpy(np.linalg.norm(a, axis=1).astype(np.float64))
    return x.norm(dim=1) if x.dtype == torch.float64 else x.float().norm(dim=1).double()


def _dot64(t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products in float64 (exact products of float32 inputs; same rows, same result)."""
    if t.device.type == "cpu":
        return torch.from_numpy((t.detach().numpy().astype(np.float64) * v.detach().numpy().astype(np.float64)).sum(1))
    return (t.double() * v.double()).sum(1)


def _thresholds(lo64: torch.Tensor, hi64: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The band edges in the similarities' dtype, rounded outwards (integers compare in float64)."""
    if not dtype.is_floating_point or dtype == torch.float64:
        return lo64, hi64
    lo, hi = lo64.to(dtype), hi64.to(dtype)
    lo = torch.where(lo.double() > lo64, torch.nextafter(lo, torch.full_like(lo, float("-inf"))), lo)
    hi = torch.where(hi.double() < hi64, torch.nextafter(hi, torch.full_like(hi, float("inf"))), hi)
    return lo, hi


def _v2t_exact(text, video, cap_vid, counts, vs, rows_v, ties) -> torch.Tensor:
    """v2t ranks of the videos ``vs`` by the direct count (a pass over their rows only)."""
    own = _captions_per_video(cap_vid, counts)[vs]
    out = torch.empty(len(vs), dtype=torch.long)
    for a in range(0, len(vs), rows_v):
        s = video[vs[a:a + rows_v]] @ text.T
        r = _chunk_ranks(s, own[a:a + rows_v], ties)
        if r is None:
            _raise_nonfinite(s, "similarities")
        out[a:a + rows_v] = r
    return out


# Below this many scores per chunk the counting stays on one thread (pool overhead).
_THREAD_MIN_ELEMENTS = 1 << 18
# In-band scores kept for the exact v2t comparison (beyond it: those videos are recounted).
_BAND_MAX = 1 << 21
# Rows one NumPy counting step takes at most (its column counts are uint8).
_PART_ROWS = 255


def _counter(nv: int, ties: str, lo: torch.Tensor, hi: torch.Tensor, dev: torch.device, rows: int):
    """The one-pass counter for ``dev``: NumPy/numba on CPU, torch ops elsewhere."""
    if _NUMPY_ON_CPU and dev.type == "cpu":
        workers = max(1, min(torch.get_num_threads(), 8, rows))
        return _NumpyCounter(nv, ties, lo, hi, workers if rows * nv >= _THREAD_MIN_ELEMENTS else 1)
    return _TorchCounter(nv, ties, lo, hi)


class _BandStore:
    """The (caption, video) pairs scoring inside the bands, up to ``_BAND_MAX`` of them."""

    def __init__(self, nv: int, device: torch.device) -> None:
        self.parts: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.n = 0
        self.overflow = torch.zeros(nv, dtype=torch.bool, device=device)
        self.device = device

    def add(self, rows: torch.Tensor, cols: torch.Tensor) -> None:
        if self.n + len(rows) > _BAND_MAX:
            self.overflow[cols] = True    # those videos are recounted directly
            return
        self.parts.append((rows, cols))
        self.n += len(rows)

    def get(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.parts:
            z = torch.zeros(0, dtype=torch.long, device=self.device)
            return z, z
        return torch.cat([r for r, _ in self.parts]), torch.cat([c for _, c in self.parts])


class _TorchCounter:
    """One-pass counting with torch ops (CUDA, or CPU when ``_NUMPY_ON_CPU`` is off)."""

    def __init__(self, nv: int, ties: str, lo: torch.Tensor, hi: torch.Tensor) -> None:
        self.pess = ties == "pessimistic"
        self.lo, self.hi = lo[None, :], hi[None, :]
        self.n_ge = torch.zeros(nv, dtype=torch.long, device=lo.device)
        self.band = _BandStore(nv, lo.device)

    def add(self, s: torch.Tensor, p: torch.Tensor, offset: int) -> torch.Tensor:
        own = s.gather(1, p[:, None])
        r = (s >= own).sum(1) if self.pess else (s > own).sum(1) + 1
        ge = s >= self.lo
        self.n_ge += ge.sum(0)
        rows, cols = (ge & (s <= self.hi)).nonzero(as_tuple=True)
        self.band.add(rows + offset, cols)
        return r.cpu()

    def totals(self):
        return self.n_ge, self.band.get(), self.band.overflow

    def close(self) -> None:
        pass


class _NumpyCounter:
    """One-pass counting on CPU (see ``_NUMPY_ON_CPU``), rows split over a few threads.

    The numba kernel and NumPy's compares release the GIL, so ``workers`` threads count
    disjoint row blocks of a chunk at once; each keeps its own boolean scratch buffers.
    """

    def __init__(self, nv: int, ties: str, lo: torch.Tensor, hi: torch.Tensor, workers: int) -> None:
        import threading

        self.pess = ties == "pessimistic"
        self.nv, self.nvp = nv, -(-nv // 8) * 8      # rows padded to whole uint64 words
        self.lo, self.hi = lo.numpy()[None, :], hi.numpy()
        self.n_ge = np.zeros(nv, np.int64)
        self.band = _BandStore(nv, torch.device("cpu"))
        self.local = threading.local()
        self.pool = None
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(workers)
        self.workers = workers

    def _buffers(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        bufs = getattr(self.local, "bufs", None)
        if bufs is None or bufs[0].shape[0] < rows:
            bufs = (np.zeros((rows, self.nvp), bool), np.zeros((rows, self.nvp), bool))
            self.local.bufs = bufs
        return bufs[0][:rows], bufs[1][:rows]

    def _part(self, x: np.ndarray, p: np.ndarray):
        """Ranks, per-column counts at or above the bands, in-band (row, column) pairs of rows ``x``.

        At most 255 rows, so column counts add up in uint8 (a byte-wide reduction is ~10x
        faster than one into int64). With numba the three tests of every score run in one
        compiled loop over the chunk (:func:`_fused_counts`), else in three NumPy passes.
        """
        c, nv = x.shape
        own = x[np.arange(c), p]
        kernel = _compiled_counts()
        if kernel is not None:
            r, n_ge, band = np.empty(c, np.int64), np.zeros(nv, np.uint8), np.zeros(nv, np.uint8)
            kernel(x, own, self.lo[0], self.hi, self.pess, r, n_ge, band)
            cols = np.flatnonzero(band)
            sub = x[:, cols]
            rows, k = np.nonzero((sub >= self.lo[:, cols]) & (sub <= self.hi[cols]))
            return r, n_ge, rows, cols[k]
        full, scratch = self._buffers(c)
        view = full[:, :nv]                           # the padding columns stay False
        (np.greater_equal if self.pess else np.greater)(x, own[:, None], out=view)
        r = _row_counts(full) + (0 if self.pess else 1)
        np.greater_equal(x, self.lo, out=view)
        n_ge = np.add.reduce(view.view(np.uint8), axis=0, dtype=np.uint8)
        cols = np.flatnonzero(n_ge)
        if len(cols) * 8 > nv:                        # many columns reach their band: find the in-band ones
            sv = scratch[:, :nv]
            np.greater(x, self.hi[None, :], out=sv)
            cols = np.flatnonzero(n_ge != np.add.reduce(sv.view(np.uint8), axis=0, dtype=np.uint8))
        sub = x[:, cols]
        rows, k = np.nonzero((sub >= self.lo[:, cols]) & (sub <= self.hi[cols]))
        return r, n_ge, rows, cols[k]

    def add(self, s: torch.Tensor, p: torch.Tensor, offset: int) -> torch.Tensor:
        x, pn = _numpy_view(s), p.numpy()
        n_parts = max(self.workers if self.pool is not None and len(x) >= 2 * self.workers else 1,
                      -(-len(x) // _PART_ROWS))
        cuts = np.linspace(0, len(x), n_parts + 1).astype(int).tolist()
        if self.pool is None or n_parts == 1:
            parts = [self._part(x[i:j], pn[i:j]) for i, j in pairwise(cuts)]
        else:
            futs = [self.pool.submit(self._part, x[i:j], pn[i:j]) for i, j in pairwise(cuts)]
            parts = [f.result() for f in futs]
        for start, (_, n_ge, rows, cols) in zip(cuts, parts):
            self.n_ge += n_ge
            if len(rows):
                self.band.add(torch.from_numpy(rows + (offset + start)), torch.from_numpy(cols))
        return torch.from_numpy(np.concatenate([q[0] for q in parts]).astype(np.int64, copy=False))

    def totals(self):
        return torch.from_numpy(self.n_ge), self.band.get(), self.band.overflow

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _fused_counts(x, own, lo, hi, pess, ranks, n_ge, band) -> None:
    """One pass over rows ``x [c, V]``: ranks (t2v), column counts at or above ``lo``, band flags.

    ranks[i] = #(x[i] >= own[i]) (pessimistic) or 1 + #(x[i] > own[i]); n_ge[j] += #(x[:, j] >=
    lo[j]) (uint8: c <= 255); band[j] = 1 when some lo[j] <= x[:, j] <= hi[j]. Branch-free so
    the loop vectorises.
    """
    c, nv = x.shape
    for i in range(c):
        o = own[i]
        r = 0
        if pess:
            for j in range(nv):
                v = x[i, j]
                r += np.int64(v >= o)
                a = np.uint8(v >= lo[j])
                n_ge[j] += a
                band[j] |= a & np.uint8(v <= hi[j])
        else:
            for j in range(nv):
                v = x[i, j]
                r += np.int64(v > o)
                a = np.uint8(v >= lo[j])
                n_ge[j] += a
                band[j] |= a & np.uint8(v <= hi[j])
            r += 1
        ranks[i] = r


# numba (installed with umap-learn, the notebooks extra) compiles _fused_counts: counting then
# costs about a third of the three NumPy passes. ``_USE_NUMBA`` exists so the tests run both.
_USE_NUMBA = True
_KERNEL: list = []


def _compiled_counts():
    """The numba-compiled :func:`_fused_counts`, or None (numba missing or switched off)."""
    if not _USE_NUMBA:
        return None
    if not _KERNEL:
        try:
            import numba
        except ImportError:
            _KERNEL.append(None)
        else:
            _KERNEL.append(numba.njit(nogil=True, cache=True, boundscheck=False, fastmath=True)(_fused_counts))
    return _KERNEL[0]


def _row_counts(mask: np.ndarray) -> np.ndarray:
    """True values per row of a C-contiguous bool ``[c, 8k]`` mask (popcount of its words)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(mask.view(np.uint64)).sum(1, dtype=np.int64)
    return np.count_nonzero(mask, axis=1).astype(np.int64)


def _two_pass(text, video, cap_vid, counts, rows_t, rows_v, ties, sim_fn, normalization, temperature):
    """One streamed pass per direction (custom ``sim_fn``, ``dual_softmax``, half precision)."""
    nq, nv = text.shape[0], video.shape[0]
    dev = text.device
    sim_fn = sim_fn or _dot

    def text_rows(a: int, b: int) -> torch.Tensor:  # [b-a, V]
        s = sim_fn(text[a:b], video)
        want = (min(b, nq) - a, nv)
        if tuple(s.shape) != want:
            raise ValueError(f"sim_fn(text[{a}:{min(b, nq)}], video) returned shape {tuple(s.shape)}, "
                             f"expected {want} = (captions in the chunk, videos)")
        return s

    def video_rows(a: int, b: int) -> torch.Tensor:  # [b-a, Q]
        if sim_fn is _dot:
            return video[a:b] @ text.T  # contiguous directly, no transposed copy
        s = sim_fn(text, video[a:b])
        want = (nq, min(b, nv) - a)
        if tuple(s.shape) != want:
            raise ValueError(f"sim_fn(text, video[{a}:{min(b, nv)}]) returned shape {tuple(s.shape)}, "
                             f"expected {want} = (captions, videos in the chunk)")
        return s.T.contiguous()

    if normalization == "dual_softmax":
        # Prior normalised over the query axis: over captions for t2v, over videos for v2t.
        # One streamed pass gives both log-normalisers (per video over captions, per
        # caption over videos).
        work = torch.float64 if text.dtype == torch.float64 else torch.float32
        lse_vid = torch.full((nv,), float("-inf"), device=dev, dtype=work)
        lse_cap = torch.empty(nq, device=dev, dtype=work)
        for a in range(0, nq, rows_t):
            s = text_rows(a, a + rows_t).to(work) / temperature
            lse_vid = torch.logaddexp(lse_vid, torch.logsumexp(s, 0))
            lse_cap[a:a + rows_t] = torch.logsumexp(s, 1)
        raw_t, raw_v = text_rows, video_rows

        def text_rows(a: int, b: int) -> torch.Tensor:
            s = raw_t(a, b).to(work)
            return s * torch.exp(s / temperature - lse_vid[None, :])

        def video_rows(a: int, b: int) -> torch.Tensor:
            s = raw_v(a, b).to(work)
            return s * torch.exp(s / temperature - lse_cap[None, :])

    t2v = torch.empty(nq, dtype=torch.long)
    for a in range(0, nq, rows_t):
        s = text_rows(a, a + rows_t)
        r = _chunk_ranks(s, cap_vid[a:a + rows_t], ties)
        if r is None:
            _raise_nonfinite(s, f"similarities of captions {a}..{a + len(s) - 1} (rows here are relative)")
        t2v[a:a + rows_t] = r
    v2t = torch.empty(nv, dtype=torch.long)
    own = _captions_per_video(cap_vid, counts)
    for a in range(0, nv, rows_v):
        s = video_rows(a, a + rows_v)
        r = _chunk_ranks(s, own[a:a + rows_v], ties)
        if r is None:
            _raise_nonfinite(s, f"similarities of videos {a}..{a + len(s) - 1} (rows here are relative)")
        v2t[a:a + rows_v] = r
    return t2v, v2t
