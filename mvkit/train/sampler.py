"""Batches of captions that avoid putting the same video twice in a batch.

With several captions per video (and translations of each), random batches often hold the
same video twice (about 60% of 128-batches on MSR-VTT-9k); a loss that treats the copy as
a negative then pushes a video away from its own caption. We avoid duplicates while any
other video is left, and the losses' ``pos`` mask covers the ones that remain at the end
of an epoch (the same video twice is a positive).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

import numpy as np


class UniqueVideoBatchSampler:
    """Seeded, epoch-dependent caption batches with no repeated video when avoidable.

    caption_video: video index of every caption. Each epoch shuffles captions with
    ``numpy.random.default_rng([seed, epoch])`` (so a resumed run replays the same order),
    then fills each batch greedily, deferring a caption whose video is already in the batch
    to the next batch. Only when fewer distinct videos than ``batch_size`` remain does a
    batch take duplicates. The global batches depend on the seed and epoch only, never on
    the number of ranks: under DDP each global batch is cut into ``world_size`` contiguous
    slices (:meth:`split`, sizes differing by at most one, so the last, incomplete batch is
    kept as one process keeps it) and rank ``rank`` gets its slice; every rank steps once per
    global batch, so the schedule is the single process's too. ``drop_last`` drops the
    incomplete last batch (for every world size alike).

    ``captions_per_video``: each epoch keeps a seeded sample of at most this many captions
    of every video (different captions each epoch), so an epoch costs videos x k caption
    encodings instead of all captions -- what makes a slow text tower affordable.
    """

    def __init__(self, caption_video: Sequence[int] | np.ndarray, batch_size: int, seed: int = 0,
                 drop_last: bool = False, world_size: int = 1, rank: int = 0,
                 captions_per_video: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} of world_size {world_size}: need 0 <= rank < world_size")
        self.caption_video = np.asarray(caption_video, dtype=np.int64)
        self.batch_size, self.seed = batch_size, seed
        self.drop_last = drop_last
        self.world_size, self.rank = world_size, rank
        self.captions_per_video = captions_per_video
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        """This epoch's global batches (caption indices), before splitting across ranks."""
        rng = np.random.default_rng([self.seed, self.epoch])
        vid = self.caption_video
        order = rng.permutation(len(vid))
        if self.captions_per_video is not None:
            # the first k of each video in this epoch's random order: a uniform sample per video
            seen_count: dict[int, int] = {}
            keep = []
            for i in order.tolist():
                c = seen_count.get(int(vid[i]), 0)
                if c < self.captions_per_video:
                    keep.append(i)
                    seen_count[int(vid[i])] = c + 1
            order = np.asarray(keep, dtype=np.int64)
        pending = deque(order.tolist())
        out: list[list[int]] = []
        while pending:
            batch: list[int] = []
            seen: set[int] = set()
            deferred: list[int] = []
            while pending and len(batch) < self.batch_size:
                i = pending.popleft()
                if vid[i] in seen:
                    deferred.append(i)
                else:
                    batch.append(i)
                    seen.add(vid[i])
            # only duplicates of videos already in the batch are left: accept them (pos mask)
            while deferred and len(batch) < self.batch_size and not pending:
                batch.append(deferred.pop(0))
            pending.extendleft(reversed(deferred))
            out.append(batch)
        if self.drop_last and out and len(out[-1]) < self.batch_size:
            out.pop()
        return out

    def split(self, batch: Sequence[int]) -> list[list[int]]:
        """``batch`` cut into ``world_size`` contiguous slices, rank order; the first
        ``len(batch) % world_size`` slices hold one row more (a slice may be empty)."""
        n, w = len(batch), self.world_size
        bounds = [r * (n // w) + min(r, n % w) for r in range(w + 1)]
        return [list(batch[bounds[r]:bounds[r + 1]]) for r in range(w)]

    def __iter__(self) -> Iterator[list[int]]:
        for b in self.global_batches():
            yield self.split(b)[self.rank]

    def __len__(self) -> int:
        return len(self.global_batches())
