"""Network rounds: solve, check with AC power flow, tighten the LinDistFlow limits, re-solve.

:func:`network_rounds` drives the loop of ``engine.optimize(network_rounds=N)``;
:func:`background_hint` explains an infeasible LinDistFlow model by the voltages of the
feeder's background loads alone.

No import of the scenario, result or api modules (no cycles): the caller passes the
re-solve as a function, a result is anything with ``hourly``, ``extra``, ``has_solution``,
``status`` and ``objective``, a scenario anything with ``sites``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.errors import ScenarioError
from engine.network.attach import Attachment, attach
from engine.network.check import (
    LOADING_TOL_PCT,
    VOLTAGE_TOL_PU,
    NetworkCheck,
    check_network,
)
from engine.network.lindistflow import lindistflow_flows, lindistflow_v_sq
from engine.network.powerflow import run_powerflow_timeseries

if TYPE_CHECKING:
    from engine.results import Result
    from engine.scenario import Scenario

__all__ = ["background_hint", "network_rounds"]

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
