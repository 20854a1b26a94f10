"""DDP: gathered embeddings give the single-process loss and gradients over the global batch.

Two CPU processes (gloo) each embed half of a fixed batch, gather with gradient, compute
the loss once over the whole batch and average parameter gradients; the result must equal
one process on the whole batch.
"""
from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from mvkit.losses import create_loss
from mvkit.models import TextBatch, VideoBatch, create_model
from mvkit.train import ddp
from mvkit.train.objectives import Contrastive, StepInput

B, T, D, TD = 8, 5, 12, 10


def _setup_batch():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(B, T, D, generator=g)
    mask = torch.arange(T)[None] < torch.tensor([5, 4, 3, 5, 2, 5, 4, 1])[:, None]
    text = torch.randn(B, TD, generator=g)
    vid = torch.tensor([0, 1, 2, 3, 0, 4, 5, 6])          # a duplicate video across the two halves
    return feats, mask, text, vid


def _model():
    torch.manual_seed(0)
    return create_model("dcm", video_dims={"appearance": D}, text_dim=TD, embed_dim=8,
                        spaces={"main": {"dropout": 0.0}})


def _loss_and_grads(rows, sizes=None, n=B):
    """Loss and gradients over the first ``n`` rows of the batch; this rank embeds ``rows``
    (``sizes``: every rank's row count, for uneven slices)."""
    feats, mask, text, vid = _setup_batch()
    model = _model()
    te = ddp.gather_tree(model.embed_text(TextBatch(text[rows], torch.ones(len(rows), dtype=torch.bool))), sizes)
    ve = ddp.gather_tree(model.embed_video(VideoBatch({"appearance": feats[rows]}, {"appearance": mask[rows]})),
                         sizes)
    gvid = ddp.gather_with_grad(vid[rows], sizes)
    loss = Contrastive(create_loss("infonce"))(StepInput(model, te, ve, gvid, gvid, torch.ones(n, dtype=torch.bool)))
    loss.backward()
    params = list(model.parameters())
    ddp.average_gradients(params)
    return loss.detach(), [p.grad.clone() for p in params]


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        per = B // world
        got = {B: _loss_and_grads(torch.arange(rank * per, (rank + 1) * per))}
        # uneven slices: 5 rows as [3, 2]; 1 row as [1, 0] (rank 1 embeds a stand-in it drops)
        got[5] = _loss_and_grads(torch.arange(0, 3) if rank == 0 else torch.arange(3, 5), [3, 2], n=5)
        got[1] = _loss_and_grads(torch.arange(0, 1), [1, 0], n=1)
        if rank == 0:
            torch.save(got, out)
    finally:
        torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gather_matches_single_process(tmp_path):
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    got = torch.load(out)
    for n in (B, 5, 1):
        loss1, grads1 = _loss_and_grads(torch.arange(n), n=n)
        loss2, grads2 = got[n]
        assert torch.allclose(loss2, loss1, atol=1e-6), n
        for a, b in zip(grads2, grads1):
            assert torch.allclose(a, b, atol=1e-6), n


def test_single_process_helpers_are_identity():
    x = torch.randn(3, 2, requires_grad=True)
    assert ddp.gather_with_grad(x) is x and ddp.world() == (0, 1)
