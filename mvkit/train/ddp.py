"""Distributed data parallel helpers: the loss over the global batch, computed once.

Each rank embeds its slice of the global batch; :func:`gather_with_grad` all-gathers the
embeddings (keeping the autograd path to the local slice) so every rank computes the same
loss over the whole global batch, as a single process would. Slices may differ in size (the
last batch of an epoch rarely divides by the world size): the caller passes every rank's
row count and the gather pads to the largest and drops the padding again.

Gradients: the backward of the gather sums the incoming gradients over ranks and returns
the local slice. Every rank computes the same loss L, so rank r receives
``world * dL/de_r``; :func:`average_gradients` then averages parameter gradients over
ranks, giving exactly ``dL/dθ`` of the single-process run. (We average gradients by hand
instead of wrapping in ``DistributedDataParallel`` because the model is called through
``embed_text``/``embed_video``/``score`` rather than one ``forward``.)
"""
from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist
from torch import Tensor


def world() -> tuple[int, int]:
    """(rank, world_size); (0, 1) when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env(device: torch.device | None = None) -> tuple[int, int]:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1), gloo on CPU and nccl on CUDA."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and not dist.is_initialized():
        backend = "nccl" if (device is not None and device.type == "cuda") else "gloo"
        dist.init_process_group(backend)
    return world()


def _all_gather(x: Tensor, sizes: list[int]) -> Tensor:
    """Every rank's ``x`` (``sizes[r]`` rows on rank r), padded to the largest for the collective."""
    m = max(sizes)
    if x.shape[0] < m:
        x = torch.cat([x, x.new_zeros((m - x.shape[0], *x.shape[1:]))])
    out = [torch.empty_like(x) for _ in sizes]
    dist.all_gather(out, x.contiguous())
    return torch.cat([o[:n] for o, n in zip(out, sizes)], 0)


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, sizes: list[int]) -> Tensor:  # type: ignore[override]
        ctx.rank, ctx.sizes = dist.get_rank(), sizes
        return _all_gather(x, sizes)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[:ctx.rank])
        return grad[start:start + ctx.sizes[ctx.rank]], None


def gather_with_grad(x: Tensor, sizes: list[int] | None = None) -> Tensor:
    """Concatenate ``x`` from all ranks along dim 0 (rank order), differentiable; identity if single.

    ``sizes``: the rows rank r contributes (default: all ranks as many as this one); rows of
    ``x`` beyond this rank's count are left out (a rank with an empty slice embeds a stand-in
    row it does not contribute, so its collectives line up with the others').
    """
    if world()[1] == 1:
        return x
    sizes = [x.shape[0]] * world()[1] if sizes is None else [int(n) for n in sizes]
    x = x[:sizes[world()[0]]]
    if not x.requires_grad:
        return _all_gather(x, sizes)
    return _GatherWithGrad.apply(x, sizes)


def gather_tree(tree: dict[str, Tensor], sizes: list[int] | None = None) -> dict[str, Tensor]:
    """:func:`gather_with_grad` on every tensor of an embedding dict."""
    return {k: gather_with_grad(v, sizes) for k, v in tree.items()}


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """All-reduce-mean the gradients of ``params`` (one flat buffer); no-op when single process."""
    if world()[1] == 1:
        return
    ps = [p for p in params if p.grad is not None]
    if not ps:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in ps])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world()[1]
    i = 0
    for p in ps:
        n = p.grad.numel()
        p.grad.copy_(flat[i:i + n].view_as(p.grad))
        i += n


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()
