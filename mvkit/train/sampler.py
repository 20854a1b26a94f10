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
    batch take duplicates. Under DDP the global batch (``batch_size`` captions) is split
    into ``world_size`` contiguous slices and rank ``rank`` gets its slice; incomplete
    global batches are dropped so every rank steps the same number of times.

    ``captions_per_video``: each epoch keeps a seeded sample of at most this many captions
    of every video (different captions each epoch), so an epoch costs videos x k caption
    encodings instead of all captions -- what makes a slow text tower affordable.
    """

    def __init__(self, caption_video: Sequence[int] | np.ndarray, batch_size: int, seed: int = 0,
                 drop_last: bool = False, world_size: int = 1, rank: int = 0,
                 captions_per_video: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if batch_size % world_size:
            raise ValueError(f"global batch_size={batch_size} not divisible by world_size={world_size}")
        self.caption_video = np.asarray(caption_video, dtype=np.int64)
        self.batch_size, self.seed = batch_size, seed
        self.drop_last = drop_last or world_size > 1
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

    def __iter__(self) -> Iterator[list[int]]:
        per = self.batch_size // self.world_size
        for b in self.global_batches():
            yield b[self.rank * per:(self.rank + 1) * per] if self.world_size > 1 else b

    def __len__(self) -> int:
        return len(self.global_batches())
