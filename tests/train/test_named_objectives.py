"""Objectives selectable by name from TrainConfig.loss / `mvkit train --loss`."""
from mvkit.train.objectives import Contrastive, default_objective
from mvkit.train.paper_objectives import (
    CL2CMObjective,
    DCOTObjective,
    LECCRObjective,
    NRCCRObjective,
)


def test_nrccr_and_dcot_resolve_by_name_and_dcot_gets_the_run_epochs():
    assert isinstance(default_objective("nrccr", None, dual=False), NRCCRObjective)
    dcot = default_objective("DCOT", {}, dual=False, epochs=7)
    assert isinstance(dcot, DCOTObjective) and dcot.loss.curriculum_epochs == 7
    assert default_objective("dcot", {"epochs": 3}, dual=False, epochs=7).loss.curriculum_epochs == 3
    assert isinstance(default_objective("vse++", None, dual=False), Contrastive)
    assert isinstance(default_objective("leccr", {"weight": 0.5}, dual=False), LECCRObjective)
    assert default_objective("cl2cm", None, dual=False).describe()["objective"] == "cl2cm"
    assert isinstance(default_objective("CL2CM", None, dual=False), CL2CMObjective)



def test_every_registered_loss_is_reachable_by_name():
    """`mvkit train --loss X` works for every loss in mvkit.losses (no silent gaps)."""
    from mvkit.losses import LOSSES

    described = {name: default_objective(name, None, dual=False).describe() for name in LOSSES}
    assert described["partial_order_ot"]["loss_kwargs"]["ot"] is True
    assert described["partial_order"]["loss_kwargs"]["ot"] is False
    assert described["weighted_rank"]["loss"] == "weighted_rank"
