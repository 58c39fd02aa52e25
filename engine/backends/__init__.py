"""Solver backends: the same backend-neutral model, the same optimum.

* ``highs`` (default): hands the arrays to highspy in bulk.
* ``pyomo``: builds a named Pyomo model (one indexed Var and one indexed Constraint per
  group) and solves it with HiGHS through Pyomo's persistent HiGHS interface; a user's
  ``model_hook(pyomo_model, components)`` may add variables and constraints first.

Only this package imports highspy or Pyomo.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.model import LinearModel, ModelArrays
from engine.status import Status

BACKENDS = ("highs", "pyomo")


@dataclass
class SolveOutput:
    """What a backend returns."""

    status: Status
    x: np.ndarray | None
    objective: float
    mip_gap: float = 0.0
    solver_status: str = ""
    iterations: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: str = ""


@dataclass
class SolverOptions:
    """Solver settings common to every backend.

    Attributes
    ----------
    time_limit_s : float, optional
        Wall-clock limit; the best solution found is returned with status ``time_limit``.
    mip_rel_gap : float
        Relative MIP gap at which branch and bound stops.
    threads : int, optional
        Solver threads (HiGHS default when None).
    highs_options : dict
        Further HiGHS options by name (e.g. ``{"solver": "ipm"}``).
    log : bool
        Send the solver's log to the ``engine.backends`` logger at INFO level.
    pyomo_interface : {"standard_form", "persistent"}
        How the ``pyomo`` backend reaches HiGHS: Pyomo's standard-form compiler then highspy
        in bulk (fast, default), or Pyomo's persistent HiGHS interface.
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-4
    threads: int | None = None
    highs_options: dict[str, Any] = field(default_factory=dict)
    log: bool = False
    pyomo_interface: str = "standard_form"


def solve(
    model: LinearModel,
    arrays: ModelArrays | None = None,
    backend: str = "highs",
    options: SolverOptions | None = None,
    model_hook: Callable[..., None] | None = None,
    *,
    release_arrays: bool = False,
) -> SolveOutput:
    """Solve a model with the named backend.

    ``arrays`` defaults to ``model.arrays()``. ``release_arrays=True`` drops the model's
    arrays once the solver holds its own copy (lower peak memory while the solution is
    read and the results are built); the model's groups stay usable.
    """
    options = options or SolverOptions()
    if backend == "highs":
        if model_hook is not None:
            raise ValueError("model_hook needs backend='pyomo'")
        from engine.backends.highs import solve_highs

        # the arrays are not bound here, so that solve_highs can let them go
        return solve_highs(model, arrays, options, release_arrays=release_arrays)
    if backend == "pyomo":
        from engine.backends.pyomo import solve_pyomo

        out = solve_pyomo(model, model.arrays() if arrays is None else arrays, options,
                          model_hook)
        if release_arrays:
            model.release_arrays()
        return out
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
