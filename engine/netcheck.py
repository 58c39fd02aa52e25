"""The AC check of a solved dispatch on a site's feeder, and the LinDistFlow model of it.

A site with a ``network`` block (:class:`engine.scenario.SiteNetwork`) has its assets on
buses of a MATPOWER case. From the hourly dispatch this module builds the demand of
every bus and hour (MW and MVAr, positive for consumption):

* the case's own loads (``Pd``, ``Qd`` after ``scale_load``), constant in time, if
  ``background_load`` is kept;
* the data center: facility power minus unserved energy, at ``datacenter_bus``;
* batteries: charge minus discharge, at their ``battery_bus``;
* PV, wind, hydro: minus their output, at their buses;

and reactive demand ``q = p tan(arccos(pf))`` per asset with the asset kind's power
factor (0.95 lagging for the data center, 1.0 for the others by default). The grid is the
case's slack bus: it supplies whatever the feeder needs, losses included.

:func:`check_network` solves all hours at once with
:func:`engine.network.run_powerflow_timeseries` and reports voltages, branch loadings and
losses, and every violation of the voltage limits and branch ratings.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.errors import ScenarioError
from engine.network import Network, load_site_network, run_powerflow_timeseries

if TYPE_CHECKING:
    from engine.results import Result
    from engine.scenario import Scenario, Site, SiteNetwork

__all__ = ["Attachment", "NetworkCheck", "attach", "bus_demand", "check_network",
           "lindistflow_v_sq"]

#: Tolerance on limits before a value counts as a violation [pu] / [%]: the solvers'
#: own tolerances, so that a dispatch sitting on a limit is not reported.
VOLTAGE_TOL_PU = 1e-6
LOADING_TOL_PCT = 1e-4


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
        Voltage limits per bus [pu] (open at the slack).
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
        from kernels.powerflow._idx import PD

        return self.network.bus[:, PD]

    @property
    def background_q_mvar(self) -> np.ndarray:
        """The case's own (scaled) reactive demand per bus [MVAr]."""
        from kernels.powerflow._idx import QD

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


def lindistflow_v_sq(att: Attachment, p_mw: np.ndarray, q_mvar: np.ndarray) -> np.ndarray:
    """Squared bus voltages [pu^2] LinDistFlow predicts for the given demand.

    ``v = v_slack^2 - (R @ p + X @ q) / base_mva`` per hour, with the sensitivities of
    :func:`kernels.powerflow.lindistflow` (demand is minus the injection).
    """
    v0, r, x = _sensitivities(att.network)
    base = att.network.base_mva
    return v0 - (p_mw @ r.T + q_mvar @ x.T) / base


def lindistflow_flows(att: Attachment, p_mw: np.ndarray, q_mvar: np.ndarray) -> np.ndarray:
    """Lossless apparent power [MVA] into each in-service branch, from its parent side.

    The flow into a branch is the demand of every bus below it (LinDistFlow without
    losses). Returns (T, n_branches) in the order of the case's in-service branches;
    0 for a branch the radial tree does not use.
    """
    net = att.network
    feeder = net.feeder()
    below = _below(net)  # (nb, nb): row b = buses below the branch feeding b
    child = feeder.order[1:]
    out = np.zeros((p_mw.shape[0], net.branch_ratings_mva().size))
    flows = (p_mw + 1j * q_mvar) @ below[child].T  # (T, n_children)
    out[:, feeder.parent_branch[child]] = np.abs(flows)
    return out


def _below(network: Network) -> np.ndarray:
    """``below[b, j] = 1`` when bus ``j`` is fed through the branch feeding bus ``b``
    (``j`` in ``b``'s subtree, ``b`` included); cached on the network."""
    if "below" not in network._solvers:
        feeder = network.feeder()
        nb = feeder.order.shape[0]
        path = np.zeros((nb, nb))  # path[j, b]: branch feeding b lies on root -> j
        for j in feeder.order[1:]:  # setup over buses, not hours; parents come first
            path[j] = path[feeder.parent[j]]
            path[j, j] = 1.0
        network._solvers["below"] = path.T.copy()
    return network._solvers["below"]


def _sensitivities(network: Network) -> tuple[float, np.ndarray, np.ndarray]:
    """LinDistFlow sensitivities around the no-load point, cached on the network."""
    if "lindistflow" not in network._solvers:
        from kernels.powerflow import lindistflow

        v_slack = abs(network._case().v0[network.slack])
        network._solvers["lindistflow"] = lindistflow(network.feeder(), v_slack)
    return network._solvers["lindistflow"]


@dataclass
class NetworkCheck:
    """Outcome of :func:`check_network`.

    Attributes
    ----------
    site, case : str
        Site and network names.
    vm_pu : pandas.DataFrame (T, nb)
        Voltage magnitude per hour and bus [pu]; columns are the case's bus numbers.
    loading_pct : pandas.DataFrame (T, branches)
        Apparent power at the more loaded end of each in-service branch over its rating
        [%]; NaN for unrated branches. Columns ``"<from>-<to>"``.
    branch_losses_mw : pandas.DataFrame (T, branches)
        Active losses per branch [MW].
    losses_mw : pandas.Series (T,)
        Total branch losses per hour [MW].
    converged : pandas.Series of bool (T,)
    violations : pandas.DataFrame
        One row per violation: ``hour`` (0-based), ``time``, ``kind`` (``"vmin"``,
        ``"vmax"``, ``"rating"`` or ``"not_converged"``), ``element`` (bus number or branch
        label), ``value`` and ``limit`` (pu, or % of rating).
    p_mw, q_mvar : ndarray (T, nb)
        The bus demand that was solved [MW], [MVAr].
    vmin_pu, vmax_pu : ndarray (nb,)
        The voltage limits used [pu].
    method : str
        Power-flow kernel used (``"sweep"`` or ``"nr"``).
    timings : dict
        ``demand_s`` (building the bus demand), ``powerflow_s`` (the batched power flow),
        ``total_s``.
    """

    site: str
    case: str
    vm_pu: pd.DataFrame
    loading_pct: pd.DataFrame
    branch_losses_mw: pd.DataFrame
    losses_mw: pd.Series
    converged: pd.Series
    violations: pd.DataFrame
    p_mw: np.ndarray = field(repr=False)
    q_mvar: np.ndarray = field(repr=False)
    vmin_pu: np.ndarray = field(repr=False)
    vmax_pu: np.ndarray = field(repr=False)
    method: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every hour converged and nothing is violated."""
        return self.violations.empty

    def counts(self) -> dict[str, int]:
        """Number of violations of each kind."""
        return {str(k): int(v) for k, v in self.violations["kind"].value_counts().items()}

    def summary(self) -> str:
        """A short text: limits, extremes, losses, violations, timings."""
        vm = self.vm_pu.to_numpy()
        T = vm.shape[0]
        i_lo = np.unravel_index(np.argmin(vm), vm.shape)
        i_hi = np.unravel_index(np.argmax(vm), vm.shape)
        buses = self.vm_pu.columns
        lines = [f"network check of site {self.site!r} on {self.case!r} ({T} h, "
                 f"{vm.shape[1]} buses, {self.method}): "
                 + ("PASSED" if self.passed else f"{len(self.violations)} violation(s)")]
        lines.append(f"  voltage  min {vm[i_lo]:.5f} pu (bus {buses[i_lo[1]]}, hour {i_lo[0]}), "
                     f"max {vm[i_hi]:.5f} pu (bus {buses[i_hi[1]]}, hour {i_hi[0]})")
        load = self.loading_pct.to_numpy()
        if np.isfinite(load).any():
            j = np.unravel_index(np.nanargmax(load), load.shape)
            lines.append(f"  loading  max {load[j]:.1f} % (branch {self.loading_pct.columns[j[1]]}"
                         f", hour {j[0]})")
        else:
            lines.append("  loading  no rated branches")
        lines.append(f"  losses   {self.losses_mw.sum():.3f} MWh, peak {self.losses_mw.max():.4f} MW")
        if not self.passed:
            c = self.counts()
            lines.append("  violations: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                         + f" in {self.violations['hour'].nunique()} hour(s)")
        lines.append("  times [s]: " + ", ".join(f"{k[:-2]} {v:.4f}" for k, v in self.timings.items()))
        return "\n".join(lines)


def _scenario_of(result: Result) -> Scenario | None:
    return result.extra.get("scenario")


def check_network(result: Result, network_or_scenario: Network | Scenario | None = None, *,
                  site: str | None = None, vmin_pu: float | None = None,
                  vmax_pu: float | None = None, method: str = "auto",
                  n_threads: int | None = None) -> NetworkCheck:
    """AC power flow of every hour of a dispatch: voltages, loadings, losses, violations.

    Parameters
    ----------
    result : Result
        A solved scenario (from :func:`engine.optimize`).
    network_or_scenario : Network or Scenario, optional
        The scenario the result was solved from (its site's ``network`` block gives the
        case and where the assets are), or a :class:`Network` that replaces the block's
        case (same bus numbers) with the mapping of the scenario recorded on the result.
        Default: the scenario recorded on the result.
    site : str, optional
        Name of the site to check; default the only site with a ``network`` block.
    vmin_pu, vmax_pu : float, optional
        Voltage limits [pu] at every non-slack bus; default the scenario's, else the case's.
    method : {"auto", "nr", "sweep"}
        Power-flow kernel, as in :func:`engine.network.run_powerflow_timeseries`.
    n_threads : int, optional
        Threads for the batched power flow.

    Returns
    -------
    NetworkCheck

    Raises
    ------
    ScenarioError
        If no scenario with a network can be found, or the site is ambiguous or unknown.
    """
    t0 = time.perf_counter()
    from engine.scenario import Scenario

    scenario = network_or_scenario if isinstance(network_or_scenario, Scenario) else \
        _scenario_of(result)
    if scenario is None:
        raise ScenarioError("network_or_scenario: give the Scenario the result was solved from "
                            "(the result does not record one)")
    st = _pick_site(scenario, site)
    att = attach(st, vmin_pu, vmax_pu)
    if isinstance(network_or_scenario, Network):
        att = _replace_network(att, network_or_scenario)
    if not result.has_solution:
        raise ScenarioError(f"result: status {result.status}, there is no dispatch to check")
    p, q = bus_demand(result.hourly, att)
    t1 = time.perf_counter()
    check = _check(att, p, q, result.hourly.index, method, n_threads)
    check.timings = {"demand_s": t1 - t0, **check.timings,
                     "total_s": time.perf_counter() - t0}
    return check


def _pick_site(scenario: Scenario, site: str | None) -> Site:
    with_net = [s for s in scenario.sites if s.network is not None]
    if site is not None:
        hit = [s for s in scenario.sites if s.name == site]
        if not hit:
            raise ScenarioError(f"site: no site named {site!r}; sites are "
                                f"{[s.name for s in scenario.sites]}")
        return hit[0]
    if len(with_net) != 1:
        raise ScenarioError(f"site: {len(with_net)} sites have a network block; name one with "
                            "site=...")
    return with_net[0]


def _replace_network(att: Attachment, net: Network) -> Attachment:
    old = att.network.bus_numbers
    if not np.array_equal(np.sort(old), np.sort(net.bus_numbers)):
        raise ScenarioError(f"network_or_scenario: network {net.name!r} does not have the bus "
                            f"numbers of case {att.network.name!r}")
    perm = np.array([net.bus_position(int(b)) for b in old])  # old position -> new position
    terms = [(c, int(perm[b]), s, t) for c, b, s, t in att.terms]
    lo, hi = net.voltage_limits(att.spec.vmin_pu, att.spec.vmax_pu)
    return Attachment(network=net, site=att.site, spec=att.spec, terms=terms,
                      dc_bus=None if att.dc_bus is None else int(perm[att.dc_bus]),
                      dc_tan_phi=att.dc_tan_phi, vmin_pu=lo, vmax_pu=hi)


def _check(att: Attachment, p: np.ndarray, q: np.ndarray, index: pd.Index, method: str,
           n_threads: int | None) -> NetworkCheck:
    net = att.network
    t0 = time.perf_counter()
    pf = run_powerflow_timeseries(net, p, q, method=method, n_threads=n_threads)
    t1 = time.perf_counter()
    case = net._case()
    adm = case.adm
    v = pf.vm_pu * np.exp(1j * np.deg2rad(pf.va_deg))  # (T, nb)
    # complex power into each branch at both ends [MVA]: S = V conj(Y V)
    sf = v[:, adm.f] * np.conj((adm.yf @ v.T).T) * net.base_mva
    st = v[:, adm.t] * np.conj((adm.yt @ v.T).T) * net.base_mva
    rating = net.branch_ratings_mva()
    loading = np.maximum(np.abs(sf), np.abs(st)) / rating * 100.0
    loading[:, ~np.isfinite(rating)] = np.nan
    br_loss = (sf + st).real
    numbers = net.bus_numbers
    labels = [f"{numbers[a]}-{numbers[b]}" for a, b in zip(case.f, case.t)]
    vm = pf.vm_pu
    vio = []
    for kind, mask, limit in (("vmin", vm < att.vmin_pu - VOLTAGE_TOL_PU, att.vmin_pu),
                              ("vmax", vm > att.vmax_pu + VOLTAGE_TOL_PU, att.vmax_pu)):
        t, b = np.nonzero(mask & pf.converged[:, None])
        vio.append(pd.DataFrame({"hour": t, "kind": kind, "element": numbers[b].astype(str),
                                 "value": vm[t, b], "limit": limit[b]}))
    with np.errstate(invalid="ignore"):
        t, b = np.nonzero((loading > 100.0 + LOADING_TOL_PCT) & pf.converged[:, None])
    vio.append(pd.DataFrame({"hour": t, "kind": "rating",
                             "element": np.array(labels, dtype=object)[b].astype(str),
                             "value": loading[t, b], "limit": 100.0}))
    t = np.flatnonzero(~pf.converged)
    vio.append(pd.DataFrame({"hour": t, "kind": "not_converged", "element": "",
                             "value": np.nan, "limit": np.nan}))
    vio = [d for d in vio if len(d)]
    violations = (pd.concat(vio, ignore_index=True) if vio else
                  pd.DataFrame({"hour": pd.Series(dtype=np.int64), "kind": pd.Series(dtype=str),
                                "element": pd.Series(dtype=str), "value": pd.Series(dtype=float),
                                "limit": pd.Series(dtype=float)}))
    violations = violations.sort_values(["hour", "kind", "element"], ignore_index=True)
    violations.insert(1, "time", index[violations["hour"].to_numpy()])
    return NetworkCheck(
        site=att.site, case=net.name,
        vm_pu=pd.DataFrame(vm, index=index, columns=numbers),
        loading_pct=pd.DataFrame(loading, index=index, columns=labels),
        branch_losses_mw=pd.DataFrame(br_loss, index=index, columns=labels),
        losses_mw=pd.Series(pf.losses_mw, index=index, name="losses_mw"),
        converged=pd.Series(pf.converged, index=index, name="converged"),
        violations=violations, p_mw=p, q_mvar=q, vmin_pu=att.vmin_pu, vmax_pu=att.vmax_pu,
        method=pf.method, timings={"powerflow_s": t1 - t0, "flows_s": time.perf_counter() - t1},
    )


# --------------------------------------------------------------------------- rounds

#: Extra tightening [pu^2] where a voltage limit was violated, on top of the observed
#: error, so that a round does not stop a hair short of the limit again.
V_SQ_SAFETY = 2e-4
#: Extra tightening of an overloaded branch, as a fraction of its rating.
RATING_SAFETY = 2e-3


def network_rounds(res: Result, scenario: Scenario, data: Any, max_rounds: int,
                   resolve: Callable[[Any], Result]) -> Result:
    """Solve, check with AC power flow, tighten and re-solve until the check passes.

    Round 0 is the solve already done. After each solve every site with a network is
    checked (:func:`check_network`). If a check finds violations and rounds remain, for
    each site with ``constraints: lindistflow``:

    * the voltage margins become, per bus and hour, the largest LinDistFlow error against
      the AC result seen so far (``v_lin - |V_ac|^2`` for the lower limit, the opposite for
      the upper one; never negative, never shrinking), plus ``V_SQ_SAFETY`` where the limit
      was violated;
    * the branch margins likewise become the largest excess of the AC apparent power over
      the lossless LinDistFlow flow seen so far [MVA], plus ``RATING_SAFETY`` times the
      rating where a branch was overloaded;
    * the site's share of the AC losses (losses with the site's dispatch minus those of
      the background loads alone) becomes a fixed demand at the site's bus balance;

    and the scenario is solved again. The loop stops when every check passes, when the
    rounds run out, when no site can be tightened (no LinDistFlow limits) or when a
    solve fails. The result returned is the last solve's, with ``network_check`` (its AC
    check) and ``network_rounds`` (a table: round, status, objective, violations and the
    largest margins) set. Nothing guarantees convergence: a dispatch can keep moving
    the error around, or the tightened limits can make the LP infeasible; the table says
    which happened.

    Parameters
    ----------
    res : Result
        Round 0.
    scenario : Scenario
    data : ScenarioData
        The prepared data; its ``network_adjust`` is updated in place between rounds.
    max_rounds : int
        Re-solves allowed.
    resolve : callable
        ``resolve(data) -> Result``.
    """
    sites = [(s, st) for s, st in enumerate(scenario.sites) if st.network is not None]
    if not sites:
        raise ScenarioError("network_rounds: no site of the scenario has a network block")
    tightenable = [s for s, st in sites if st.network.constraints == "lindistflow"]
    rows = []
    base_losses: dict[int, float] = {}
    for k in range(max_rounds + 1):
        if not res.has_solution:
            rows.append({"round": k, "status": str(res.status), "objective": float("nan"),
                         "violations": -1, "hours_violated": -1, "min_vm_pu": float("nan"),
                         "max_vm_pu": float("nan"), "losses_mwh": float("nan"),
                         "margin_lo_pu2": float("nan"), "margin_hi_pu2": float("nan")})
            break
        checks = {s: check_network(res, scenario, site=st.name) for s, st in sites}
        n_vio = sum(len(c.violations) for c in checks.values())
        hours = len(set().union(*[set(c.violations["hour"]) for c in checks.values()]))
        adj = data.network_adjust
        rows.append({
            "round": k, "status": str(res.status), "objective": float(res.objective),
            "violations": n_vio, "hours_violated": hours,
            "min_vm_pu": min(float(c.vm_pu.to_numpy().min()) for c in checks.values()),
            "max_vm_pu": max(float(c.vm_pu.to_numpy().max()) for c in checks.values()),
            "losses_mwh": sum(float(c.losses_mw.sum()) for c in checks.values()),
            "margin_lo_pu2": max([float(a["v_lo_margin"].max()) for a in adj.values()
                                  if "v_lo_margin" in a] or [0.0]),
            "margin_hi_pu2": max([float(a["v_hi_margin"].max()) for a in adj.values()
                                  if "v_hi_margin" in a] or [0.0]),
        })
        res.network_check = checks[sites[0][0]] if len(sites) == 1 else checks
        if n_vio == 0 or k == max_rounds or not tightenable:
            break
        for s in tightenable:
            c = checks[s]
            att = attach(scenario.sites[s])
            _tighten(data, s, att, c, base_losses)
        res = resolve(data)
    res.network_rounds = pd.DataFrame(rows)
    return res


def _tighten(data: Any, s: int, att: Attachment, c: NetworkCheck,
             base_losses: dict[int, float]) -> None:
    """Update ``data.network_adjust[s]`` from one AC check (see :func:`network_rounds`)."""
    T, nb = c.p_mw.shape
    adj = data.network_adjust.setdefault(s, {})
    v_lin = lindistflow_v_sq(att, c.p_mw, c.q_mvar)  # (T, nb)
    v_ac = c.vm_pu.to_numpy() ** 2
    ok = c.converged.to_numpy()[:, None]
    # a non-converged hour has no AC answer: tighten it by the largest error of its bus
    err_lo = np.where(ok, v_lin - v_ac, np.nan)
    err_lo = np.where(ok, err_lo, np.nanmax(err_lo, axis=0, initial=0.0)[None, :])
    err_hi = np.where(ok, v_ac - v_lin, np.nan)
    err_hi = np.where(ok, err_hi, np.nanmax(err_hi, axis=0, initial=0.0)[None, :])
    vm = c.vm_pu.to_numpy()
    below = (vm < c.vmin_pu - VOLTAGE_TOL_PU) | ~ok
    above = vm > c.vmax_pu + VOLTAGE_TOL_PU
    lo = np.maximum(adj.get("v_lo_margin", np.zeros((nb, T))),
                    np.maximum(err_lo, 0.0).T + V_SQ_SAFETY * below.T)
    hi = np.maximum(adj.get("v_hi_margin", np.zeros((nb, T))),
                    np.maximum(err_hi, 0.0).T + V_SQ_SAFETY * above.T)
    adj["v_lo_margin"], adj["v_hi_margin"] = lo, hi
    # branches: the AC apparent power against the lossless flow of LinDistFlow [MVA]
    rating = att.network.branch_ratings_mva()
    rated = np.isfinite(rating)
    if rated.any():
        s_ac = c.loading_pct.to_numpy()[:, rated] / 100.0 * rating[rated]  # (T, n_rated)
        s_lin = np.abs(lindistflow_flows(att, c.p_mw, c.q_mvar)[:, rated])
        err = np.where(ok, np.nan_to_num(s_ac - s_lin, nan=0.0), 0.0)
        over = (c.loading_pct.to_numpy()[:, rated] > 100.0 + LOADING_TOL_PCT) | ~ok
        margin = adj.get("line_margin_mva", np.zeros((rating.size, T)))
        margin[rated] = np.maximum(margin[rated], np.maximum(err, 0.0).T
                                   + RATING_SAFETY * rating[rated][:, None] * over.T)
        adj["line_margin_mva"] = margin
    if s not in base_losses:
        # losses the background loads cause on their own are not the site's to pay for
        if att.background_p_mw.any() or att.background_q_mvar.any():
            pf = run_powerflow_timeseries(att.network, att.background_p_mw[None, :],
                                          att.background_q_mvar[None, :])
            base_losses[s] = float(pf.losses_mw[0])
        else:
            base_losses[s] = 0.0
    adj["losses_mw"] = np.where(c.converged.to_numpy(), c.losses_mw.to_numpy() - base_losses[s],
                                adj.get("losses_mw", np.zeros(T)))


def background_hint(scenario: Scenario) -> str:
    """Why LinDistFlow limits might be infeasible: the voltages of the background loads alone.

    For each site with ``constraints: lindistflow``, the AC power flow of the case's own
    (scaled) loads with no site assets; if that already breaks the voltage limits, no
    dispatch can satisfy them. Returns an empty string when nothing is found.
    """
    notes = []
    for site in scenario.sites:
        if site.network is None or site.network.constraints != "lindistflow":
            continue
        att = attach(site)
        pf = run_powerflow_timeseries(att.network, att.background_p_mw[None, :],
                                      att.background_q_mvar[None, :])
        vm = pf.vm_pu[0]
        low = vm < att.vmin_pu - VOLTAGE_TOL_PU
        high = vm > att.vmax_pu + VOLTAGE_TOL_PU
        if low.any() or high.any():
            b = int(np.argmin(np.where(low, vm - att.vmin_pu, np.inf))) if low.any() else \
                int(np.argmax(np.where(high, vm - att.vmax_pu, -np.inf)))
            notes.append(f"site {site.name!r}: the feeder's background loads alone put bus "
                         f"{int(att.network.bus_numbers[b])} at {vm[b]:.4f} pu, outside "
                         f"[{att.vmin_pu[b]:.3g}, {att.vmax_pu[b]:.3g}] pu: no dispatch can "
                         "meet the network limits (lower scale_load or scale_impedance, or "
                         "widen vmin_pu/vmax_pu)")
    return "; ".join(notes)
