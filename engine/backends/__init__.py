"""Solver backends: the same backend-neutral model, the same optimum.

* ``highs`` (default): hands the arrays to highspy in bulk.
* ``pyomo``: builds a named Pyomo model (one indexed Var and one indexed Constraint per
  group) and solves it with HiGHS through Pyomo's persistent HiGHS interface; a user's
  ``model_hook(pyomo_model, components)`` may add variables and constraints first.

Only this package imports highspy or Pyomo.
"""
from __future__ import annotations

from collections.abc import Callable

from engine.backends.base import SolveOutput, SolverOptions
from engine.model import LinearModel, ModelArrays

__all__ = ["BACKENDS", "MIP_STARTS", "SolveOutput", "SolverOptions", "solve"]

BACKENDS = ("highs", "pyomo")
#: Accepted values of ``SolverOptions.mip_start``.
MIP_STARTS = ("auto", "lp", "none")


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
