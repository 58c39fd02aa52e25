"""The scenario data model: the container, sites, the time axis, series and file I/O.

* :mod:`engine.scenario.base`: the validated base model, numeric field types, errors;
* :mod:`engine.scenario.series`: time-series fields;
* :mod:`engine.scenario.io`: file forms of series and tables (CSV, daily/weekly profiles);
* :mod:`engine.scenario.site`: weather and the site (its asset fields come from the
  components);
* :mod:`engine.scenario.container`: ``Scenario``, ``Policy``, :func:`make_schema`,
  :func:`load_scenario`.

Component input models (``PV``, ``Battery``, ``Grid``, ...) live with their components in
:mod:`engine.components` and are re-exported here. Names are resolved on first use, so
that components can import the base modules of this package without a cycle.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr

_LAZY = {
    "Scenario": "engine.scenario.container",
    "ScenarioBase": "engine.scenario.container",
    "Site": "engine.scenario.container",
    "Policy": "engine.scenario.container",
    "load_scenario": "engine.scenario.container",
    "make_schema": "engine.scenario.container",
    "Weather": "engine.scenario.site",
    "PV": "engine.components.pv",
    "Wind": "engine.components.wind",
    "Hydro": "engine.components.hydro",
    "Battery": "engine.components.battery",
    "Grid": "engine.components.grid",
    "Cooling": "engine.components.datacenter",
    "DataCenter": "engine.components.datacenter",
    "Job": "engine.components.jobs",
    "Outages": "engine.components.outages",
    "SiteNetwork": "engine.components.network",
    "_read_csv": "engine.scenario.io",
}

__all__ = ["PV", "Battery", "Cooling", "DataCenter", "Grid", "Hydro", "Job", "Outages", "Policy",
           "Scenario", "ScenarioBase", "Site", "SiteNetwork", "Weather", "Wind",
           "load_scenario", "make_schema"]

if TYPE_CHECKING:  # pragma: no cover
    from engine.components.battery import Battery
    from engine.components.datacenter import Cooling, DataCenter
    from engine.components.grid import Grid
    from engine.components.hydro import Hydro
    from engine.components.jobs import Job
    from engine.components.network import SiteNetwork
    from engine.components.outages import Outages
    from engine.components.pv import PV
    from engine.components.wind import Wind
    from engine.scenario.container import (
        Policy,
        Scenario,
        ScenarioBase,
        Site,
        load_scenario,
        make_schema,
    )
    from engine.scenario.site import Weather

__getattr__ = lazy_getattr('engine.scenario', _LAZY, globals())



def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
