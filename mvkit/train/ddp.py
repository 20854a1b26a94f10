"""Distributed data parallel helpers: the loss over the global batch, computed once.

Each rank embeds its slice of the global batch; :func:`gather_with_grad` all-gathers the
embeddings (keeping the autograd path to the local slice) so every rank computes the same
loss over all ``world x B`` pairs, as a single process would with the whole batch.

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


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        ctx.rank, ctx.size, ctx.n = dist.get_rank(), dist.get_world_size(), x.shape[0]
        out = [torch.empty_like(x) for _ in range(ctx.size)]
        dist.all_gather(out, x.contiguous())
        return torch.cat(out, 0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` from all ranks along dim 0 (rank order), differentiable; identity if single."""
    if world()[1] == 1:
        return x
    if not x.requires_grad:
        out = [torch.empty_like(x) for _ in range(world()[1])]
        dist.all_gather(out, x.contiguous())
        return torch.cat(out, 0)
    return _GatherWithGrad.apply(x)


def gather_tree(tree: dict[str, Tensor]) -> dict[str, Tensor]:
    """:func:`gather_with_grad` on every tensor of an embedding dict."""
    return {k: gather_with_grad(v) for k, v in tree.items()}


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
