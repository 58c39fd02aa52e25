"""What every backend takes and returns: solver options and the outcome of a solve."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.status import Status

__all__ = ["SolveOutput", "SolverOptions"]


@dataclass
class SolveOutput:
    """What a backend returns."""

    status: Status
    x: np.ndarray | None
    objective: float
    mip_gap: float = 0.0
    #: The MILP's LP relaxation objective, where the backend solved it (``mip_start``
    #: ``"lp"``/``"auto"`` on highs); NaN otherwise.
    lp_relaxation: float = float("nan")
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
    mip_start : {"auto", "lp", "none"}
        ``"auto"`` (default) is ``"lp"``; ``"none"`` runs branch and bound directly.
        ``"lp"`` (``highs`` backend, MILPs only): solve the LP relaxation first; when every
        integer column of its solution is integral it is the MILP's optimum (status
        optimal, gap 0) and branch and bound is skipped, otherwise the MILP runs from the
        relaxation's integer columns rounded, given to HiGHS as a partial MIP start
        (``Highs.setSolution``; HiGHS completes or rejects it), in what is left of the time
        limit.
    pyomo_interface : {"standard_form", "persistent"}
        How the ``pyomo`` backend reaches HiGHS: Pyomo's standard-form compiler then highspy
        in bulk (fast, default), or Pyomo's persistent HiGHS interface.
    fixed_start : (cols, values), optional
        ``highs`` backend, LPs only: solve first with these columns fixed at these values
        (e.g. capacities chosen on representative days), then free them and solve again
        from that optimal basis. The optimum is the LP's own; only the path to it changes
        (:func:`engine.backends.warm.fix_then_free`). Other backends solve directly.
    block_start : {"auto", "off", "primal", "dual", "tree"}
        ``highs`` backend, LPs of sites coupled by placed jobs: solve each site with every
        job pinned to its home site (separate models in threads), put their optimal bases
        together and run the primal or dual simplex on the whole LP from there
        (:mod:`engine.backends.block_start`; ``"tree"`` merges the sites in pairs, fours,
        ... first). ``"auto"`` (default) is ``"dual"``, unless ``highs_options`` names a
        ``solver`` (then the whole LP goes to that solver); ``"off"`` solves the whole LP
        at once. The optimum is the same.
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-4
    threads: int | None = None
    highs_options: dict[str, Any] = field(default_factory=dict)
    log: bool = False
    pyomo_interface: str = "standard_form"
    mip_start: str = "auto"
    fixed_start: tuple[np.ndarray, np.ndarray] | None = None
    block_start: str = "auto"
