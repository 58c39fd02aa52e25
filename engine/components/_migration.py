"""Checkpoint migration of placed jobs (``jobs[].checkpoint_gb``), for
:mod:`engine.components.placement`.

A placed, preemptible job with a checkpoint (``K_j`` = ``checkpoint_gb`` > 0) is one run
whose state lives where its checkpoint is. ``h[j, c, t]`` (share of the run at site ``c``
during hour ``t``) starts anywhere and changes only by moving the checkpoint: ``m[j, c->c',
t]`` (share of ``K_j`` moved in hour ``t``, for ``release < t < deadline``) between two of
the job's sites in one region (no link) or in regions with a direct link::

    sum_c h[j, c, release] = 1                                          (placement/run_start)
    h[j, c, t] = h[j, c, t-1] + sum_c' m[c'->c, t] - sum_c' m[c->c', t]  (placement/run_moves)
    p[j, c, t] <= Pmax_{j, c} (h[j, c, t] - sum_c' m[c'->c, t])          (placement/run_here)

so work at a site needs the run to be there (beyond the share of data the site holds, which
:mod:`engine.components.placement` checks as before), and the share that moves in hour ``t``
works nowhere in that hour (it is written at the end of ``t - 1`` and read at the start of
``t + 1``). A move over link ``l`` carries ``K_j m`` GB: it shares the link's bandwidth with
the data transfers of that direction and hour (placement/link), draws
``energy_kwh_per_gb_l / 1000 K_j m`` MWh at both sites and costs ``price_per_gb_l K_j m``
(cost term ``transfer``). Without a checkpoint a job's shares at its sites are independent
(moving work between sites is free, as before).

The shares are continuous (an LP): a run may sit at two sites in parts, which counts as
working at each in proportion; the hand cases in ``tests/test_migration.py`` have integral
optimums.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.components._sites import is_placed, linked, reachable, region_of

__all__ = ["add_moves", "check", "extract_moves"]


def check(scenario: Any) -> None:
    """``checkpoint_gb`` only on placed jobs that can run at two sites, not ``single_site``."""
    for k, job in enumerate(scenario.jobs):
        ck = getattr(job, "checkpoint_gb", 0.0)
        if not ck:
            continue
        path = f"jobs[{k}].checkpoint_gb"
        if job.single_site:
            raise ValueError(f"{path}: job {job.name!r} has single_site: true and never "
                             f"migrates, got checkpoint_gb={ck:g} (drop one of them)")
        cands = reachable(scenario, job) if is_placed(scenario, job) else []
        if len(cands) < 2:
            raise ValueError(f"{path}: job {job.name!r} can run at only one site, got "
                             f"checkpoint_gb={ck:g}; migration needs two sites its data can "
                             "reach (jobs[].sites, home_region, links)")
        where = region_of(scenario)
        regs = [where.get(scenario.sites[c].name) for c, _, _ in cands]
        if not any(a == b or (a is not None and b is not None and linked(scenario, a, b))
                   for i, a in enumerate(regs) for b in regs[i + 1:]):
            raise ValueError(f"{path}: job {job.name!r} has checkpoint_gb={ck:g} but no two "
                             f"of its sites are in one region or in linked regions (regions "
                             f"{regs}): its checkpoint could never move; add a link")


def _move_pairs(scenario: Any, pl: Any) -> list[tuple[int, int, int, int]]:
    """``(from pair, to pair, link, direction)`` of every move a checkpointed job may make
    (link -1 inside one region, or between sites in no region)."""
    ck = {j.name: getattr(j, "checkpoint_gb", 0.0) for j in scenario.jobs}
    where = region_of(scenario)
    out = []
    by_job: dict[int, list[int]] = {}
    for q, j in enumerate(pl.pair_job):
        if ck.get(pl.names[j], 0.0):
            by_job.setdefault(int(j), []).append(q)
    for pairs in by_job.values():
        for a in pairs:
            ra = where.get(scenario.sites[pl.pair_site[a]].name)
            for b in pairs:
                if b == a:
                    continue
                rb = where.get(scenario.sites[pl.pair_site[b]].name)
                if ra == rb:
                    out.append((a, b, -1, 0))
                elif ra is not None and rb is not None and (lk := linked(scenario, ra, rb)):
                    out.append((a, b, *lk))
    return out


def add_moves(f: Any, pl: Any, p: np.ndarray, e_pair: np.ndarray, e_t: np.ndarray,
              first: np.ndarray, meta: dict) -> None:
    """Run-location and move variables, their rows, energy and price; link terms go to
    ``meta["link_terms"]`` (rows built by the placement with the data transfers')."""
    sc = f.data.scenario
    ck = {j.name: getattr(j, "checkpoint_gb", 0.0) for j in sc.jobs}
    K = np.array([ck.get(n, 0.0) for n in pl.names], np.float64)
    if not np.any(K > 0):
        return
    m = f.model
    on = K[pl.pair_job[e_pair]] > 0  # entries of checkpointed jobs
    ent = np.flatnonzero(on)
    h = np.full(e_pair.size, -1, np.int64)
    h[ent] = m.add_variables("placement/run_at", ent.size, ub=1.0).idx
    jobs = np.flatnonzero(K > 0)
    is_start = on & (e_t == pl.release[pl.pair_job[e_pair]])
    row_of_job = np.full(K.size, -1, np.int64)
    row_of_job[jobs] = np.arange(jobs.size)
    m.add_constraints("placement/run_start", jobs.size,
                      [(h[is_start], 1.0, row_of_job[pl.pair_job[e_pair[is_start]]])],
                      lb=1.0, ub=1.0)
    moves = _move_pairs(sc, pl)
    pmax = pl.pair_pmax[e_pair]
    later = ent[~is_start[ent]]  # entries with a previous hour: one balance row each
    row_of_ent = np.full(e_pair.size, -1, np.int64)
    row_of_ent[later] = np.arange(later.size)
    terms = [(h[later], 1.0, np.arange(later.size)), (h[later - 1], -1.0, np.arange(later.size))]
    here = [(p[ent], 1.0, np.arange(ent.size)), (h[ent], -pmax[ent], np.arange(ent.size))]
    row_here = np.full(e_pair.size, -1, np.int64)
    row_here[ent] = np.arange(ent.size)
    info = None
    if moves:
        src, dst, link, direction = (np.array(v, np.int64) for v in zip(*moves))
        job = pl.pair_job[src]
        n_h = pl.deadline[job] - pl.release[job] - 1  # hours with a previous one
        mv = np.repeat(np.arange(src.size), n_h)
        off = np.arange(mv.size) - np.repeat(np.cumsum(n_h) - n_h, n_h) + 1
        e_src, e_dst = first[src][mv] + off, first[dst][mv] + off  # entries of that hour
        t = e_t[e_dst]
        kk = K[job][mv]
        lk = link[mv]
        cap = np.where(lk >= 0, pl.link_gb_h[np.maximum(lk, 0)] / kk, 1.0)
        x = m.add_variables("placement/checkpoint_moved", mv.size, ub=np.minimum(1.0, cap))
        terms += [(x.idx, -1.0, row_of_ent[e_dst]), (x.idx, 1.0, row_of_ent[e_src])]
        here.append((x.idx, pmax[e_dst], row_here[e_dst]))
        over = lk >= 0
        if over.any():
            slot = (lk[over] * 2 + direction[mv][over]) * f.T + t[over]
            meta.setdefault("link_terms", []).append((slot, x.idx[over], kk[over] / 1000.0))
            e = pl.link_mwh_per_gb[lk[over]] * kk[over]
            for site in (pl.pair_site[src][mv][over], pl.pair_site[dst][mv][over]):
                if np.any(e > 0):
                    f.inject(x.idx[over], site, -e, t_of=t[over])
                    f.facility(x.idx[over], site, t[over], e)
            price = pl.link_price[lk[over]] * kk[over]
            if np.any(price > 0):
                f.cost("transfer", x.idx[over], price)
        info = {"src": src[mv], "dst": dst[mv], "t": t, "gb": kk, "link": lk,
                "dir": direction[mv]}
    if later.size:
        m.add_constraints("placement/run_moves", later.size, terms, lb=0.0, ub=0.0)
    m.add_constraints("placement/run_here", ent.size, here, ub=0.0)
    meta["migration"] = info


def extract_moves(r: Any, pl: Any, meta: dict, tr_mw: np.ndarray, flow: np.ndarray,
                  parts: list | None = None) -> np.ndarray:
    """Add the checkpoint moves' energy to ``tr_mw`` (site, hour) and their GB to ``flow``
    (link, direction, hour); append ``(pair, site, t, MWh)`` energy parts for the ledger;
    return the GB moved into each (job, site) pair."""
    Q = pl.pair_job.size
    gb_in = np.zeros(Q)
    info = meta.get("migration")
    x = r.val("placement/checkpoint_moved")
    if info is None or x is None:
        r.kpis["checkpoint_moved_tb"] = 0.0
        return gb_in
    gb = x * info["gb"]
    gb_in = np.bincount(info["dst"], weights=gb, minlength=Q)
    over = info["link"] >= 0
    np.add.at(flow, (info["link"][over], info["dir"][over], info["t"][over]), gb[over])
    e = np.where(over, pl.link_mwh_per_gb[np.maximum(info["link"], 0)], 0.0) * gb
    for pair in (info["src"], info["dst"]):
        np.add.at(tr_mw, (pl.pair_site[pair], info["t"]), e)
        if parts is not None:
            parts.append((pair, pl.pair_site[pair], info["t"], e))
    r.kpis["checkpoint_moved_tb"] = float(gb[over].sum()) / 1000.0
    return gb_in
