r"""Battery re-dispatch through committed hours: follow the schedule, deviate only to
avoid an import above a cap (or shedding load) and to avoid a surplus nobody can take.

Per hour ``t`` (from ``first``), per site ``s`` with batteries ``b`` at ``s``
(``Δ = 1 h``):

* ``net[s] = base[s, t] + Σ_b (dis[b, t] - ch[b, t])`` (> 0 surplus, < 0 shortfall);
* ``excess[s] = max(-net[s] - limit[s, t], 0)``: first reduce charging by up to ``excess``
  (pro rata to the batteries' charging), then raise discharging by what is left, pro rata
  to each battery's room ``min(Pdis - dis, (keep·soc + η_c ch - dis/η_d - SOCmin) η_d)``;
* with a value of stored energy ``λ[b, t]`` (the real-time policy, optional): a surplus
  ``net[s] > 0`` (worth ``v_exp[s, t]`` a MWh exported or curtailed) is stored where that is
  worth more: first discharge less where ``λ/η_d + c_deg > v_exp``, then charge more where
  ``λ η_c - c_deg > v_exp`` (within ``Pch`` and ``SOCmax``); a shortfall ``net[s] < 0``
  (imported at ``c_imp[s, t]`` a MWh) is served from the battery where that is worth more:
  first charge less where ``c_imp + c_deg > λ η_c``, then discharge more where
  ``c_imp > λ/η_d + c_deg`` (within ``Pdis`` and ``SOCmin``); batteries of a site in order;
  each move at most the surprise ``dev[s, t]`` (actual minus forecast supply net of load):
  a surplus is stored only up to ``max(dev, 0)``, a shortfall served only up to
  ``max(-dev, 0)``, so that with perfect forecasts the schedule is kept;
* ``spare[s] = net[s] - exp_cap[s, t] - ren[s, t]``: if > 0, reduce discharging by up to it;
* ``soc[b, t] = keep_b soc[b, t-1] + η_c ch - dis / η_d``; if below ``SOCmin``, discharge
  only down to it, and if self-discharge alone takes it below, charge just enough (up to
  ``Pch``); if above ``SOCmax``, charge less (the surplus goes to export or curtailment).

Hours before ``first`` keep ``ch``, ``dis`` and the given ``soc``.
"""
from __future__ import annotations

from typing import Optional

import numba as nb
import numpy as np
from numpy.typing import NDArray

_TOL = 1e-9


def battery_redispatch_reference(base, limit, spare_cap, ch, dis, soc, soc0, bat_site, keep,
                                 eta_c, eta_d, soc_min, p_ch, p_dis, first, value=None,
                                 imp_cost=None, exp_value=None, soc_max=None, deg=None,
                                 dev=None):
    """NumPy reference of :func:`battery_redispatch` (vectorised over sites per hour, the
    real-time policy battery by battery)."""
    ch, dis, soc = ch.copy(), dis.copy(), soc.copy()
    S, n = base.shape
    B = ch.shape[0]
    smax = np.full(B, np.inf) if soc_max is None else soc_max
    inc = (bat_site[None, :] == np.arange(S)[:, None]).astype(float)
    s = soc0.copy() if first == 0 else soc[:, first - 1].copy()

    def share(need, room):
        tot = inc @ room
        f = np.divide(np.minimum(need, tot), tot, out=np.zeros(S), where=tot > 0)
        return room * f[bat_site]

    for t in range(first, n):
        net = base[:, t] + inc @ (dis[:, t] - ch[:, t])
        excess = np.maximum(-net - limit[:, t], 0.0)
        if excess.max(initial=0.0) > _TOL:
            cut = share(excess, ch[:, t])
            ch[:, t] -= cut
            excess -= inc @ cut
            room_e = np.maximum(keep * s + eta_c * ch[:, t] - dis[:, t] / eta_d - soc_min,
                                0.0) * eta_d
            room = np.maximum(np.minimum(p_dis - dis[:, t], room_e), 0.0)
            dis[:, t] += share(excess, room)
        if value is not None:
            net = base[:, t] + inc @ (dis[:, t] - ch[:, t])
            up = np.full(S, np.inf) if dev is None else np.maximum(dev[:, t], 0.0)
            down = np.full(S, np.inf) if dev is None else np.maximum(-dev[:, t], 0.0)
            net = np.where(net > 0, np.minimum(net, up), np.maximum(net, -down))
            for b in range(B):
                i = bat_site[b]
                lam = value[b, t]
                if net[i] > _TOL:
                    if lam / eta_d[b] + deg[b] > exp_value[i, t]:
                        c = min(dis[b, t], net[i])
                        dis[b, t] -= c
                        net[i] -= c
                    if lam * eta_c[b] - deg[b] > exp_value[i, t]:
                        r = (smax[b] - (keep[b] * s[b] + eta_c[b] * ch[b, t]
                                        - dis[b, t] / eta_d[b])) / eta_c[b]
                        c = max(min(p_ch[b] - ch[b, t], r, net[i]), 0.0)
                        ch[b, t] += c
                        net[i] -= c
                elif net[i] < -_TOL:
                    if imp_cost[i, t] + deg[b] > lam * eta_c[b]:
                        c = min(ch[b, t], -net[i])
                        ch[b, t] -= c
                        net[i] += c
                    if imp_cost[i, t] > lam / eta_d[b] + deg[b]:
                        r = (keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
                             - soc_min[b]) * eta_d[b]
                        c = max(min(p_dis[b] - dis[b, t], r, -net[i]), 0.0)
                        dis[b, t] += c
                        net[i] += c
        net = base[:, t] + inc @ (dis[:, t] - ch[:, t])
        spare = net - spare_cap[:, t]
        if spare.max(initial=0.0) > _TOL:
            dis[:, t] -= share(np.maximum(spare, 0.0), dis[:, t])
        nxt = keep * s + eta_c * ch[:, t] - dis[:, t] / eta_d
        low = nxt < soc_min
        if low.any():
            room = keep * s + eta_c * ch[:, t] - soc_min
            dis[low, t] = np.clip(room[low] * eta_d[low], 0.0, dis[low, t])
            nxt = keep * s + eta_c * ch[:, t] - dis[:, t] / eta_d
            low = nxt < soc_min
            if low.any():
                ch[low, t] = np.minimum(ch[low, t] + (soc_min[low] - nxt[low]) / eta_c[low],
                                        p_ch[low])
                nxt = keep * s + eta_c * ch[:, t] - dis[:, t] / eta_d
        high = nxt > smax
        if high.any():
            ch[high, t] = np.maximum(ch[high, t] - (nxt[high] - smax[high]) / eta_c[high], 0.0)
            nxt = keep * s + eta_c * ch[:, t] - dis[:, t] / eta_d
        soc[:, t] = nxt
        s = nxt
    return ch, dis, soc


@nb.njit(cache=True)
def _redispatch_nb(base, limit, spare_cap, ch, dis, soc, soc0, bat_site, keep, eta_c, eta_d,
                   soc_min, p_ch, p_dis, first, policy, value, imp_cost, exp_value, soc_max, deg, up,
                   down):
    S, n = base.shape
    B = ch.shape[0]
    s = np.empty(B)
    for b in range(B):
        s[b] = soc0[b] if first == 0 else soc[b, first - 1]
    tot = np.empty(S)
    need = np.empty(S)
    net = np.empty(S)
    room = np.empty(B)
    frac = np.empty(S)
    for t in range(first, n):
        for i in range(S):
            net[i] = base[i, t]
        for b in range(B):
            net[bat_site[b]] += dis[b, t] - ch[b, t]
        any_excess = False
        for i in range(S):
            need[i] = max(-net[i] - limit[i, t], 0.0)
            if need[i] > _TOL:
                any_excess = True
        if any_excess:
            # charge less, pro rata to charging
            tot[:] = 0.0
            for b in range(B):
                tot[bat_site[b]] += ch[b, t]
            # the share of each site's charging to cut, fixed before any battery is cut
            for i in range(S):
                frac[i] = min(need[i], tot[i]) / tot[i] if tot[i] > 0.0 else 0.0
            for b in range(B):
                i = bat_site[b]
                cut = ch[b, t] * frac[i]
                ch[b, t] -= cut
                need[i] -= cut
            # then discharge more, pro rata to the room left
            tot[:] = 0.0
            for b in range(B):
                r_e = max(keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
                          - soc_min[b], 0.0) * eta_d[b]
                room[b] = max(min(p_dis[b] - dis[b, t], r_e), 0.0)
                tot[bat_site[b]] += room[b]
            for b in range(B):
                i = bat_site[b]
                if tot[i] > 0.0:
                    dis[b, t] += room[b] * (min(max(need[i], 0.0), tot[i]) / tot[i])
        if policy:
            for i in range(S):
                net[i] = base[i, t]
            for b in range(B):
                net[bat_site[b]] += dis[b, t] - ch[b, t]
            for i in range(S):  # move at most by the surprise
                if net[i] > 0.0:
                    net[i] = min(net[i], up[i, t])
                else:
                    net[i] = max(net[i], -down[i, t])
            for b in range(B):
                i = bat_site[b]
                lam = value[b, t]
                if net[i] > _TOL:
                    if lam / eta_d[b] + deg[b] > exp_value[i, t]:
                        c = min(dis[b, t], net[i])
                        dis[b, t] -= c
                        net[i] -= c
                    if lam * eta_c[b] - deg[b] > exp_value[i, t]:
                        r = (soc_max[b] - (keep[b] * s[b] + eta_c[b] * ch[b, t]
                                           - dis[b, t] / eta_d[b])) / eta_c[b]
                        c = max(min(min(p_ch[b] - ch[b, t], r), net[i]), 0.0)
                        ch[b, t] += c
                        net[i] -= c
                elif net[i] < -_TOL:
                    if imp_cost[i, t] + deg[b] > lam * eta_c[b]:
                        c = min(ch[b, t], -net[i])
                        ch[b, t] -= c
                        net[i] += c
                    if imp_cost[i, t] > lam / eta_d[b] + deg[b]:
                        r = (keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
                             - soc_min[b]) * eta_d[b]
                        c = max(min(min(p_dis[b] - dis[b, t], r), -net[i]), 0.0)
                        dis[b, t] += c
                        net[i] += c
        for i in range(S):
            net[i] = base[i, t]
        for b in range(B):
            net[bat_site[b]] += dis[b, t] - ch[b, t]
        any_spare = False
        for i in range(S):
            need[i] = net[i] - spare_cap[i, t]
            if need[i] > _TOL:
                any_spare = True
        if any_spare:
            tot[:] = 0.0
            for b in range(B):
                tot[bat_site[b]] += dis[b, t]
            for b in range(B):
                i = bat_site[b]
                if tot[i] > 0.0 and need[i] > 0.0:
                    dis[b, t] -= dis[b, t] * (min(need[i], tot[i]) / tot[i])
        for b in range(B):
            nxt = keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
            if nxt < soc_min[b]:
                r = keep[b] * s[b] + eta_c[b] * ch[b, t] - soc_min[b]
                dis[b, t] = min(max(r * eta_d[b], 0.0), dis[b, t])
                nxt = keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
                if nxt < soc_min[b]:
                    ch[b, t] = min(ch[b, t] + (soc_min[b] - nxt) / eta_c[b], p_ch[b])
                    nxt = keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
            if nxt > soc_max[b]:
                ch[b, t] = max(ch[b, t] - (nxt - soc_max[b]) / eta_c[b], 0.0)
                nxt = keep[b] * s[b] + eta_c[b] * ch[b, t] - dis[b, t] / eta_d[b]
            soc[b, t] = nxt
            s[b] = nxt


def battery_redispatch(
    base: NDArray[np.float64],
    limit: NDArray[np.float64],
    spare_cap: NDArray[np.float64],
    ch: NDArray[np.float64],
    dis: NDArray[np.float64],
    soc: NDArray[np.float64],
    soc0: NDArray[np.float64],
    bat_site: NDArray[np.int64],
    keep: NDArray[np.float64],
    eta_c: NDArray[np.float64],
    eta_d: NDArray[np.float64],
    soc_min: NDArray[np.float64],
    p_ch: NDArray[np.float64],
    p_dis: NDArray[np.float64],
    first: int,
    value: Optional[NDArray[np.float64]] = None,
    imp_cost: Optional[NDArray[np.float64]] = None,
    exp_value: Optional[NDArray[np.float64]] = None,
    soc_max: Optional[NDArray[np.float64]] = None,
    deg: Optional[NDArray[np.float64]] = None,
    dev: Optional[NDArray[np.float64]] = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Re-dispatch batteries through ``n`` committed hours (see the module notes).

    Parameters
    ----------
    base : (S, n)
        Per site: supply other than batteries minus facility load [MW].
    limit : (S, n)
        Import each site may take before the batteries deviate [MW].
    spare_cap : (S, n)
        Surplus each site can get rid of (export limit + curtailable PV and wind) [MW].
    ch, dis : (B, n)
        Scheduled charge and discharge [MW].
    soc : (B, n)
        Scheduled SOC [MWh]; used before ``first``.
    soc0 : (B,)
        SOC before the first hour [MWh].
    bat_site : (B,) int
        Site of each battery.
    keep, eta_c, eta_d : (B,)
        ``1 - self-discharge per h``, charge and discharge efficiency [-].
    soc_min : (B,)
        Minimum SOC [MWh].
    p_ch, p_dis : (B,)
        Charge and discharge power limits [MW].
    first : int
        First hour that may deviate.
    value : (B, n), optional
        Value of a MWh stored in each battery in each hour [currency/MWh] (e.g. minus the
        dual of the window's SOC balance); given, the real-time policy of the module notes
        applies and ``imp_cost``, ``exp_value`` and ``deg`` are required.
    imp_cost : (S, n), optional
        Cost of a MWh imported (or shed) at each site [currency/MWh].
    exp_value : (S, n), optional
        Value of a MWh of surplus exported (or curtailed) at each site [currency/MWh].
    soc_max : (B,), optional
        Maximum SOC [MWh]; default none.
    deg : (B,), optional
        Degradation cost per MWh charged or discharged [currency/MWh].
    dev : (S, n), optional
        Surprise at each site: actual minus forecast supply net of load [MW]; the policy
        moves at most by it. Default unlimited.

    Returns
    -------
    ch, dis, soc : (B, n)
        Realised charge, discharge [MW] and SOC [MWh] (new arrays).
    """
    ch = np.array(ch, dtype=np.float64, order="C")
    dis = np.array(dis, dtype=np.float64, order="C")
    soc = np.array(soc, dtype=np.float64, order="C")
    f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    B = ch.shape[0]
    policy = value is not None
    if policy and (imp_cost is None or exp_value is None or deg is None):
        raise ValueError("battery_redispatch: value needs imp_cost, exp_value and deg")
    z2 = np.zeros((0, 0))
    if not policy:
        up = down = z2
    elif dev is None:
        up = down = np.full(base.shape, np.inf)
    else:
        up, down = np.maximum(f(dev), 0.0), np.maximum(-f(dev), 0.0)
    _redispatch_nb(f(base), f(limit), f(spare_cap), ch, dis, soc, f(soc0),
                   np.ascontiguousarray(bat_site, dtype=np.int64), f(keep), f(eta_c), f(eta_d),
                   f(soc_min), f(p_ch), f(p_dis), int(first), policy,
                   f(value) if policy else z2, f(imp_cost) if policy else z2,
                   f(exp_value) if policy else z2,
                   np.full(B, np.inf) if soc_max is None else f(soc_max),
                   f(deg) if policy else np.zeros(B),
                   up, down)
    return ch, dis, soc
