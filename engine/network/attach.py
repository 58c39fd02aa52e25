"""A site's assets on the buses of its feeder, and the bus demand of a dispatch.

A site with a ``network`` block (``engine.scenario.SiteNetwork``) has its assets on
buses of a MATPOWER case. :func:`load_site_network` reads the case with the block's
modifications; :func:`attach` maps the assets to bus positions; :func:`bus_demand` builds,
from the hourly dispatch, the demand of every bus and hour (MW and MVAr, positive for
consumption):

* the case's own loads (``Pd``, ``Qd`` after ``scale_load``), constant in time, if
  ``background_load`` is kept;
* the data center: facility power minus unserved energy, at ``datacenter_bus``;
* batteries: charge minus discharge, at their ``battery_bus``;
* PV, wind, hydro: minus their output, at their buses;

and reactive demand ``q = p tan(arccos(pf))`` per asset with the asset kind's power
factor (0.95 lagging for the data center, 1.0 for the others by default). The grid is the
case's slack bus (or buses): it supplies whatever the feeder needs, losses included.

Nothing here imports pandas, the scenario or the results: a site is anything with
``name`` and ``network``, a spec anything with the ``SiteNetwork`` fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import ScenarioError
from engine.network.matpower import Network, NetworkError, read_matpower
from kernels.powerflow._idx import BR_R, BR_X, PD, QD, RATE_A

if TYPE_CHECKING:
    import pandas as pd

    from engine.scenario import Site, SiteNetwork

__all__ = ["Attachment", "attach", "bus_demand", "load_site_network"]


_SITE_NETWORKS: dict[tuple, Network] = {}


def load_site_network(spec: SiteNetwork) -> Network:
    """The network a scenario's ``sites[i].network`` block describes.

    Reads ``spec.case`` and applies the block's modifications: branch R and X times
    ``scale_impedance``; the case's own loads times ``scale_load`` (or removed when
    ``background_load`` is false); ``RATE_A = default_rating_mva`` where the case gives 0.
    Cached per (file, modification time, modifications), so validation, formulation and
    the AC check share one network and its compiled solvers.

    Raises
    ------
    NetworkError
        If the case cannot be read or parsed.
    """
    path = Path(spec.case).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise NetworkError(f"path: cannot read MATPOWER case {str(path)!r}: {exc}") from exc
    scale_load = spec.scale_load if spec.background_load else 0.0
    key = (str(path), mtime, scale_load, spec.scale_impedance, spec.default_rating_mva)
    if key not in _SITE_NETWORKS:
        base = read_matpower(path)
        bus = base.bus.copy()
        bus[:, [PD, QD]] *= scale_load
        branch = base.branch.copy()
        branch[:, [BR_R, BR_X]] *= spec.scale_impedance
        notes = list(base.conversions)
        if scale_load != 1.0:
            notes.append(f"bus Pd, Qd x {scale_load:g} (scenario)")
        if spec.scale_impedance != 1.0:
            notes.append(f"branch R, X x {spec.scale_impedance:g} (scenario)")
        if spec.default_rating_mva is not None:
            unrated = branch[:, RATE_A] <= 0
            branch[unrated, RATE_A] = spec.default_rating_mva
            notes.append(f"RATE_A = {spec.default_rating_mva:g} MVA on {int(unrated.sum())} "
                         "unrated branches (scenario)")
        _SITE_NETWORKS[key] = Network(name=base.name, base_mva=base.base_mva, bus=bus,
                                      gen=base.gen, branch=branch, conversions=tuple(notes))
    return _SITE_NETWORKS[key]


def _tan(pf: float) -> float:
    """``tan(arccos(pf))``: reactive per active power at power factor ``pf``."""
    return float(np.sqrt(1.0 - pf * pf) / pf)


@dataclass(frozen=True)
class Attachment:
    """A site's assets on the buses of its network.

    Attributes
    ----------
    network : Network
        The case after the scenario's modifications (:func:`load_site_network`).
    site : str
        Site name.
    spec : SiteNetwork
        The site's ``network`` block.
    terms : list of (column, bus position, sign, tan_phi)
        Each hourly-table column that moves demand at a bus: demand changes by
        ``sign * column`` [MW] and reactive demand by ``sign * column * tan_phi`` [MVAr].
    dc_bus : int or None
        Position of the data center's bus.
    dc_tan_phi : float
        Reactive per active power of the facility load.
    vmin_pu, vmax_pu : ndarray (nb,)
        Voltage limits per bus [pu] (open at the slacks).
    """

    network: Network
    site: str
    spec: SiteNetwork
    terms: list[tuple[str, int, float, float]]
    dc_bus: int | None
    dc_tan_phi: float
    vmin_pu: np.ndarray
    vmax_pu: np.ndarray

    @property
    def background_p_mw(self) -> np.ndarray:
        """The case's own (scaled) active demand per bus [MW]."""
        return self.network.bus[:, PD]

    @property
    def background_q_mvar(self) -> np.ndarray:
        """The case's own (scaled) reactive demand per bus [MVAr]."""
        return self.network.bus[:, QD]


def attach(site: Site, vmin_pu: float | None = None, vmax_pu: float | None = None) -> Attachment:
    """The :class:`Attachment` of a site with a ``network`` block.

    Parameters
    ----------
    site : Site
    vmin_pu, vmax_pu : float, optional
        Override the voltage limits of the scenario (or, failing that, the case).
    """
    spec = site.network
    if spec is None:
        raise ScenarioError(f"sites[{site.name!r}].network: the site has no network block")
    net = load_site_network(spec)
    pos = net.bus_position
    terms: list[tuple[str, int, float, float]] = []
    for kind, mapping, pf in (("pv", spec.pv_bus, spec.pv_power_factor),
                              ("wind", spec.wind_bus, spec.wind_power_factor),
                              ("hydro", spec.hydro_bus, spec.hydro_power_factor)):
        for name, bus in mapping.items():
            terms.append((f"{kind}.{name}/power_mw", pos(bus), -1.0, _tan(pf)))
    tb = _tan(spec.battery_power_factor)
    for name, bus in spec.battery_bus.items():
        terms.append((f"battery.{name}/charge_mw", pos(bus), 1.0, tb))
        terms.append((f"battery.{name}/discharge_mw", pos(bus), -1.0, tb))
    dc_bus = None
    tdc = _tan(spec.datacenter_power_factor)
    if spec.datacenter_bus is not None:
        dc_bus = pos(spec.datacenter_bus)
        terms.append((f"datacenter.{site.name}/facility_mw", dc_bus, 1.0, tdc))
        # unserved energy is facility load that was not supplied, so not drawn either
        terms.append((f"bus.{site.name}/unserved_mw", dc_bus, -1.0, tdc))
    lo, hi = net.voltage_limits(spec.vmin_pu if vmin_pu is None else vmin_pu,
                                spec.vmax_pu if vmax_pu is None else vmax_pu)
    return Attachment(network=net, site=site.name, spec=spec, terms=terms, dc_bus=dc_bus,
                      dc_tan_phi=tdc, vmin_pu=lo, vmax_pu=hi)


def bus_demand(hourly: pd.DataFrame, att: Attachment) -> tuple[np.ndarray, np.ndarray]:
    """Demand per hour and bus from a dispatch.

    Parameters
    ----------
    hourly : pandas.DataFrame
        :attr:`Result.hourly` of the solved scenario.
    att : Attachment

    Returns
    -------
    p_mw, q_mvar : ndarray (T, nb)
        Active [MW] and reactive [MVAr] demand, positive for consumption, background
        loads included; what :func:`run_powerflow_timeseries` takes.
    """
    T, nb = len(hourly), att.network.n_bus
    missing = [c for c, *_ in att.terms if c not in hourly.columns]
    if missing:
        raise ScenarioError(f"network: the result has no column {missing[0]!r}; was it solved "
                            f"from a scenario with site {att.site!r}?")
    cols = [c for c, *_ in att.terms]
    x = hourly[cols].to_numpy(dtype=np.float64)  # (T, n_terms)
    bus = np.array([b for _, b, _, _ in att.terms], dtype=np.int64)
    sign = np.array([s for _, _, s, _ in att.terms])
    tanp = np.array([t for *_, t in att.terms])
    # scatter the terms onto their buses with one matrix product: (T, n) @ (n, nb)
    to_bus = np.zeros((len(cols), nb))
    to_bus[np.arange(len(cols)), bus] = 1.0
    p = att.background_p_mw[None, :] + (x * sign) @ to_bus
    q = att.background_q_mvar[None, :] + (x * (sign * tanp)) @ to_bus
    return p + np.zeros((T, nb)), q + np.zeros((T, nb))
