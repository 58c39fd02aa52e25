"""A site's feeder: where its assets sit on a MATPOWER case, and the feeder limits in the LP.

With ``network.constraints: lindistflow`` the LP keeps, for every non-slack bus ``i`` and
hour ``t`` (squared voltages, LinDistFlow; :mod:`engine.network.lindistflow` has the full
statement, branch-flow octagons included)::

    vmin^2 + m_lo[i, t] <= v0 + sum_j (R[i, j] p[j, t] + X[i, j] q[j, t]) / base_mva
                        <= vmax^2 - m_hi[i, t]

where ``p``, ``q`` are the buses' net injections from the dispatch. After the balance
closes, the AC losses of earlier network rounds are withdrawn at the site's bus
(``network/losses_mw``, fixed MW). The AC check of a dispatch and the rounds live in
:mod:`engine.network`; this module holds the inputs and registers the equations.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.network.lindistflow import add, add_losses
from engine.scenario.base import Bool, Integer, Model, NonNeg, Positive, PowerFactor

__all__ = ["COMPONENT", "SiteNetwork"]


class SiteNetwork(Model):
    """Where a site's assets sit on a feeder, for the AC check and LinDistFlow limits.

    The site's grid connection is the case's slack bus: grid import and export are what
    the slack supplies or absorbs. A case may have several slack buses (``BUS_TYPE`` 3),
    each at its own voltage set point: the AC check reports each one's P and Q, and the
    site's grid import in its energy balance is the sum of the slacks' injections
    (``constraints: lindistflow`` needs a single slack). Every other asset is attached to a
    bus by its external MATPOWER bus number (``BUS_I``).

    Attributes
    ----------
    case : str
        MATPOWER ``.m`` file; a relative path is relative to the scenario file (like CSV
        series paths).
    datacenter_bus : int, optional
        Bus of the data center's facility load (required if the site has a data center).
    pv_bus, wind_bus, hydro_bus, battery_bus : dict of str to int
        Bus of each plant or battery, by asset name; every asset of the site must be listed.
    background_load : bool
        Keep the case's own loads (``Pd``, ``Qd``) as constant background demand of other
        customers on the feeder. They load the feeder but are not part of the site's
        energy balance or bill (the slack serves them).
    scale_load : float
        Factor applied to the case's own loads [-].
    scale_impedance : float
        Factor applied to every branch's R and X [-]: models a weaker (> 1) or stiffer
        (< 1) feeder than the case, e.g. a longer line to the park.
    datacenter_power_factor : float
        Power factor of the facility load, lagging: it draws ``Q = P tan(arccos(pf))``.
    pv_power_factor, wind_power_factor, battery_power_factor, hydro_power_factor : float
        Power factor of each kind of asset. Every asset's reactive demand follows its active
        demand, ``q = p tan(arccos(pf))`` in the load convention, so a generator below 1.0
        injects reactive power along with its active power. Default 1.0 (no reactive power).
    vmin_pu, vmax_pu : float, optional
        Voltage limits at every non-slack bus [pu]; default the case's ``VMIN``/``VMAX``.
    default_rating_mva : float, optional
        Rating of branches whose ``RATE_A`` is 0 (MATPOWER's "unlimited") [MVA]; by default
        they stay unlimited.
    constraints : {"none", "lindistflow"}
        ``"lindistflow"`` adds linearised voltage (and rated-line) limits to the LP; the
        feeder must then be radial.
    """

    case: str
    datacenter_bus: Integer | None = None
    pv_bus: dict[str, Integer] = Field(default_factory=dict)
    wind_bus: dict[str, Integer] = Field(default_factory=dict)
    hydro_bus: dict[str, Integer] = Field(default_factory=dict)
    battery_bus: dict[str, Integer] = Field(default_factory=dict)
    background_load: Bool = True
    scale_load: NonNeg = 1.0
    scale_impedance: Positive = 1.0
    datacenter_power_factor: PowerFactor = 0.95
    pv_power_factor: PowerFactor = 1.0
    wind_power_factor: PowerFactor = 1.0
    battery_power_factor: PowerFactor = 1.0
    hydro_power_factor: PowerFactor = 1.0
    vmin_pu: Positive | None = None
    vmax_pu: Positive | None = None
    default_rating_mva: Positive | None = None
    constraints: Literal["none", "lindistflow"] = "none"

    @model_validator(mode="after")
    def _check(self) -> SiteNetwork:
        if self.vmin_pu is not None and self.vmax_pu is not None and self.vmin_pu >= self.vmax_pu:
            raise ValueError(f"vmin_pu: must be < vmax_pu={self.vmax_pu}, got {self.vmin_pu}")
        return self


def _check_site_network(site: Any) -> None:
    """Every asset mapped to a bus that exists in the case; the case readable (and radial
    when LinDistFlow limits are asked for)."""
    from engine.network import NetworkError, load_site_network

    net = site.network
    assert net is not None
    try:
        network = load_site_network(net)
    except NetworkError as exc:
        why = str(exc).removeprefix("path: ")
        raise ValueError(f"network.case: {why}, got {net.case!r}") from None
    numbers = set(network.bus_numbers.tolist())
    for field_name, kind, assets in (("pv_bus", "PV plant", site.pv), ("wind_bus", "wind farm", site.wind),
                                     ("hydro_bus", "hydro unit", site.hydro),
                                     ("battery_bus", "battery", site.batteries)):
        mapping = getattr(net, field_name)
        names = [a.name for a in assets]
        unknown = [n for n in mapping if n not in names]
        if unknown:
            raise ValueError(f"network.{field_name}: {unknown[0]!r} is not a {kind} of this site; "
                             f"its {kind}s are {names}")
        missing = [n for n in names if n not in mapping]
        if missing:
            raise ValueError(f"network.{field_name}: no bus given for {kind} {missing[0]!r}")
        for name, bus in mapping.items():
            if bus not in numbers:
                raise ValueError(f"network.{field_name}.{name}: bus {bus} is not in case "
                                 f"{network.name!r} (buses {min(numbers)}..{max(numbers)})")
    if site.datacenter is not None and net.datacenter_bus is None:
        raise ValueError("network.datacenter_bus: required, because the site has a datacenter")
    if net.datacenter_bus is not None:
        if site.datacenter is None:
            raise ValueError(f"network.datacenter_bus: given ({net.datacenter_bus}) but the site "
                             "has no datacenter")
        if net.datacenter_bus not in numbers:
            raise ValueError(f"network.datacenter_bus: bus {net.datacenter_bus} is not in case "
                             f"{network.name!r} (buses {min(numbers)}..{max(numbers)})")
    if net.vmin_pu is None or net.vmax_pu is None:
        lo, hi = network.voltage_limits(net.vmin_pu, net.vmax_pu)
        if np.any(lo >= hi):
            raise ValueError(f"network.vmin_pu: case {network.name!r} gives no usable voltage "
                             "limits (VMIN >= VMAX at a non-slack bus); set vmin_pu and vmax_pu")
    if net.constraints == "lindistflow":
        try:
            network.feeder()
        except NetworkError as exc:
            raise ValueError(f"network.constraints: 'lindistflow' needs a radial feeder with a "
                             f"single slack bus: {exc}") \
                from None


def check(scenario: Any) -> None:
    for i, site in enumerate(scenario.sites):
        if site.network is not None:
            try:
                _check_site_network(site)
            except ValueError as exc:
                raise ValueError(f"sites[{i}].{exc}") from None


def extract(r: Extraction) -> None:
    meta = r.f.meta.get("network_losses")
    if meta is None:
        return
    losses = r.val("network/losses_mw")
    for i, s in enumerate(meta["site"]):
        r.columns[f"network.{r.site_names[s]}/losses_mw"] = losses[i]


COMPONENT = Component(
    name="network", field="network", schema=SiteNetwork | None, default=None, check=check,
    add=add_losses, after_balance=add, extract=extract,
)
