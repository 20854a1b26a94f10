"""The batch sampler: every caption once per epoch, no repeated video unless unavoidable, seeded."""
from __future__ import annotations

import numpy as np
import pytest

from mvkit.train import UniqueVideoBatchSampler, WarmupCosine


def _cv(n_videos=40, per=(1, 2, 3, 8), seed=0):
    rng = np.random.default_rng(seed)
    return np.repeat(np.arange(n_videos), rng.choice(per, n_videos))


def test_each_caption_once_and_no_duplicates_while_avoidable():
    cv = _cv()
    s = UniqueVideoBatchSampler(cv, batch_size=16, seed=3)
    batches = s.global_batches()
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(cv)))
    for k, b in enumerate(batches):
        vids = cv[b]
        remaining_videos = len(set(cv[[i for bb in batches[k:] for i in bb]]))
        if remaining_videos >= 16:               # enough distinct videos left: no duplicate allowed
            assert len(set(vids)) == len(vids), (k, vids)
    # a random order of the same captions would repeat videos: the sampler is doing work
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(cv))
    assert any(len(set(cv[perm[i:i + 16]])) < 16 for i in range(0, len(cv) - 16, 16))


def test_duplicates_only_when_unavoidable():
    cv = np.array([0, 0, 0, 1, 1, 1])
    batches = UniqueVideoBatchSampler(cv, batch_size=4, seed=0).global_batches()
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert len(batches[0]) == 4                 # only 2 videos exist: the batch takes duplicates


def test_seeded_per_epoch():
    cv = _cv()
    a, b = UniqueVideoBatchSampler(cv, 8, seed=1), UniqueVideoBatchSampler(cv, 8, seed=1)
    assert a.global_batches() == b.global_batches()
    b.set_epoch(1)
    assert a.global_batches() != b.global_batches()
    a.set_epoch(1)
    assert a.global_batches() == b.global_batches()


def test_ranks_partition_the_single_process_batches():
    """Any world size steps through the one process's global batches, incomplete last one included."""
    cv = _cv()
    one = UniqueVideoBatchSampler(cv, 8, seed=2).global_batches()
    assert len(one[-1]) < 8                    # this epoch ends with an incomplete batch: it is kept
    for world in (2, 3):
        ranks = [UniqueVideoBatchSampler(cv, 8, seed=2, world_size=world, rank=r) for r in range(world)]
        assert all(r.global_batches() == one and len(r) == len(one) for r in ranks)
        per_rank = [list(r) for r in ranks]
        assert [[i for p in parts for i in p] for parts in zip(*per_rank)] == one
        for parts in zip(*per_rank):           # contiguous slices differing by at most one row
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert UniqueVideoBatchSampler(cv, 8, world_size=3).split([5, 6, 7, 8]) == [[5, 6], [7], [8]]
    assert UniqueVideoBatchSampler(cv, 8, world_size=3).split([5]) == [[5], [], []]
    dropped = UniqueVideoBatchSampler(cv, 8, seed=2, drop_last=True, world_size=2)
    assert dropped.global_batches() == one[:-1]
    with pytest.raises(ValueError, match="rank"):
        UniqueVideoBatchSampler(cv, 8, world_size=2, rank=2)


def test_warmup_cosine_hand_computed():
    import torch
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=1.0)
    s = WarmupCosine(opt, total_steps=6, warmup_steps=2)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    # warm-up 1/2, 2/2, then cosine over 4 steps: 1, (1+cos(pi/4))/2, 1/2, (1+cos(3pi/4))/2, 0
    import math
    expect = [0.5, 1.0, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 0.0]
    assert np.allclose(lrs, expect)
