"""Safetensors checkpoints written atomically, with everything a resumed run needs.

A training checkpoint holds the model (and objective) weights, the AdamW state, the
scheduler step, the AMP scaler, the RNG states and the trainer's own state (epoch, best
validation score, history) so a run killed at any moment resumes from the last completed
epoch and ends with exactly the weights and metrics of an uninterrupted run.
Tensors go in the safetensors payload; small structured state goes in its string metadata
as JSON. Files are replaced atomically (``mvkit.io.atomic_path``): a kill mid-write leaves
the previous checkpoint intact.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mvkit.io import atomic_path


def _flat_state(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_weights(path: str | Path, model: torch.nn.Module, meta: dict[str, Any] | None = None) -> None:
    """Model weights only (``model.<name>`` keys) plus JSON metadata, e.g. the model config."""
    tensors = _flat_state("model.", model.state_dict())
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta or {})})


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata with JSON values decoded) of a checkpoint; clear error if unreadable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not a dict
            raw = f.metadata() or {}
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
        raise ValueError(f"{path}: not a readable safetensors checkpoint ({e})") from None
    return tensors, {k: json.loads(v) for k, v in raw.items()}


def load_weights(path: str | Path, model: torch.nn.Module) -> dict[str, Any]:
    """Load ``model.*`` tensors into ``model`` (strict); return the file's ``meta`` dict."""
    tensors, meta = read_checkpoint(path)
    state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit this model: {e}") from None
    return meta.get("meta", {})


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v.detach().cpu().contiguous().clone()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    for key, v in meta["scalars"].items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
    py = random.getstate()
    meta = {"numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": [py[0], list(py[1]), py[2]]}
    return tensors, meta


def _restore_rng(tensors: dict[str, torch.Tensor], meta: dict) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    n = meta["numpy"]
    np.random.set_state((n[0], tensors["rng.numpy"].numpy().astype(np.uint32), n[1], n[2], n[3]))
    p = meta["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def save_training_state(path: str | Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        scheduler: Any, scaler: Any | None, objective: torch.nn.Module | None,
                        trainer: dict[str, Any]) -> None:
    """Write everything needed to resume (see module doc) to ``path`` atomically."""
    tensors = _flat_state("model.", model.state_dict())
    if objective is not None:
        tensors.update(_flat_state("objective.", objective.state_dict()))
    opt_t, opt_meta = _optimizer_tensors(optimizer)
    rng_t, rng_meta = _rng_state()
    tensors.update(opt_t)
    tensors.update(rng_t)
    meta = {"optimizer": opt_meta, "rng": rng_meta, "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else {},
            "trainer": trainer}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})


def load_training_state(path: str | Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        scheduler: Any, scaler: Any | None, objective: torch.nn.Module | None) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote (RNG included); return the trainer state."""
    tensors, meta = read_checkpoint(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    if objective is not None:
        objective.load_state_dict({k[10:]: v for k, v in tensors.items() if k.startswith("objective.")},
                                  strict=True)
    _restore_optimizer(optimizer, tensors, meta["optimizer"])
    scheduler.load_state_dict(meta["scheduler"])
    if scaler is not None and meta.get("scaler"):
        scaler.load_state_dict(meta["scaler"])
    _restore_rng(tensors, meta["rng"])
    return meta["trainer"]
