"""Placement across sites ("East data, West compute"): jobs at several sites after their data
has moved over the links, and each region's inference within its latency budget.

A job handled here (several allowed sites, or data to move to its one site; see
:mod:`engine.components._sites`) has pairs ``(j, c)``: the allowed sites ``c`` its data can
reach (home region, or a region with a direct link). With work ``W_j`` (``energy_mwh``, or
``gpu_hours`` at ``k_c = 1000 / kW per GPU`` GPU-hours per MWh; ``k_c = 1`` for energy) and
hours ``t`` of its window ``[release_j, deadline_j)``::

    0 <= p[j, c, t] <= Pmax_{j, c}     (0 where the site pauses jobs)  (placement/power_mw)
    sum_t k_c p[j, c, t] = W_j y[j, c]                                   (placement/work)
    sum_c y[j, c] = 1,  0 <= y <= 1 (binary for ``single_site: true``)   (placement/one_site)

Data (``data_gb`` = ``D_j``, at ``home_region``) must reach a remote site before the work
that needs it; ``x`` (the share of ``D_j``; ``D_j x`` GB) moved over the link in hour ``t``,
``a`` the share arrived by its end (shares keep the coefficients near 1)::

    a[j, c, t] = a[j, c, t-1] + x[j, c, t],  a[j, c, release - 1] = 0     (placement/arrival)
    a[j, c, deadline - 1] = y[j, c]                                      (placement/data)

LP split (the default, preemptible jobs): the site works on the share of the data that is
there, ``p[j, c, t] <= Pmax_{j, c} a[j, c, t-1]`` (placement/data_ready; mostly slack at
the optimum, so the highs backend adds only the violated pairs' rows,
:mod:`engine.backends.lazy`, with the same optimum). One site
(``single_site: true``): a binary ``u[j, c, t]`` says the whole data set is there::

    u[t] >= u[t-1],  u[t] <= a[t-1],  p[j, c, t] <= Pmax_{j, c} u[t]
        (placement/ready_stays, placement/data_before_run, placement/run_if_ready)

so a job runs at a remote site only once all its data has arrived. Links
(:mod:`engine.components.links`) bound the TB of every transfer sharing a link, direction
and hour, ``sum D_j x / 1000 <= 0.45 bandwidth_gbps`` (placement/link); each GB moved draws ``energy_kwh_per_gb / 1000`` MWh at the
receiving site and at the home region's first site, and costs ``price_per_gb`` (term
``transfer``).

Inference of region ``r`` (:mod:`engine.components.regions`), at the sites ``S_r`` within
its latency budget::

    sum_{s in S_r} q[r, s, t] = D[r, t],  0 <= q <= D[r, t]       (placement/inference)

Every site's IT capacity is shared by all jobs and inference::

    sum_{jobs at s} p + sum_r q[r, s, t] <= IT capacity_s - inflex[s, t]
        (placement/it_capacity, only at (site, hour) slots the bounds do not imply)

and ``PUE[s, t] (p + q)`` is withdrawn from the site bus as variable facility load.

A job with a checkpoint (``checkpoint_gb``) may migrate mid-run by moving it over a link
(:mod:`engine.components._migration`: it works only where its run, i.e. its checkpoint,
is; the moves share the link rows, draw energy at both ends and pay the link's price).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.components._migration import add_moves, extract_moves
from engine.components._migration import check as check_migration
from engine.components._pinning import note_block_start
from engine.components._sites import hosts, is_placed, linked, max_power_at, reachable, region_of
from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation

__all__ = ["COMPONENT", "PlacementData"]

#: 1 Gbps carries 450 GB in an hour.
_GB_H = 3600.0 / 8.0


@dataclass
class PlacementData:
    """Placed jobs (P), their (job, site) pairs (Q) and the inference pairs, as arrays."""

    names: list[str]
    tenant: list[str | None]
    release: np.ndarray
    deadline: np.ndarray
    work: np.ndarray
    work_unit: list[str]
    data_gb: np.ndarray
    single: np.ndarray
    pair_job: np.ndarray
    pair_site: np.ndarray
    pair_pmax: np.ndarray
    pair_coef: np.ndarray
    pair_link: np.ndarray
    pair_dir: np.ndarray
    pair_src: np.ndarray
    link_gb_h: np.ndarray
    link_mwh_per_gb: np.ndarray
    link_price: np.ndarray
    link_names: list[str]
    inf_region: np.ndarray  # region position of each region with a demand
    inf_demand: np.ndarray  # (R', T) IT MW
    inf_pair_reg: np.ndarray  # (row of inf_region) of each inference pair
    inf_pair_site: np.ndarray


def round_trip_ms(scenario: Any, region: Any, site_name: str) -> float | None:
    """Round trip from a region's users to a site (0 inside the region; None unreachable)."""
    reg = region_of(scenario).get(site_name)
    if reg == region.name:
        return 0.0
    lk = None if reg is None else linked(scenario, region.name, reg)
    return None if lk is None else 2.0 * scenario.links[lk[0]].latency_ms


def serving_sites(scenario: Any, region: Any) -> list[int]:
    """Sites with a data center within the region's latency budget."""
    budget = region.latency_budget_ms
    out = []
    for i, s in enumerate(scenario.sites):
        rtt = round_trip_ms(scenario, region, s.name)
        if s.datacenter is not None and rtt is not None and budget is not None and rtt <= budget:
            out.append(i)
    return out


def check(scenario: Any) -> None:
    check_migration(scenario)
    regions = [r.name for r in scenario.regions]
    for k, job in enumerate(scenario.jobs):
        path = f"jobs[{k}]"
        if job.home_region is not None and job.home_region not in regions:
            raise ValueError(f"{path}.home_region: unknown region {job.home_region!r}; regions "
                             f"are {regions}")
        if not is_placed(scenario, job):
            continue
        if job.data_gb > 0 and job.home_region is None:
            raise ValueError(f"{path}.home_region: job {job.name!r} has data_gb={job.data_gb:g} "
                             "and may run at several sites: say where its data is")
        if not job.preemptible or job.power_cap is not None or job.gpu_block is not None:
            what = ("preemptible" if not job.preemptible else
                    "power_cap" if job.power_cap is not None else "gpu_block")
            raise ValueError(f"{path}.{what}: job {job.name!r} is placed across sites, which "
                             "takes preemptible jobs without power_cap or gpu_block (a job that "
                             "must run whole at one site: single_site: true); list one site in "
                             "jobs[].sites to pin it")
        if job.deadline_h > scenario.horizon_h:
            raise ValueError(f"{path}.deadline_h: must be <= horizon_h={scenario.horizon_h}, "
                             f"got {job.deadline_h}")
        cands = reachable(scenario, job)
        if not cands:
            allowed = [scenario.sites[s].name for s in hosts(scenario, job)]
            raise ValueError(
                f"{path}.sites: job {job.name!r} is allowed at no site its data can reach from "
                f"home_region {job.home_region!r} (allowed sites with a data center: {allowed}; "
                "a site is reachable in the home region or in a region with a direct link)")
        hours = job.deadline_h - job.release_h
        most = 0.0
        for s, _, _ in cands:
            dc = scenario.sites[s].datacenter
            coef = 1.0 if job.energy_mwh is not None else 1000.0 / dc.it_power_per_gpu_kw
            most += coef * max_power_at(job, dc) * hours
        need = job.energy_mwh if job.energy_mwh is not None else job.gpu_hours
        if need > most * (1 + 1e-9):
            unit = "MWh" if job.energy_mwh is not None else "GPU-hours"
            raise ValueError(f"{path}: job {job.name!r} needs {need:g} {unit} but its sites can "
                             f"do at most {most:g} between release_h={job.release_h} and "
                             f"deadline_h={job.deadline_h}")
    for i, region in enumerate(scenario.regions):
        demand = np.asarray(region.inference_it_mw, dtype=np.float64)
        if not np.any(demand > 0):
            continue
        if region.latency_budget_ms is None:
            raise ValueError(f"regions[{i}].latency_budget_ms: region {region.name!r} has an "
                             "inference demand: give its latency budget (round trip, ms)")
        if not serving_sites(scenario, region):
            rtts = {s.name: round_trip_ms(scenario, region, s.name) for s in scenario.sites
                    if s.datacenter is not None}
            raise ValueError(
                f"regions[{i}].latency_budget_ms: no site with a data center is within "
                f"{region.latency_budget_ms:g} ms round trip of region {region.name!r}, got "
                f"round trips {rtts} (None: no direct link)")


def prepare_scenario(data: Any) -> dict[str, Any]:
    sc = data.scenario
    placed = [j for j in sc.jobs if is_placed(sc, j)]
    regions = sc.regions
    demand = [np.broadcast_to(np.asarray(r.inference_it_mw, np.float64), (data.T,))
              for r in regions]
    inf_region = np.array([i for i, d in enumerate(demand) if np.any(d > 0)], np.int64)
    if not placed and not inf_region.size:
        return {"placement": None}
    first_site = {r.name: [s.name for s in sc.sites].index(r.sites[0]) for r in regions
                  if r.sites}
    rows = []
    for p, job in enumerate(placed):
        for s, link, direction in reachable(sc, job):
            dc = sc.sites[s].datacenter
            coef = 1.0 if job.energy_mwh is not None else 1000.0 / dc.it_power_per_gpu_kw
            src = first_site.get(job.home_region, -1) if link >= 0 else -1
            rows.append((p, s, max_power_at(job, dc), coef, link, direction, src))
    cols = list(zip(*rows)) if rows else [()] * 7
    links = sc.links
    inf_pairs = [(k, s) for k, r in enumerate(inf_region)
                 for s in serving_sites(sc, regions[r])]
    return {"placement": PlacementData(
        names=[j.name for j in placed], tenant=[j.tenant for j in placed],
        release=np.array([j.release_h for j in placed], np.int64),
        deadline=np.array([j.deadline_h for j in placed], np.int64),
        work=np.array([j.energy_mwh if j.energy_mwh is not None else j.gpu_hours
                       for j in placed], np.float64),
        work_unit=["mwh" if j.energy_mwh is not None else "gpu_h" for j in placed],
        data_gb=np.array([j.data_gb for j in placed], np.float64),
        single=np.array([j.single_site for j in placed], bool),
        pair_job=np.array(cols[0], np.int64), pair_site=np.array(cols[1], np.int64),
        pair_pmax=np.array(cols[2], np.float64), pair_coef=np.array(cols[3], np.float64),
        pair_link=np.array(cols[4], np.int64), pair_dir=np.array(cols[5], np.int64),
        pair_src=np.array(cols[6], np.int64),
        link_gb_h=np.array([lk.bandwidth_gbps * _GB_H for lk in links], np.float64),
        link_mwh_per_gb=np.array([lk.energy_kwh_per_gb / 1000.0 for lk in links], np.float64),
        link_price=np.array([lk.price_per_gb for lk in links], np.float64),
        link_names=[f"{lk.from_region}-{lk.to_region}" for lk in links],
        inf_region=inf_region,
        inf_demand=np.array([demand[r] for r in inf_region]).reshape(-1, data.T),
        inf_pair_reg=np.array([k for k, _ in inf_pairs], np.int64),
        inf_pair_site=np.array([s for _, s in inf_pairs], np.int64),
    )}


def _prev(n: int, first: np.ndarray) -> np.ndarray:
    """Position of the previous hour of each entry (-1 at the first entry of a pair)."""
    prev = np.arange(n) - 1
    prev[first] = -1
    return prev


def add(f: Formulation) -> None:
    pl = f.data.placement
    if pl is None:
        return
    m, T, S = f.model, f.T, f.S
    pue = np.array([sd.pue for sd in f.data.sites])
    meta: dict[str, Any] = {}
    slot_cols, slot_of, slot_reach = [], [], []
    Q = pl.pair_job.size
    if Q:
        lengths = (pl.deadline - pl.release)[pl.pair_job]
        first = np.cumsum(lengths) - lengths
        e_pair = np.repeat(np.arange(Q), lengths)
        E = e_pair.size
        e_t = pl.release[pl.pair_job][e_pair] + np.arange(E) - first[e_pair]
        e_site = pl.pair_site[e_pair]
        paused = np.zeros((S, T), bool)
        for s, sd in enumerate(f.data.sites):
            up = getattr(sd, "grid_available", np.zeros(0, bool))
            if getattr(sd, "jobs_pause", False) and np.size(up):
                paused[s] = ~np.asarray(up, bool)
        pmax = pl.pair_pmax[e_pair]
        p = m.add_variables("placement/power_mw", E, ub=np.where(paused[e_site, e_t], 0.0, pmax))
        single_pair = pl.single[pl.pair_job]
        share = np.empty(Q, np.int64)
        share[~single_pair] = m.add_variables("placement/share", int((~single_pair).sum()),
                                              ub=1.0).idx
        share[single_pair] = m.add_variables("placement/choose_site", int(single_pair.sum()),
                                             ub=1.0, integer=True).idx
        m.add_constraints("placement/work", Q, [(p.idx, pl.pair_coef[e_pair], e_pair),
                                                (share, -pl.work[pl.pair_job], np.arange(Q))],
                          lb=0.0, ub=0.0)
        m.add_constraints("placement/one_site", pl.release.size,
                          [(share, 1.0, pl.pair_job)], lb=1.0, ub=1.0)
        meta.update(e_pair=e_pair, e_t=e_t, e_site=e_site, share=share)
        _add_transfers(f, pl, p.idx, e_pair, e_t, first, lengths, meta)
        add_moves(f, pl, p.idx, e_pair, e_t, first, meta)
        _link_rows(f, pl, meta)
        note_block_start(f, pl, e_pair, share, meta)
        f.inject(p.idx, e_site, -pue[e_site, e_t], t_of=e_t)
        f.facility(p.idx, e_site, e_t, pue[e_site, e_t])
        slot_cols.append(p.idx)
        slot_of.append(e_site * T + e_t)
        slot_reach.append(pmax)
    if pl.inf_region.size:
        K = pl.inf_pair_site.size
        dem = pl.inf_demand[pl.inf_pair_reg]
        q = m.add_variables("placement/inference_mw", (K, T), ub=dem)
        rows = pl.inf_pair_reg[:, None] * T + np.arange(T)[None, :]
        m.add_constraints("placement/inference", pl.inf_demand.shape, [(q.idx, 1.0, rows)],
                          lb=pl.inf_demand, ub=pl.inf_demand)
        f.inject(q.idx, pl.inf_pair_site, -pue[pl.inf_pair_site])
        t_all = np.broadcast_to(np.arange(T), (K, T)).ravel()
        site_all = np.repeat(pl.inf_pair_site, T)
        f.facility(q.idx.ravel(), site_all, t_all, pue[site_all, t_all])
        slot_cols.append(q.idx.ravel())
        slot_of.append(site_all * T + t_all)
        slot_reach.append(dem.ravel())
        meta["inference"] = q
    _it_capacity(f, slot_cols, slot_of, slot_reach)
    f.meta["placement"] = meta


def _add_transfers(f: Formulation, pl: PlacementData, p: np.ndarray, e_pair: np.ndarray,
                   e_t: np.ndarray, first: np.ndarray, lengths: np.ndarray, meta: dict) -> None:
    """Transfer and arrival variables of the remote pairs with data, their gates, the link
    rows, the transfer energy at both ends and its price."""
    m, T = f.model, f.T
    remote = (pl.pair_link >= 0) & (pl.data_gb[pl.pair_job] > 0)
    if not remote.any():
        return
    sel = remote[e_pair]
    rp = e_pair[sel]  # pair of each transfer entry
    n = rp.size
    t = e_t[sel]
    link = pl.pair_link[rp]
    D = pl.data_gb[pl.pair_job[rp]]
    # in fractions of the job's data (GB / D): every coefficient near 1 but the link rows'
    # D in TB (GB-sized coefficients next to MW ones stalled HiGHS' simplex)
    x = m.add_variables("placement/transfer_gb", n, ub=np.minimum(1.0, pl.link_gb_h[link] / D))
    a = m.add_variables("placement/arrived_gb", n, ub=1.0)
    starts = np.flatnonzero(np.r_[True, rp[1:] != rp[:-1]])
    prev = _prev(n, starts)
    a_prev = np.where(prev >= 0, a.idx[np.maximum(prev, 0)], -1)
    m.add_constraints("placement/arrival", n,
                      [(a.idx, 1.0), (a_prev, -1.0), (x.idx, -1.0)], lb=0.0, ub=0.0)
    last = np.r_[starts[1:], n] - 1
    pairs = rp[starts]
    share = meta["share"]
    m.add_constraints("placement/data", pairs.size,
                      [(a.idx[last], 1.0), (share[pairs], -1.0)], lb=0.0, ub=0.0)
    pcols = p[sel]
    pmax = pl.pair_pmax[rp]
    single = pl.single[pl.pair_job[rp]]
    lp = ~single
    if lp.any():
        m.add_constraints("placement/data_ready", int(lp.sum()),
                          [(pcols[lp], 1.0), (a_prev[lp], -pmax[lp])], ub=0.0)
        # almost all slack at the optimum: the highs backend adds those of the (job, site)
        # pairs it finds violated only (engine.backends.lazy; the same optimum)
        m.notes.setdefault("lazy_rows", []).append(("placement/data_ready", rp[lp]))
    if single.any():
        ns = int(single.sum())
        u = m.add_variables("placement/ready", ns, ub=1.0, integer=True)
        u_of = np.full(n, -1, np.int64)
        u_of[single] = u.idx
        u_prev = np.where(prev >= 0, u_of[np.maximum(prev, 0)], -1)[single]
        m.add_constraints("placement/ready_stays", ns, [(u.idx, 1.0), (u_prev, -1.0)], lb=0.0)
        m.add_constraints("placement/data_before_run", ns,
                          [(u.idx, 1.0), (a_prev[single], -1.0)], ub=0.0)
        m.add_constraints("placement/run_if_ready", ns,
                          [(pcols[single], 1.0), (u.idx, -pmax[single])], ub=0.0)
    # links: (link, direction, hour) slots of every transfer, in TB (rows: _link_rows)
    meta.setdefault("link_terms", []).append(((link * 2 + pl.pair_dir[rp]) * T + t, x.idx,
                                              D / 1000.0))
    e = pl.link_mwh_per_gb[link] * D
    for site in (pl.pair_site[rp], pl.pair_src[rp]):
        ok = site >= 0
        if np.any(ok & (e > 0)):
            f.inject(x.idx[ok], site[ok], -e[ok], t_of=t[ok])
            f.facility(x.idx[ok], site[ok], t[ok], e[ok])
    if np.any(pl.link_price[link] > 0):
        f.cost("transfer", x.idx, pl.link_price[link] * D)
    meta.update(transfer_sel=sel, transfer_pair=rp, transfer_t=t, transfer_link=link)


def _link_rows(f: Formulation, pl: PlacementData, meta: dict) -> None:
    """A row per (link, direction, hour) that two or more transfers (data or checkpoints)
    share, in TB; a lone transfer is bounded by its column's upper bound."""
    terms = meta.pop("link_terms", [])
    if not terms:
        return
    slot, cols, coef = (np.concatenate(v) for v in zip(*terms))
    used, row_of, count = np.unique(slot, return_inverse=True, return_counts=True)
    shared = count[row_of] > 1
    if shared.any():
        used2, row2 = np.unique(slot[shared], return_inverse=True)
        f.model.add_constraints("placement/link", used2.size,
                                [(cols[shared], coef[shared], row2)],
                                ub=pl.link_gb_h[used2 // (2 * f.T)] / 1000.0)


def _it_capacity(f: Formulation, cols: list, slots: list, reach: list) -> None:
    """Rows sharing each site's IT capacity between the placed jobs, inference and the jobs
    at one site, where the bounds could exceed it."""
    jmeta = f.meta.get("job")
    if jmeta is not None:
        g = f.model.var_groups["job/power_mw"]
        cols.append(g.idx)
        slots.append(jmeta["site"] * f.T + jmeta["t_of"])
        reach.append(f.data.jobs.max_power_mw[jmeta["job_of"]])
    if not cols:
        return
    cols_, slot, reach_ = (np.concatenate(v) for v in (cols, slots, reach))
    head = np.array([sd.it_capacity_mw - sd.inflexible_it_mw for sd in f.data.sites]).ravel()
    total = np.bincount(slot, weights=reach_, minlength=head.size)
    sel = (total > head * (1 + 1e-12))[slot]
    if sel.any():
        used, row_of = np.unique(slot[sel], return_inverse=True)
        f.model.add_constraints("placement/it_capacity", used.size, [(cols_[sel], 1.0, row_of)],
                                ub=np.maximum(head[used], 0.0))


def extract(r: Extraction) -> None:
    """Per site ``placement.<site>/jobs_mw``, ``inference_mw``, ``transfer_mw`` (transfer
    energy drawn there); per link and direction ``link.<a>-<b>/gb`` and ``.../gb_back``; the
    ``placement`` table (one row per job and site: share, IT energy, GB moved) and rows for
    the placed jobs in the jobs table; KPIs ``data_moved_tb``, ``transfer_energy_mwh``,
    ``placement_remote_share`` (of the placed jobs' IT energy, outside the home region)."""
    import pandas as pd

    f = r.f
    pl = f.data.placement
    meta = f.meta.get("placement")
    r.kpis.update(data_moved_tb=0.0, transfer_energy_mwh=0.0, checkpoint_moved_tb=0.0)
    if pl is None or meta is None:
        return
    names, S, T = r.site_names, f.S, f.T
    jobs_mw, inf_mw, tr_mw = np.zeros((S, T)), np.zeros((S, T)), np.zeros((S, T))
    Q = pl.pair_job.size
    pair_mwh, pair_gb = np.zeros(Q), np.zeros(Q)
    flow = np.zeros((len(pl.link_names), 2, T))
    moves: list = []
    ck_gb = extract_moves(r, pl, meta, tr_mw, flow, moves)
    if Q:
        p = r.val("placement/power_mw")
        np.add.at(jobs_mw, (meta["e_site"], meta["e_t"]), p)
        pair_mwh = np.bincount(meta["e_pair"], weights=p, minlength=Q)
        x = _transfer_gb(r, pl, meta)
        if x is not None:
            rp, t, link = meta["transfer_pair"], meta["transfer_t"], meta["transfer_link"]
            pair_gb = np.bincount(rp, weights=x, minlength=Q)
            e = pl.link_mwh_per_gb[link] * x
            for site in (pl.pair_site[rp], pl.pair_src[rp]):
                ok = site >= 0
                np.add.at(tr_mw, (site[ok], t[ok]), e[ok])
            np.add.at(flow, (link, pl.pair_dir[rp], t), x)
            r.kpis["data_moved_tb"] = float(x.sum()) / 1000.0
        if x is not None or moves:
            for k, ln in enumerate(pl.link_names):
                r.columns[f"link.{ln}/gb"] = flow[k, 0]
                r.columns[f"link.{ln}/gb_back"] = flow[k, 1]
            r.kpis["transfer_energy_mwh"] = float(tr_mw.sum())
    if "inference" in meta:
        q = r.val("placement/inference_mw")
        np.add.at(inf_mw, pl.inf_pair_site, q)
    r.flexible_it_mw += jobs_mw + inf_mw
    r.tables["transfer_mw"] = tr_mw
    _consumers(r, pl, meta, moves)
    for s, name in enumerate(names):
        if f.data.sites[s].site.datacenter is not None:
            r.columns[f"placement.{name}/jobs_mw"] = jobs_mw[s]
            r.columns[f"placement.{name}/inference_mw"] = inf_mw[s]
            r.columns[f"placement.{name}/transfer_mw"] = tr_mw[s]
    share = r.x[meta["share"]] if Q else np.zeros(0)
    table = pd.DataFrame({
        "job": [pl.names[j] for j in pl.pair_job], "site": [names[s] for s in pl.pair_site],
        "remote": pl.pair_link >= 0, "share": share, "it_energy_mwh": pair_mwh,
        "data_moved_gb": pair_gb, "checkpoint_moved_gb": ck_gb,
        "tenant": [pl.tenant[j] for j in pl.pair_job]})
    r.tables["placement"] = table
    remote_mwh = float(pair_mwh[pl.pair_link >= 0].sum())
    r.kpis["placement_remote_share"] = remote_mwh / pair_mwh.sum() if pair_mwh.sum() else 0.0
    _jobs_rows(r, pl, meta, pair_mwh, share)


def _transfer_gb(r: Extraction, pl: PlacementData, meta: dict) -> np.ndarray | None:
    """GB moved by each transfer entry (the model holds fractions of the job's data)."""
    x = r.val("placement/transfer_gb")
    return None if x is None else x * pl.data_gb[pl.pair_job[meta["transfer_pair"]]]


def _consumers(r: Extraction, pl: PlacementData, meta: dict, moves: list) -> None:
    """``(tenant, site, t, MWh)`` of the placed jobs (facility energy and the transfer energy
    of their data, at both ends) and of the regions' inference, for the tenant ledger."""
    f = r.f
    pue = np.array([sd.pue for sd in f.data.sites])
    out = r.tables.setdefault("consumers", [])
    tenant = np.array([t or "" for t in pl.tenant], dtype=object)
    parts = []
    if pl.pair_job.size:
        e_site, e_t = meta["e_site"], meta["e_t"]
        p = r.val("placement/power_mw")
        parts.append((tenant[pl.pair_job[meta["e_pair"]]], e_site, e_t, p * pue[e_site, e_t]))
        x = _transfer_gb(r, pl, meta)
        if x is not None:
            rp, t = meta["transfer_pair"], meta["transfer_t"]
            e = pl.link_mwh_per_gb[meta["transfer_link"]] * x
            for site in (pl.pair_site[rp], pl.pair_src[rp]):
                ok = site >= 0
                parts.append((tenant[pl.pair_job[rp]][ok], site[ok], t[ok], e[ok]))
        for pair, site, t, e in moves:  # checkpoint moves, at both ends
            parts.append((tenant[pl.pair_job[pair]], site, t, e))
    if "inference" in meta:
        q = r.val("placement/inference_mw")
        K, T = q.shape
        regions = f.data.scenario.regions
        owner = np.array([regions[pl.inf_region[k]].tenant or "" for k in pl.inf_pair_reg],
                         dtype=object)
        site = np.repeat(pl.inf_pair_site, T)
        t = np.tile(np.arange(T), K)
        parts.append((np.repeat(owner, T), site, t, (q * pue[pl.inf_pair_site]).ravel()))
    for ten, site, t, mwh in parts:
        for name in set(ten):
            if name:
                sel = ten == name
                out.append((name, site[sel], t[sel], mwh[sel]))


def _jobs_rows(r: Extraction, pl: PlacementData, meta: dict, pair_mwh: np.ndarray,
               share: np.ndarray) -> None:
    """The placed jobs in the jobs and job-power tables; ``job_completion`` over all jobs."""
    import pandas as pd

    P = len(pl.names)
    if not P:
        return
    f = r.f
    done = np.bincount(pl.pair_job, weights=pl.pair_coef * pair_mwh, minlength=P)
    delivered = np.bincount(pl.pair_job, weights=pair_mwh, minlength=P)
    best = np.full(P, -1)
    order = np.lexsort((-share, pl.pair_job))
    jobs_with, at = np.unique(pl.pair_job[order], return_index=True)
    best[jobs_with] = pl.pair_site[order][at]
    rows = pd.DataFrame({
        "job": pl.names, "site": [r.site_names[s] for s in best], "release_h": pl.release,
        "deadline_h": pl.deadline, "preemptible": True, "start_h": np.nan,
        "energy_mwh": np.where(np.array(pl.work_unit) == "mwh", pl.work, np.nan),
        "delivered_mwh": delivered,
        "work_gpu_h": np.where(np.array(pl.work_unit) == "gpu_h", done, np.nan)})
    old = r.tables.get("jobs")
    r.tables["jobs"] = rows if old is None or old.empty else pd.concat([old, rows],
                                                                       ignore_index=True)
    p = r.val("placement/power_mw")
    if p is not None:
        key = pl.pair_job[meta["e_pair"]] * f.T + meta["e_t"]
        uniq, inv = np.unique(key, return_inverse=True)
        power = np.bincount(inv, weights=p)
        extra = pd.DataFrame({"job": [pl.names[j] for j in uniq // f.T],
                              "time": f.data.index[uniq % f.T], "power_mw": power})
        old = r.tables.get("job_power")
        if old is not None and len(old):
            old = old.assign(job=old["job"].astype(str))
            extra = pd.concat([old, extra], ignore_index=True)
        r.tables["job_power"] = extra
    # completion over every job, weighted by IT energy: the one-site jobs' (their KPI) and
    # the placed ones' (work done over work needed, each weighted by the energy it drew)
    frac = np.minimum(done / np.where(pl.work > 0, pl.work, 1.0), 1.0)
    frac[pl.work <= 0] = 1.0
    need_placed = float(np.sum(delivered / np.maximum(frac, 1e-12)))
    jd = getattr(f.data, "jobs", None)
    need1 = float(jd.energy_mwh.sum()) if jd is not None and len(jd.names) else 0.0
    done1 = r.kpis.get("job_completion", 1.0) * need1
    total = need1 + need_placed
    r.kpis["job_completion"] = (done1 + float(delivered.sum())) / total if total else 1.0


COMPONENT = Component(
    name="placement", level="scenario", check=check, prepare_scenario=prepare_scenario,
    add=add, extract=extract,
)
