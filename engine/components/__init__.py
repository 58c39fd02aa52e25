"""The components: one module per component, registered in one list.

Each module holds its inputs (a pydantic model), the arrays it derives from them, its
equations (``add``) and its result columns and KPIs (``extract``), and ends with a
:class:`~engine.components.base.Component` record. :data:`COMPONENTS` lists them in build
order; the scenario schema (:mod:`engine.scenario`), the data preparation
(:mod:`engine.model.data`), the build (:mod:`engine.model.build`) and the results read it.
A new component is one new module and one entry here -- or, without touching the engine,
an entry in a user's own schema (:func:`engine.scenario.make_schema`).
"""
from __future__ import annotations

from engine.components import (
    battery,
    datacenter,
    demand_response,
    ev,
    finance,
    genset,
    grid,
    hydro,
    jobs,
    links,
    network,
    outages,
    periods,
    placement,
    pv,
    regions,
    shared_storage,
    tenants,
    wind,
)
from engine.components.base import Component, Extraction

__all__ = ["COMPONENTS", "Component", "Extraction"]

#: The built-in components, in build order (the feeder limits read every other
#: component's dispatch variables, so the network comes last).
COMPONENTS: tuple[Component, ...] = (
    pv.COMPONENT,
    wind.COMPONENT,
    hydro.COMPONENT,
    battery.COMPONENT,
    shared_storage.COMPONENT,
    grid.COMPONENT,
    genset.COMPONENT,
    jobs.COMPONENT,
    ev.COMPONENT,
    regions.COMPONENT,
    links.COMPONENT,
    tenants.COMPONENT,
    placement.COMPONENT,
    datacenter.COMPONENT,
    demand_response.COMPONENT,
    outages.COMPONENT,
    network.COMPONENT,
    finance.COMPONENT,
    periods.COMPONENT,
)
