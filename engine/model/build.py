"""The build driver: every component in registry order, then the bus balance and the policy.

Order matters only in that the balance and the policy close what the components declared
(bus injections, fossil energy, variable facility load), and that ``after_balance`` hooks
(the feeder limits) read the balance's unserved-energy variables.
"""
from __future__ import annotations

from engine.model import balance, policy
from engine.model.data import ScenarioData
from engine.model.formulation import Formulation

__all__ = ["build"]


def build(data: ScenarioData) -> Formulation:
    """Build the whole model of a prepared scenario.

    Parameters
    ----------
    data : ScenarioData
        From :func:`engine.model.data.prepare`; its ``components`` are the scenario
        schema's (:data:`engine.components.COMPONENTS` unless the user's schema adds more).

    Returns
    -------
    Formulation
        The model (``f.model``), the data and each component's ``meta``.
    """
    f = Formulation(data)
    for c in data.components:
        if c.add is not None:
            c.add(f)
    balance.add(f)
    for c in data.components:
        if c.after_balance is not None:
            c.after_balance(f)
    policy.add(f)
    return f
