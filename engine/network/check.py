"""The AC check of a solved dispatch on a site's feeder.

:func:`check_network` builds the bus demand of every hour from the dispatch
(:mod:`engine.network.attach`), solves all hours at once with
:func:`engine.network.run_powerflow_timeseries` and reports voltages, branch loadings,
losses, each slack bus's injection, and every violation of the voltage limits and branch
ratings.

A case may have several slack buses (each at its own voltage set point): the check
reports each slack's P and Q per hour (:attr:`NetworkCheck.slack_p_mw`,
:attr:`NetworkCheck.slack_q_mvar`), and the site's grid import in its energy balance is
the sum of the slacks' injections (:attr:`NetworkCheck.grid_import_mw`).

No import of the scenario or result modules (no cycles): a scenario is anything with
``sites`` (each with ``name`` and ``network``), a result anything with ``hourly`` and
``extra`` (and, optionally, ``has_solution`` and ``status``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.errors import ScenarioError
from engine.network.attach import Attachment, attach, bus_demand
from engine.network.matpower import Network
from engine.network.powerflow import run_powerflow_timeseries

if TYPE_CHECKING:
    from engine.results import Result
    from engine.scenario import Scenario, Site

__all__ = ["LOADING_TOL_PCT", "VOLTAGE_TOL_PU", "NetworkCheck", "check_network"]

#: Tolerance on limits before a value counts as a violation [pu] / [%]: the solvers'
#: own tolerances, so that a dispatch sitting on a limit is not reported.
VOLTAGE_TOL_PU = 1e-6
LOADING_TOL_PCT = 1e-4


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
    slack_p_mw, slack_q_mvar : pandas.DataFrame (T, n_slack)
        Active [MW] and reactive [MVAr] generation of each slack bus per hour (its
        injection into the feeder plus its own demand); columns are the slack buses'
        numbers. One column for a case with a single slack.
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
    slack_p_mw: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    slack_q_mvar: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    method: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every hour converged and nothing is violated."""
        return self.violations.empty

    @property
    def grid_import_mw(self) -> pd.Series:
        """What the feeder draws from the grid per hour [MW]: the sum of the slacks'
        active generation (negative when the feeder exports). With several slack buses
        this sum, not any single slack, is the site's grid import in its energy balance."""
        return self.slack_p_mw.sum(axis=1).rename("grid_import_mw")

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
        if self.slack_p_mw.shape[1] > 1:
            lines.append("  slacks   " + ", ".join(
                f"bus {b}: {self.slack_p_mw[b].sum():.3f} MWh" for b in self.slack_p_mw.columns)
                + f" (grid import {self.grid_import_mw.sum():.3f} MWh)")
        if not self.passed:
            c = self.counts()
            lines.append("  violations: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                         + f" in {self.violations['hour'].nunique()} hour(s)")
        lines.append("  times [s]: " + ", ".join(f"{k[:-2]} {v:.4f}" for k, v in self.timings.items()))
        return "\n".join(lines)


def _scenario_of(result: Result) -> Scenario | None:
    return getattr(result, "extra", {}).get("scenario")


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
    # a Scenario has sites; a Network has none (duck typing: no import of engine.scenario)
    scenario = network_or_scenario if hasattr(network_or_scenario, "sites") else \
        _scenario_of(result)
    if scenario is None:
        raise ScenarioError("network_or_scenario: give the Scenario the result was solved from "
                            "(the result does not record one)")
    st = _pick_site(scenario, site)
    att = attach(st, vmin_pu, vmax_pu)
    if isinstance(network_or_scenario, Network):
        att = _replace_network(att, network_or_scenario)
    if not getattr(result, "has_solution", True):
        raise ScenarioError(f"result: status {getattr(result, 'status', '?')}, there is no "
                            "dispatch to check")
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
    slack_p, slack_q, slack_cols = pf.slack_p_mw, pf.slack_q_mvar, pf.slack_bus
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
        slack_p_mw=pd.DataFrame(slack_p, index=index, columns=slack_cols),
        slack_q_mvar=pd.DataFrame(slack_q, index=index, columns=slack_cols),
        method=pf.method, timings={"powerflow_s": t1 - t0, "flows_s": time.perf_counter() - t1},
    )
