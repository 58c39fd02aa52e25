"""Feeder limits in the LP: LinDistFlow voltages and branch flows of a radial network.

For a site whose ``network.constraints`` is ``"lindistflow"``, with squared voltages
``v = |V|^2`` [pu^2], LinDistFlow (Baran & Wu 1989, losses dropped; sensitivities of
:func:`kernels.powerflow.lindistflow` around the no-load point, slack at its set point)::

    v[i, t] = v0 + sum_j (R[i, j] p[j, t] + X[i, j] q[j, t]) / base_mva

with ``p``, ``q`` the net injections [MW], [MVAr] (generation minus demand). The
injection at each asset bus ``k`` is an auxiliary variable tied to the dispatch::

    p_inj[k, t] = sum over assets at k of (+pv +wind +hydro +dis -ch +unserved
                                           - PUE[t] flex_jobs)
    q_inj[k, t] = the same terms, each times tan(arccos(pf)) of its asset kind

and the constant parts (the case's background loads, the data center's fixed facility
load ``PUE * inflexible IT``) go to the right-hand sides. For every non-slack bus::

    vmin^2 + m_lo[i, t] <= v[i, t] <= vmax^2 - m_hi[i, t]

For every branch with a rating ``r`` [MVA], the lossless flow into the subtree below it,
``P = sum of demand below``, ``Q`` likewise, is kept inside the regular octagon inscribed
in the circle ``P^2 + Q^2 <= (r - m_b[b, t])^2`` (8 rows; conservative by at most
``1 - cos(pi/8)``, 7.6 %)::

    cos(a_m) P + sin(a_m) Q <= (r - m_b[b, t]) cos(pi/8),   a_m = m pi / 4, m = 0..7

The margins ``m_lo``, ``m_hi`` [pu^2] and ``m_b`` [MVA] are 0 on a first solve. The rounds of
:func:`engine.optimize` (``network_rounds``) set them from the AC check: the margins are
the largest error of LinDistFlow against the AC power flow seen so far at each bus and
hour (for branches: AC apparent power minus the lossless flow). They also add the
site's share of the AC losses (AC losses with the site minus those of the background
loads alone) to the site's demand through :func:`add_losses`.

A component like the others: it reads the dispatch variables the other components
registered (by group name and ``f.meta``) and imports none of them.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.model.linear import grouped
from engine.scenario.base import Bool, Integer, Model, NonNeg, Positive, PowerFactor

__all__ = ["COMPONENT", "SiteNetwork"]


class SiteNetwork(Model):
    """Where a site's assets sit on a feeder, for the AC check and LinDistFlow limits.

    The site's grid connection is the case's slack bus: grid import and export are what
    the slack supplies or absorbs. Every other asset is attached to a bus by its external
    MATPOWER bus number (``BUS_I``).

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
            raise ValueError(f"network.constraints: 'lindistflow' needs a radial feeder: {exc}") \
                from None


def check(scenario: Any) -> None:
    for i, site in enumerate(scenario.sites):
        if site.network is not None:
            try:
                _check_site_network(site)
            except ValueError as exc:
                raise ValueError(f"sites[{i}].{exc}") from None


#: Octagon directions for the branch-flow limits.
_ANGLES = np.arange(8) * np.pi / 4


def _sites(f: Formulation) -> list[int]:
    return [s for s, sd in enumerate(f.data.sites)
            if sd.site.network is not None and sd.site.network.constraints == "lindistflow"]


def add_losses(f: Formulation) -> None:
    """Withdraw the AC losses of an earlier round at each site's bus balance (fixed MW).

    Runs before the balance closes; a no-op on a first solve.
    """
    sites = [s for s, adj in sorted(f.data.network_adjust.items()) if "losses_mw" in adj]
    if not sites:
        return
    losses = np.array([f.data.network_adjust[s]["losses_mw"] for s in sites])  # (n, T)
    var = f.model.add_variables("network/losses_mw", losses.shape, lb=losses, ub=losses)
    f.inject(var.idx, np.array(sites, dtype=np.int64), -1.0)
    f.meta["network_losses"] = {"site": np.array(sites, dtype=np.int64)}


def add(f: Formulation) -> None:
    """LinDistFlow voltage and branch limits for every site that asks for them."""
    for s in _sites(f):
        _add_site(f, s)


def _dispatch_entries(f: Formulation, s: int, att) -> list[tuple[np.ndarray, np.ndarray, int,
                                                                 np.ndarray, float]]:
    """(cols, t_of, bus position, coefficient of the injection, tan_phi) per asset of site s.

    ``cols`` and ``t_of`` are flat and aligned; coefficients may vary per entry (jobs).
    """
    T = f.T
    spec = att.spec
    net = att.network
    vg = f.model.var_groups
    tan = {k: float(np.sqrt(1 - pf * pf) / pf) for k, pf in (
        ("pv", spec.pv_power_factor), ("wind", spec.wind_power_factor),
        ("hydro", spec.hydro_power_factor), ("battery", spec.battery_power_factor))}
    hours = np.arange(T)
    out = []
    for kind, mapping in (("pv", spec.pv_bus), ("wind", spec.wind_bus), ("hydro", spec.hydro_bus)):
        meta = f.meta.get(kind)
        if meta is None:
            continue
        idx = vg[f"{kind}/power_mw"].idx
        for i, name in enumerate(meta["names"]):
            if meta["site"][i] == s:
                out.append((idx[i], hours, net.bus_position(mapping[name]), np.ones(T), tan[kind]))
    meta = f.meta.get("battery")
    if meta is not None:
        ch, dis = vg["battery/charge_mw"].idx, vg["battery/discharge_mw"].idx
        for i, name in enumerate(meta["names"]):
            if meta["site"][i] == s:
                b = net.bus_position(spec.battery_bus[name])
                out.append((dis[i], hours, b, np.ones(T), tan["battery"]))
                out.append((ch[i], hours, b, -np.ones(T), tan["battery"]))
    if att.dc_bus is not None:
        out.append((vg["bus/unserved_mw"].idx[s], hours, att.dc_bus, np.ones(T), att.dc_tan_phi))
        meta = f.meta.get("job")
        if meta is not None:
            sel = meta["site"] == s
            out.append((vg["job/power_mw"].idx[sel], meta["t_of"][sel], att.dc_bus,
                        -meta["pue"][sel], att.dc_tan_phi))
    return out


def _add_site(f: Formulation, s: int) -> None:
    from engine.netcheck import _below, _sensitivities, attach

    T = f.T
    sd = f.data.sites[s]
    att = attach(sd.site)
    net = att.network
    nb, base = net.n_bus, net.base_mva
    v0, R, X = _sensitivities(net)
    adj = f.data.network_adjust.get(s, {})

    entries = _dispatch_entries(f, s, att)
    buses = np.unique([e[2] for e in entries]).astype(np.int64)
    K = buses.size
    kpos = {int(b): k for k, b in enumerate(buses)}
    name = f"network.{sd.site.name}"
    p_inj = f.model.add_variables(f"{name}/p_inj_mw", (K, T), lb=-np.inf)
    q_inj = f.model.add_variables(f"{name}/q_inj_mvar", (K, T), lb=-np.inf)
    # p_inj[k, t] - sum(coef x) = 0, one row per (bus, hour); same for q with tan_phi
    rows = np.concatenate([kpos[b] * T + t for _, t, b, _, _ in entries])
    cols = np.concatenate([c for c, *_ in entries])
    coef = np.concatenate([c for _, _, _, c, _ in entries])
    tanp = np.concatenate([np.full(len(c), tp) for c, _, _, _, tp in entries])
    gc, gv = grouped(rows, K * T, cols, coef)
    f.model.add_constraints(f"{name}/p_inj", (K, T), [(p_inj.idx, 1.0),
                                                       (gc.reshape(K, T, -1), -gv.reshape(K, T, -1))],
                            lb=0.0, ub=0.0)
    gc, gv = grouped(rows, K * T, cols, coef * tanp)
    f.model.add_constraints(f"{name}/q_inj", (K, T), [(q_inj.idx, 1.0),
                                                       (gc.reshape(K, T, -1), -gv.reshape(K, T, -1))],
                            lb=0.0, ub=0.0)

    # constant demand per bus and hour [MW], [MVAr]: background + fixed facility load
    p_const = np.broadcast_to(att.background_p_mw[:, None], (nb, T)).copy()
    q_const = np.broadcast_to(att.background_q_mvar[:, None], (nb, T)).copy()
    if att.dc_bus is not None:
        fixed = sd.pue * sd.inflexible_it_mw
        p_const[att.dc_bus] += fixed
        q_const[att.dc_bus] += fixed * att.dc_tan_phi

    # voltages at every non-slack bus
    mon = np.setdiff1d(np.arange(nb), [net.slack])
    c_v = v0 - (R[mon] @ p_const + X[mon] @ q_const) / base  # (M, T)
    lo = att.vmin_pu[mon, None] ** 2 + adj.get("v_lo_margin", np.zeros((nb, T)))[mon] - c_v
    hi = att.vmax_pu[mon, None] ** 2 - adj.get("v_hi_margin", np.zeros((nb, T)))[mon] - c_v
    M = mon.size
    cols_v = np.concatenate([np.broadcast_to(p_inj.idx.T[None], (M, T, K)),
                             np.broadcast_to(q_inj.idx.T[None], (M, T, K))], axis=2)
    coef_v = np.concatenate([np.broadcast_to(R[np.ix_(mon, buses)][:, None, :] / base, (M, T, K)),
                             np.broadcast_to(X[np.ix_(mon, buses)][:, None, :] / base, (M, T, K))],
                            axis=2)
    f.model.add_constraints(f"{name}/voltage_sq", (M, T), [(cols_v, coef_v)], lb=lo, ub=hi)

    # branch flows, where ratings exist
    rating = net.branch_ratings_mva()
    feeder = net.feeder()
    child = feeder.order[1:]
    pbranch = feeder.parent_branch[child]
    rated = np.isfinite(rating[pbranch])
    meta = {"buses": buses, "monitored": mon, "branches": pbranch[rated]}
    if rated.any():
        child, pbranch = child[rated], pbranch[rated]
        below = _below(net)[child]  # (B, nb): bus j is below branch b
        Bn = child.size
        P_c = below @ p_const  # (B, T) constant demand below each branch
        Q_c = below @ q_const
        in_sub = below[:, buses]  # (B, K)
        margin = adj.get("line_margin_mva", np.zeros((rating.size, T)))[pbranch]  # (B, T)
        cos, sin = np.cos(_ANGLES), np.sin(_ANGLES)
        r = (rating[pbranch][:, None, None] - margin[:, None, :]) * np.cos(np.pi / 8)
        ub = r - cos[None, :, None] * P_c[:, None, :] - sin[None, :, None] * Q_c[:, None, :]
        # the variable part of P is -sum(p_inj below), of Q -sum(q_inj below)
        cols_l = np.concatenate([np.broadcast_to(p_inj.idx.T[None, None], (Bn, 8, T, K)),
                                 np.broadcast_to(q_inj.idx.T[None, None], (Bn, 8, T, K))], axis=3)
        coef_l = np.concatenate([
            np.broadcast_to(-cos[None, :, None, None] * in_sub[:, None, None, :], (Bn, 8, T, K)),
            np.broadcast_to(-sin[None, :, None, None] * in_sub[:, None, None, :], (Bn, 8, T, K)),
        ], axis=3)
        f.model.add_constraints(f"{name}/branch_flow", (Bn, 8, T), [(cols_l, coef_l)], ub=ub)
    f.meta.setdefault("network", {})[s] = meta


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
