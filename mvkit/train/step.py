"""One optimisation step with the trainer's habits, for training loops outside ``fit``.

Backward through the AMP gradient scaler (a no-op scaler on CPU), gradients averaged over
torchrun ranks (:func:`mvkit.train.ddp.average_gradients`), unscaled, clipped to
``grad_clip`` (L2 norm), the optimizer and scaler stepped and the schedule advanced -- the
order :func:`mvkit.train.fit` uses, so a grounding or other new loop behaves the same.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mvkit.train import ddp


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: Any, scheduler: Any,
                   params: Sequence[torch.nn.Parameter], grad_clip: float | None) -> None:
    """Backward ``loss`` and take one step (module doc); raises if the loss is not finite."""
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()}")
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    ddp.average_gradients(params)
    scaler.unscale_(optimizer)
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()


def checkpoint_epoch(last_path: Any, rank: int, epoch: int, state: dict[str, Any], *, model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any,
                     objective: torch.nn.Module | None = None, callbacks: Sequence[Any] = ()) -> None:
    """End of an epoch: write the full training state atomically (rank 0), wait for every rank,
    then call ``cb(epoch, state)`` for each callback (a test kills a run by raising from one)."""
    from mvkit.train.checkpoint import save_training_state

    state["epoch"] = epoch
    if last_path is not None and rank == 0:
        save_training_state(last_path, model=model, optimizer=optimizer, scheduler=scheduler,
                            scaler=scaler, objective=objective, trainer=state)
    ddp.barrier()
    for cb in callbacks:
        cb(epoch, state)


def restore_selected(model: torch.nn.Module, best_state: dict[str, torch.Tensor] | None, best_path: Any) -> None:
    """Load the checkpoint selection chose (in memory, else ``best.safetensors`` of a resumed run)."""
    from mvkit.train.checkpoint import load_weights

    if best_state is not None:
        model.load_state_dict(best_state)
    elif best_path is not None and best_path.exists():
        load_weights(best_path, model)


def start_or_resume(cfg: dict[str, Any], last_path: Any, resume: bool, free: set[str], *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any,
                    objective: torch.nn.Module | None = None) -> dict[str, Any]:
    """The trainer state to start from: fresh, or restored from ``last_path`` (weights, optimizer,
    schedule, scaler, RNG) when ``resume`` -- refusing if the config changed outside ``free``."""
    import math

    from mvkit.train.checkpoint import load_training_state

    state: dict[str, Any] = {"epoch": -1, "step": 0, "best_score": -math.inf, "best_epoch": -1,
                             "history": [], "config": cfg}
    if not (resume and last_path is not None and last_path.exists()):
        return state
    state = load_training_state(last_path, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                                objective=objective)
    diff = sorted(k for k in set(state["config"]) | set(cfg) if k not in free and state["config"].get(k) != cfg.get(k))
    if diff:
        raise ValueError(f"{last_path}: cannot resume, the config changed in {diff} "
                         f"(saved {[state['config'].get(k) for k in diff]} vs now {[cfg.get(k) for k in diff]})")
    state["config"] = cfg
    return state
