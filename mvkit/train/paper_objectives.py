"""The papers' objectives beyond ``loss(sim, pos)``, plugged in through the trainer's Objective hook.

Each class plugs into ``mvkit.train.fit(config, objective=...)`` (see
``mvkit.train.objectives``): ``prepare`` builds lookup tables once from the training split,
``forward`` turns one step's embeddings into a scalar loss. NRCCR and DCOT need nothing but
the training captions, so they are registered by name with LECCR and CL2CM
(``mvkit train --loss nrccr|dcot|leccr|cl2cm``).
RUDDER's (``--loss partial_order``) builds its probe captions' features from the embedded
world (:func:`probe_features`). C2KD's objective is ``mvkit.train.objectives.C2KD``.

* :class:`PartialOrderObjective` -- RUDDER: triplet hinge + partial-order loss over each
  batch video's probe captions (positive / partial / negative, ``partial.jsonl``);
* :class:`NRCCRObjective` -- NRCCR: hinge on source (English) and machine-translated views
  plus back-translation consistency;
* :class:`DCOTObjective` -- DCOT: optimal-transport pair confidences weighting InfoNCE on
  machine-translated rows, with the cross-lingual -> cross-modal curriculum.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mvkit.losses import (
    CL2CMLoss,
    DCOTLoss,
    HingeLoss,
    InfoNCE,
    LECCRLoss,
    NRCCRLoss,
    PartialOrderLoss,
    PartialOrderOTLoss,
)
from mvkit.losses.partial_order import IGNORE, NEGATIVE, POSITIVE
from mvkit.models.fusion import Emb, RetrievalModel
from mvkit.models.text import TextBatch
from mvkit.train.objectives import OBJECTIVES, Objective, StepInput, TrainContext


def _embed_features(model: RetrievalModel, feats: Tensor, is_en: Tensor) -> Emb:
    """Project cached text features (frozen text mode) into the model's spaces."""
    return model.embed_text(TextBatch(feats, is_en))


def _text_text(model: RetrievalModel, a: Emb, b: Emb) -> Tensor:
    """``[Na, Nb]`` text-text similarity in the joint space: weighted sum over spaces of dot products."""
    return sum(model.weights[k] * (a[k] @ b[k].T) for k in model.text_projs)  # type: ignore[return-value]


def _row_lookup(ctx: TrainContext, source_of: Sequence[str | None], langs: Sequence[str],
                kinds: Sequence[str], what: str) -> tuple[Tensor, Tensor]:
    """Cached features of the captions named in ``source_of`` (one per training row).

    Returns ``(features [N, D], found [N] bool)``; rows whose caption is missing get zeros
    and ``found`` False (their terms are skipped).
    """
    other = ctx.build_split("train", langs=list(langs), kinds=list(kinds))
    if other.text is None:
        raise ValueError(f"{what}: needs cached text features (text_mode='frozen')")
    index = {c.caption_id: i for i, c in enumerate(other.captions)}
    rows = torch.tensor([index.get(s, -1) if s else -1 for s in source_of], dtype=torch.long)
    found = rows >= 0
    feats = torch.zeros(len(rows), other.text.shape[1])
    feats[found] = other.text[rows[found]]
    return feats, found


def probe_features(world: Path, encoder: Any, cache: Path) -> dict[str, list]:
    """RUDDER probe captions of the world's English probes with their labels, text features cached."""
    import numpy as np

    from mvkit.data.synth import load_world
    from mvkit.io import atomic_write_json, read_json

    ds = load_world(world, partial=True)
    label = {(p.video_id, p.caption_id): p.label for p in ds.partial_labels}
    probes = [c for c in ds.captions if c.caption_id.startswith("rudder:") and c.lang == "en"]
    f_path, m_path = cache / "probe_features.npy", cache / "probe_meta.json"
    meta = {"weights": encoder.weights_sha256, "ids": [c.caption_id for c in probes]}
    if f_path.exists() and m_path.exists() and read_json(m_path) == meta:
        feats = np.load(f_path)
    else:
        import torch
        with torch.inference_mode():
            feats = np.concatenate([encoder.encode_text([c.text for c in probes[i:i + 256]], "en").float().cpu().numpy()
                                    for i in range(0, len(probes), 256)]).astype(np.float32)
        cache.mkdir(parents=True, exist_ok=True)
        from mvkit.io import atomic_path
        with atomic_path(f_path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, feats)
        atomic_write_json(m_path, meta, indent=None)
    out: dict[str, list] = {}
    for c, f in zip(probes, feats):
        out.setdefault(c.video_id, []).append((f, label[(c.video_id, c.caption_id)]))
    return out


def _probes_from_context(ctx: TrainContext) -> dict[str, list]:
    """Probe features for ``mvkit train --loss partial_order``: the world in ``config.data``,
    encoded with the store's own encoder (from its provenance), cached next to the store."""
    world = Path(str(getattr(ctx.config, "data", "") or ""))
    if not (world / "world.json").is_file():
        raise ValueError(f"partial_order: needs RUDDER probe captions; {str(world) or 'config.data'!r} is not an "
                         "embedded world (for other data build PartialOrderObjective(probes=...) yourself)")
    from mvkit.features.encoders import create_encoder

    prov = ctx.store.provenance
    encoder = create_encoder(prov["encoder"], prov.get("pretrained"), device="cpu")
    return probe_features(world, encoder, Path(str(ctx.config.store)) / "rudder_probes")


class PartialOrderObjective(Objective):
    """RUDDER (Kumar et al., ICMI 2021): hinge triplet loss + ``weight`` x the partial-order loss.

    For the batch's videos the columns are the batch's captions (the row's own caption is the
    anchor, label 0; captions of the same video 0; of other videos 2) followed by the probe
    captions of the batch's videos: a video's own probes carry their ``partial.jsonl`` label,
    the other videos' probes are ignored (-1: a probe written for one clip is not known to be
    a negative for another). ``probes`` maps video_id -> [(probe feature [D], label)]; when
    it is None (``mvkit train --loss partial_order``) they are built from the embedded world
    in ``config.data`` with the store's encoder (:func:`probe_features`).
    """

    name = "partial-order"

    def __init__(self, probes: Mapping[str, Sequence[tuple[np.ndarray, int]]] | None = None, weight: float = 1.0,
                 margin: float = 0.2, max_violation: bool = True, ot: bool = False, **po_kwargs: Any) -> None:
        super().__init__()
        self.probes, self.weight = probes, weight
        self.hinge = HingeLoss(margin=margin, max_violation=max_violation)
        self.po = (PartialOrderOTLoss if ot else PartialOrderLoss)(**po_kwargs)   # ot: RUDDER's OT weighting
        self._kw = {"weight": weight, "margin": margin, "max_violation": max_violation, "ot": ot, **po_kwargs}

    def prepare(self, ctx: TrainContext) -> None:
        if self.probes is None:
            self.probes = _probes_from_context(ctx)
        feats, owner, labels = [], [], []
        for vrow, vid in enumerate(ctx.train.video_ids):
            for f, lab in self.probes.get(vid, ()):
                feats.append(np.asarray(f, dtype=np.float32))
                owner.append(vrow)
                labels.append(int(lab))
        if not feats:
            raise ValueError("PartialOrderObjective: no probe captions for any training video")
        self.p_feats = torch.from_numpy(np.stack(feats))
        self.p_owner = torch.tensor(owner)
        self.p_label = torch.tensor(labels)

    def forward(self, step: StepInput) -> Tensor:
        loss = self.hinge(step.sim, step.pos)
        vrows = step.video_index.cpu()
        sel = torch.isin(self.p_owner, vrows).nonzero().squeeze(1)
        if not len(sel) or not self.weight:
            return loss
        dev = step.sim.device
        pe = _embed_features(step.model, self.p_feats[sel].to(dev), torch.ones(len(sel), dtype=torch.bool, device=dev))
        probe_sim = step.model.score(pe, step.video_emb).T               # [B videos, P probes]
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


class _TranslationObjective(Objective):
    """Shared set-up of the noise-robust objectives: which rows are machine translations, and
    the cached features of each translation's English source and back-translation."""

    def prepare(self, ctx: TrainContext) -> None:
        caps = ctx.train.captions
        self.is_mt = torch.tensor([c.kind == "machine-translated" for c in caps])
        src = [c.source_id if c.kind == "machine-translated" else None for c in caps]
        back = [f"{c.source_id.split('#')[0]}#en2{c.lang}2en#0" if c.kind == "machine-translated" and c.source_id
                else None for c in caps]
        self.src_feat, self.src_found = _row_lookup(ctx, src, ["en"], ["human"], type(self).__name__)
        self.back_feat, self.back_found = _row_lookup(ctx, back, ["en"], ["back-translated"], type(self).__name__)
        self.mt_feat = ctx.train.text

    def _mt_rows(self, step: StepInput) -> Tensor:
        ci = step.caption_index.cpu()
        return self.is_mt[ci] & self.src_found[ci]


class NRCCRObjective(_TranslationObjective):
    """NRCCR (Wang et al., ACM MM 2022) on the batch: H(other rows) + NRCCR(translated rows).

    For the machine-translated rows: sim_src = their English sources vs the batch's videos,
    sim_tgt = the rows themselves, sim_back = sources vs back-translations (text-text in the
    joint space, diagonal positives). The cross-attention similarity and feature views need
    a cross-attention text module that the frozen-feature models lack; they are skipped
    (``NRCCRLoss`` treats them as optional). Other rows (English) get the same hinge.
    """

    name = "nrccr"

    def __init__(self, **kw: Any) -> None:
        super().__init__()
        self.loss = NRCCRLoss(**kw)
        self._kw = kw

    def forward(self, step: StepInput) -> Tensor:
        mt = self._mt_rows(step).to(step.sim.device)
        other = ~mt
        total = step.sim.new_zeros(())
        if other.any():
            total = total + self.loss.hinge(step.sim[other], step.pos[other])
        if mt.any():
            ci = step.caption_index.cpu()[mt.cpu()]
            dev = step.sim.device
            ones = torch.ones(len(ci), dtype=torch.bool, device=dev)
            src = _embed_features(step.model, self.src_feat[ci].to(dev), ones)
            back = _embed_features(step.model, self.back_feat[ci].to(dev), ones)
            sim_src = step.model.score(src, step.video_emb)
            sim_back = _text_text(step.model, src, back) if bool(self.back_found[ci].all()) else None
            total = total + self.loss(sim_src, step.sim[mt], step.pos[mt], sim_back=sim_back)
        return total

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": "hinge + nrccr (source, target, back-translation views)",
                "loss_kwargs": self._kw}


class DCOTObjective(_TranslationObjective):
    """DCOT (2024): InfoNCE on the other rows + OT-confidence-weighted InfoNCE on translated rows.

    The cross-lingual view compares each translation with its English source in the
    *pretrained* text encoder's space (cosine of the cached features: a fixed judge of
    translations, as the loss's curriculum assumes); the cross-modal view is the batch's
    text-video similarity. The curriculum's epoch comes from a step counter (a buffer, so
    resuming keeps it) divided by the steps per epoch of the trainer's sampler.
    """

    name = "dcot"

    def __init__(self, epochs: int = 1, **kw: Any) -> None:
        super().__init__()
        kw.setdefault("curriculum_epochs", max(1, epochs))
        self.loss = DCOTLoss(**kw)
        self.nce = InfoNCE(temperature=self.loss.temperature)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self._kw = kw

    def prepare(self, ctx: TrainContext) -> None:
        super().prepare(ctx)
        from mvkit.train.sampler import UniqueVideoBatchSampler

        self.steps_per_epoch = max(1, len(UniqueVideoBatchSampler(
            ctx.train.caption_video.numpy(), ctx.config.batch_size, ctx.config.seed)))
        norm = lambda x: torch.nn.functional.normalize(x, dim=-1)
        self.mt_unit, self.src_unit = norm(self.mt_feat), norm(self.src_feat)

    def forward(self, step: StepInput) -> Tensor:
        epoch = int(self.steps_done) // self.steps_per_epoch
        if self.training:
            self.steps_done += 1
        mt = self._mt_rows(step).to(step.sim.device)
        total = step.sim.new_zeros(())
        if (~mt).any():
            total = total + self.nce(step.sim[~mt], step.pos[~mt])
        if mt.any():
            ci = step.caption_index.cpu()[mt.cpu()]
            sim_st = (self.src_unit[ci] @ self.mt_unit[ci].T).to(step.sim)
            vi = step.video_index[mt]
            pos_st = vi[:, None] == vi[None, :]          # translations of one source share it
            total = total + self.loss(step.sim[mt], step.pos[mt], sim_st, epoch, pos_st)
        return total

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": "infonce + dcot (OT confidences, lingual->modal curriculum)",
                "loss_kwargs": self._kw}


class _GuidedObjective(_TranslationObjective):
    """InfoNCE on the batch's other rows + ``self.guided(step, mt_rows)`` on its translated rows."""

    def __init__(self, loss: nn.Module, kw: dict[str, Any]) -> None:
        super().__init__()
        self.loss, self._kw = loss, kw

    def forward(self, step: StepInput) -> Tensor:
        mt = self._mt_rows(step).to(step.sim.device)
        total = step.sim.new_zeros(())
        if (~mt).any():
            total = total + self.loss.contrastive(step.sim[~mt], step.pos[~mt])
        if mt.any():
            total = total + self.guided(step, mt)
        return total

    def _sources(self, step: StepInput, mt: Tensor) -> Emb:
        """The translated rows' English sources, projected by the model being trained."""
        ci = step.caption_index.cpu()[mt.cpu()]
        ones = torch.ones(len(ci), dtype=torch.bool, device=step.sim.device)
        return _embed_features(step.model, self.src_feat[ci].to(step.sim.device), ones)

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": f"infonce + {self.name} on translated rows",
                "loss_kwargs": self._kw}


class LECCRObjective(_GuidedObjective):
    """LECCR's softened matching on the batch: each machine-translated row is matched to the
    videos with its English source's graded similarities (``LECCRLoss``'s ``sim_ev``) as a
    detached soft target; other rows get plain InfoNCE. No MLLM slots here (``slot_sim`` off).
    """

    name = "leccr"

    def __init__(self, **kw: Any) -> None:
        super().__init__(LECCRLoss(**kw), kw)

    def guided(self, step: StepInput, mt: Tensor) -> Tensor:
        sim_ev = step.model.score(self._sources(step, mt), step.video_emb)
        return self.loss(step.sim[mt], step.pos[mt], sim_ev)


class CL2CMObjective(_GuidedObjective):
    """CL2CM's transfer on the batch: the text-text similarity of each machine-translated row
    to the English sources (in the joint space, detached by the loss) is routed to videos
    through those sources (``CL2CMLoss``; sources and rows align, so ``src_pos`` = ``pos``)
    and distilled into the row's text-video similarities; other rows get plain InfoNCE.
    """

    name = "cl2cm"

    def __init__(self, **kw: Any) -> None:
        super().__init__(CL2CMLoss(**kw), kw)

    def guided(self, step: StepInput, mt: Tensor) -> Tensor:
        rows = {k: v[mt] for k, v in step.text_emb.items()}
        sim_tt = _text_text(step.model, rows, self._sources(step, mt))
        # the teacher reaches a video only through a source caption of it: keep the batch's
        # videos that some translated row describes (the others are in the rows' InfoNCE)
        cols = step.pos[mt].any(dim=0)
        return self.loss(step.sim[mt][:, cols], step.pos[mt][:, cols], sim_tt)


def _partial_order_ot(**kw: Any) -> PartialOrderObjective:
    """``--loss partial_order_ot``: RUDDER's objective with the OT-weighted partial-order loss."""
    return PartialOrderObjective(ot=True, **kw)


OBJECTIVES.update({"partial_order": PartialOrderObjective, "partial_order_ot": _partial_order_ot, "nrccr": NRCCRObjective, "dcot": DCOTObjective,
                   "leccr": LECCRObjective, "cl2cm": CL2CMObjective})
