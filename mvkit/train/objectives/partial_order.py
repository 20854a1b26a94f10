"""RUDDER's objective: a triplet hinge plus the partial-order loss over each video's probe captions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mvkit.data.records import CaptionRecord
from mvkit.losses import HingeLoss, PartialOrderLoss, PartialOrderOTLoss
from mvkit.losses.partial_order import IGNORE, NEGATIVE, POSITIVE
from mvkit.train.objectives.base import (
    Objective,
    StepInput,
    TrainContext,
    embed_rows,
    register_objective,
)


@dataclass
class Probes:
    """RUDDER probe captions: each written for one clip, labelled against it (0 positive, 1/2
    partial, 3 negative in the release; mvkit's labels in ``mvkit.losses.partial_order``),
    with their cached text features for a frozen text side (rows as ``captions``)."""

    captions: list[CaptionRecord]
    labels: list[int]
    features: np.ndarray | None = None
    langs: list[str] = field(default_factory=list)


def world_probes(world: str | Path, langs: Sequence[str] | None = None) -> Probes:
    """The probe captions of an embedded world (``load_world(partial=True)``) in ``langs`` (None: all)."""
    from mvkit.data.synth import load_world
    from mvkit.data.synth.world import is_partial_caption

    ds = load_world(world, partial=True)
    label = {(p.video_id, p.caption_id): p.label for p in ds.partial_labels}
    caps = [c for c in ds.captions if is_partial_caption(c) and (langs is None or c.lang in langs)]
    return Probes(caps, [label[(c.video_id, c.caption_id)] for c in caps], None, sorted({c.lang for c in caps}))


def probe_features(world: str | Path, encoder: Any, cache: str | Path, langs: Sequence[str] = ("en",)) -> Probes:
    """:func:`world_probes` with their features from ``encoder`` (a frozen text side), cached in
    ``cache`` and reused only for the same weights and captions."""
    from mvkit.io import atomic_path, atomic_write_json, read_json

    probes = world_probes(world, langs)
    cache = Path(cache)
    f_path, m_path = cache / "probe_features.npy", cache / "probe_meta.json"
    meta = {"weights": encoder.weights_sha256, "ids": [c.caption_id for c in probes.captions]}
    if f_path.exists() and m_path.exists() and read_json(m_path) == meta:
        probes.features = np.load(f_path)
        return probes
    feats = np.zeros((len(probes.captions), int(encoder.text_dim)), np.float32)
    by_lang: dict[str, list[int]] = {}
    for i, c in enumerate(probes.captions):
        by_lang.setdefault(c.lang, []).append(i)
    with torch.inference_mode():
        for lang, rows in sorted(by_lang.items()):
            feats[rows] = encoder.encode_text([probes.captions[i].text for i in rows], lang).float().numpy()
    cache.mkdir(parents=True, exist_ok=True)
    with atomic_path(f_path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, feats)
    atomic_write_json(m_path, meta, indent=None)
    probes.features = feats
    return probes


def _probes_from_context(ctx: TrainContext) -> Probes:
    """Probes for ``--loss partial_order``: the embedded world in ``config.data``, in the training
    captions' languages; a frozen text side gets their features from the run's encoder."""
    world = Path(str(getattr(ctx.config, "data", "") or ""))
    if not (world / "world.json").is_file():
        raise ValueError(f"partial_order: needs RUDDER probe captions; {str(world) or 'config.data'!r} is not an "
                         "embedded world (for other data build PartialOrderObjective(probes=...) yourself)")
    langs = sorted({c.lang for c in ctx.train.captions})
    if ctx.model.text.module is not None:
        return world_probes(world, langs)
    return probe_features(world, ctx.require_encoder(), Path(str(ctx.config.store)) / "rudder_probes", langs)


@register_objective("partial_order")
class PartialOrderObjective(Objective):
    """RUDDER (Kumar et al., ICMI 2021): hinge triplet loss + ``weight`` x the partial-order loss.

    For the batch's videos the columns are the batch's captions (the row's own caption is the
    anchor, label 0; captions of the same video 0; of other videos 2) followed by the probe
    captions of the batch's videos: a video's own probes carry their ``partial.jsonl`` label,
    the other videos' probes are ignored (-1: a probe written for one clip is not known to be
    a negative for another). Probes go through the text side being trained: their cached
    features (frozen) or their tokens (trainable). ``probes=None`` (``mvkit train --loss
    partial_order``) takes them from the embedded world in ``config.data``.
    """

    name = "partial-order"

    def __init__(self, probes: Probes | None = None, weight: float = 1.0, margin: float = 0.2,
                 max_violation: bool = True, ot: bool = False, **po_kwargs: Any) -> None:
        super().__init__()
        self.probes, self.weight = probes, weight
        self.hinge = HingeLoss(margin=margin, max_violation=max_violation)
        self.po = (PartialOrderOTLoss if ot else PartialOrderLoss)(**po_kwargs)   # ot: RUDDER's OT weighting
        self._kw = {"weight": weight, "margin": margin, "max_violation": max_violation, "ot": ot, **po_kwargs}

    def prepare(self, ctx: TrainContext) -> None:
        from mvkit.train.data import caption_table

        probes = self.probes if self.probes is not None else _probes_from_context(ctx)
        row_of = {v: i for i, v in enumerate(ctx.train.video_ids)}
        keep = [i for i, c in enumerate(probes.captions) if c.video_id in row_of]
        if not keep:
            raise ValueError("PartialOrderObjective: no probe captions for any training video")
        caps = [probes.captions[i] for i in keep]
        trainable = ctx.model.text.module is not None
        if not trainable and probes.features is None:
            raise ValueError("PartialOrderObjective: a frozen text side needs the probes' features (probe_features)")
        feats = None if trainable else torch.as_tensor(np.asarray(probes.features, np.float32)[keep])
        self.table = caption_table(caps, feats, ctx.model.text.module if trainable else None, "probe captions")
        self.p_owner = torch.tensor([row_of[c.video_id] for c in caps])
        self.p_label = torch.tensor([int(probes.labels[i]) for i in keep])
        self._kw["probe_langs"] = sorted({c.lang for c in caps})

    def forward(self, step: StepInput) -> Tensor:
        loss = self.hinge(step.sim, step.pos)
        vrows = step.video_index.cpu()
        sel = torch.isin(self.p_owner, vrows).nonzero().squeeze(1)
        if not len(sel) or not self.weight:
            return loss
        dev = step.sim.device
        probe_sim = step.model.score(embed_rows(step.model, self.table, sel, dev), step.video_emb).T  # [B, P]
        sim = torch.cat([step.sim.T, probe_sim], dim=1)                  # video b vs captions
        b = len(vrows)
        lab_batch = torch.where(step.pos.T.cpu(), POSITIVE, NEGATIVE)    # same video: positive
        own = self.p_owner[sel][None, :] == vrows[:, None]               # [B, P]
        lab_probe = torch.where(own, self.p_label[sel][None, :], torch.full_like(own, IGNORE, dtype=torch.long))
        labels = torch.cat([lab_batch.long(), lab_probe.long()], dim=1).to(dev)
        anchor = torch.arange(b, device=dev)
        return loss + self.weight * self.po(sim, labels, anchor)

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": "vse++ hinge + partial_order", "loss_kwargs": self._kw}


@register_objective("partial_order_ot")
def partial_order_ot(**kw: Any) -> PartialOrderObjective:
    """``--loss partial_order_ot``: RUDDER's objective with the OT-weighted partial-order loss."""
    return PartialOrderObjective(ot=True, **kw)
