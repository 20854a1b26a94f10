"""One registry of objectives: every trainable name trains by name, a (sim, pos) loss needs no
objective of its own, and names that cannot train say so."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mvkit.data.records import CaptionRecord
from mvkit.losses import LOSSES, SIM_POS
from mvkit.train import TrainConfig, fit
from mvkit.train.objectives import (
    C2KD,
    OBJECTIVES,
    CL2CMObjective,
    Contrastive,
    DCOTObjective,
    DualPath,
    LECCRObjective,
    NRCCRObjective,
    PartialOrderObjective,
    Probes,
    create_objective,
    objective_names,
)

FAST = {"batch_size": 16, "lr": 3e-3, "bootstrap": 0, "epochs": 2, "model_overrides": {"embed_dim": 8},
        "langs": ["en", "de"]}


def test_names_resolve_to_their_objectives():
    assert isinstance(create_objective("nrccr"), NRCCRObjective)
    assert isinstance(create_objective("LECCR", {"weight": 0.5}), LECCRObjective)
    assert isinstance(create_objective("cl2cm"), CL2CMObjective)
    assert isinstance(create_objective("c2kd"), C2KD)
    assert isinstance(create_objective("partial-order"), PartialOrderObjective)
    assert create_objective("partial_order_ot").describe()["loss_kwargs"]["ot"] is True
    dcot = create_objective("DCOT", epochs=7)
    assert isinstance(dcot, DCOTObjective) and dcot.loss.curriculum_epochs == 7
    assert create_objective("dcot", {"epochs": 3}, epochs=7).loss.curriculum_epochs == 3
    # a (sim, pos) loss is wrapped, and on the dual path becomes MKTVR's L_E + L_M
    plain, dual = create_objective("vse++"), create_objective("vse++", dual=True)
    assert type(plain) is Contrastive and type(dual) is DualPath and plain.loss.max_violation


def test_registry_is_complete_on_import_and_consistent():
    # every loss either takes (sim, pos) or has an objective of the same name
    for name, entry in LOSSES.items():
        assert entry.inputs == SIM_POS or name in OBJECTIVES, name
    assert set(objective_names()) == set(OBJECTIVES) | {n for n, e in LOSSES.items() if e.inputs == SIM_POS}
    assert {"c2kd", "partial_order", "partial_order_ot", "nrccr", "dcot", "leccr", "cl2cm"} <= set(OBJECTIVES)


def test_unknown_names_and_losses_without_an_objective_are_refused():
    with pytest.raises(ValueError, match=r"unknown loss 'nope'; trainable names: .*partial_order_ot"):
        create_objective("nope")
    from mvkit.losses.base import RetrievalLoss, register_loss

    @register_loss("needs_more_test_only")
    class NeedsMore(RetrievalLoss):
        inputs = ("sim", "labels")

        def forward(self, sim, labels):
            return sim.sum()
    try:
        with pytest.raises(ValueError, match=r"takes \('sim', 'labels'\), not \(sim, pos\)"):
            create_objective("needs_more_test_only")
    finally:
        LOSSES.pop("needs_more_test_only")


def _probes(ds):
    rng = np.random.default_rng(1)
    caps, labels = [], []
    for v in ds.videos:
        for k, lab in enumerate((0, 1, 2)):
            caps.append(CaptionRecord(f"rudder:{v.video_id}#en#{k}", v.video_id, "en", "p"))
            labels.append(lab)
    return Probes(caps, labels, rng.normal(size=(len(caps), 12)).astype(np.float32))


@pytest.mark.parametrize("name", sorted(objective_names()))
def test_every_name_trains(world, name):
    """Each trainable name runs two epochs on the fake world: finite losses that change, and the
    objective the record describes is the one asked for (partial order gets explicit probes)."""
    ds, store = world
    objective = PartialOrderObjective(_probes(ds), ot=name.endswith("_ot")) if name.startswith("partial") else None
    torch.manual_seed(0)
    rec = fit(TrainConfig(loss=name, **FAST), dataset=ds, store=store, objective=objective)
    losses = [h["loss"] for h in rec.selection["history"]]
    assert all(np.isfinite(losses)) and losses[0] != losses[1]
    desc = rec.objective
    want = {"contrastive": "contrastive", "partial_order": "partial-order", "partial_order_ot": "partial-order"}
    assert desc["objective"] == want.get(name, name) if name in OBJECTIVES else desc["loss"] == name
