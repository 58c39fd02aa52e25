"""wattbit: an energy-to-compute optimization engine.

>>> import engine
>>> sc = engine.load_scenario("examples/xining_park.yaml")   # doctest: +SKIP
>>> res = engine.optimize(sc)                                # doctest: +SKIP
>>> res.kpis["green_share"]                                  # doctest: +SKIP

Heavy dependencies (pandas, pydantic, pyomo, pvlib, matplotlib) are imported only when
the name that needs them is first used, so ``import engine`` stays light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr
from engine.errors import ScenarioError, SolverError

__version__ = "0.1.0"

_LAZY = {
    "Scenario": "engine.scenario",
    "load_scenario": "engine.scenario",
    "optimize": "engine.api",
    "export_lp": "engine.api",
    "build_model": "engine.api",
    "Result": "engine.results",
    "Status": "engine.results",
    "check_network": "engine.network",
    "NetworkCheck": "engine.network",
    "rolling_optimize": "engine.operations",
    "RollingResult": "engine.operations",
}

__all__ = [  # noqa: RUF022  (grouped: errors, then the lazily imported names)
    "ScenarioError",
    "SolverError",
    "Scenario",
    "load_scenario",
    "optimize",
    "export_lp",
    "build_model",
    "Result",
    "Status",
    "check_network",
    "NetworkCheck",
    "rolling_optimize",
    "RollingResult",
]

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import build_model, export_lp, optimize
    from engine.network import NetworkCheck, check_network
    from engine.operations import RollingResult, rolling_optimize
    from engine.results import Result, Status
    from engine.scenario import Scenario, load_scenario

__getattr__ = lazy_getattr('engine', _LAZY, globals())

