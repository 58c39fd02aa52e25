"""The backend-neutral model and its build.

* :mod:`engine.model.linear`: variable and constraint groups as NumPy arrays
  (:class:`LinearModel`), expanded once into solver arrays (:class:`ModelArrays`).
* :mod:`engine.model.formulation`: the state components write into while the model is built.
* :mod:`engine.model.data`: the arrays derived from a scenario (each component prepares its own).
* :mod:`engine.model.build`: the build driver (components in registry order, the bus balance,
  the green-share policy).
"""
from __future__ import annotations

from engine.model.formulation import COST_TERMS, Formulation
from engine.model.linear import (
    CSC,
    ConGroup,
    Group,
    LinearModel,
    ModelArrays,
    VarGroup,
    grouped,
    prev_in_time,
)

__all__ = ["COST_TERMS", "CSC", "ConGroup", "Formulation", "Group", "LinearModel", "ModelArrays",
           "VarGroup", "grouped", "prev_in_time"]
