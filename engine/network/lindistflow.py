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
:func:`engine.optimize` (:func:`engine.network.rounds.network_rounds`) set them from the AC check: the margins are
the largest error of LinDistFlow against the AC power flow seen so far at each bus and
hour (for branches: AC apparent power minus the lossless flow). They also add the
site's share of the AC losses (AC losses with the site minus those of the background
loads alone) to the site's demand through :func:`add_losses`.

A component like the others: it reads the dispatch variables the other components
registered (by group name and ``f.meta``) and imports none of them.

LinDistFlow linearises around one slack at the root of a radial tree: a case with several
slack buses is refused with a :class:`~engine.network.NetworkError` naming the case and its
slack buses (the AC check and the power flow take such cases).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.model import grouped
from engine.network.attach import Attachment, attach
from engine.network.matpower import Network

if TYPE_CHECKING:  # pragma: no cover
    from engine.model.formulation import Formulation

__all__ = ["add", "add_losses", "lindistflow_flows", "lindistflow_v_sq"]

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


def _dispatch_entries(f: Formulation, s: int, att: Attachment) -> list[tuple[np.ndarray, np.ndarray, int,
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
        if "bus/unserved_critical_mw" in vg:  # the critical tier (sites with service tiers)
            out.append((vg["bus/unserved_critical_mw"].idx[s], hours, att.dc_bus, np.ones(T),
                        att.dc_tan_phi))
        meta = f.meta.get("job")
        if meta is not None:
            sel = meta["site"] == s
            out.append((vg["job/power_mw"].idx[sel], meta["t_of"][sel], att.dc_bus,
                        -meta["pue"][sel], att.dc_tan_phi))
            rs = meta["restart"]       # restarts after outages load the bus an hour later
            sel = rs["site"] == s
            if sel.any():
                out.append((vg["job/power_mw"].idx[rs["entry"][sel]], rs["t"][sel], att.dc_bus,
                            -rs["pue"][sel], att.dc_tan_phi))
    return out


def _add_site(f: Formulation, s: int) -> None:
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


# --------------------------------------------------------------------------- sensitivities

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
