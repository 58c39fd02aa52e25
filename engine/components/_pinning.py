"""Every placed job pinned to its home site: what the block start of a coupled LP fixes.

For :mod:`engine.components.placement` (its pairs ``(j, c)`` and columns) and
:mod:`engine.backends.block_start` (which solves the sites apart with these columns fixed at
0, then the whole LP from their bases put together). Pinned so, a job's other pairs carry
nothing::

    p[j, c, t] = 0, y[j, c] = 0, x[j, c, t] = a[j, c, t] = 0, h[j, c, t] = 0  (c not home)
    m[j, c -> c', t] = 0                                                    (every move)

which is a feasible point of the placement whenever each job's home site can do its work
alone, and one in which no row holds columns of two sites.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.model.formulation import Formulation

__all__ = ["BLOCK_START_NOTE", "home_pairs", "note_block_start"]


#: ``model.notes`` key: a function giving the columns of every job's pairs but its home one
#: (see :func:`note_block_start` and :mod:`engine.backends.block_start`).
BLOCK_START_NOTE = "block_start"


def home_pairs(scenario: Any, pl: Any) -> np.ndarray:
    """The home pair of every placed job: the pair at the first site the job lists that it
    can reach, else its first pair in its home region (no transfer), else its first pair."""
    jobs = {j.name: j for j in scenario.jobs}
    names = [s.name for s in scenario.sites]
    Q = pl.pair_job.size
    home = np.full(pl.release.size, -1, np.int64)
    for q in range(Q - 1, -1, -1):  # backwards: the first pair of a kind wins
        if pl.pair_link[q] < 0:
            home[pl.pair_job[q]] = q
    for q in range(Q - 1, -1, -1):
        j = pl.pair_job[q]
        if home[j] < 0:
            home[j] = q
    for j, name in enumerate(pl.names):
        listed = list(jobs[name].sites or [])
        if not listed:
            continue
        qs = np.flatnonzero(pl.pair_job == j)
        for site in listed:
            hit = qs[pl.pair_site[qs] == names.index(site)] if site in names else qs[:0]
            if hit.size:
                home[j] = hit[0]
                break
    return home


def note_block_start(f: Formulation, pl: Any, e_pair: np.ndarray,
                      share: np.ndarray, meta: dict) -> None:
    """Put in ``model.notes["block_start"]`` a function returning the columns that, fixed
    at 0, pin every job to its home pair (power, share, transfers and arrivals of the other
    pairs, the run's share at them and every checkpoint move) and, per column, the sites it
    ties together (the job's home site, and the pair's site or a move's two sites: shape
    ``(n, 3)``). Fixed so, the placement couples no two sites (a feasible point of the LP
    whenever each job's home site can do its work alone), which
    :mod:`engine.backends.block_start` uses to start the coupled LP from the sites' own
    optima. A function, not the arrays: they are as long as the placement's columns and
    only that solve path needs them (it holds only arrays ``meta`` keeps anyway; the
    power columns' indices are made when it runs). Only for an LP split (a ``single_site`` job makes the model a MILP)."""
    if pl.single.any() or pl.pair_job.size <= pl.release.size:
        return  # a MILP, or one pair per job: nothing to pin
    m = f.model
    scenario = f.data.scenario

    def columns() -> tuple[np.ndarray, np.ndarray]:
        home = home_pairs(scenario, pl)
        other = np.ones(pl.pair_job.size, bool)
        other[home] = False
        home_site = pl.pair_site[home[pl.pair_job]]  # per pair
        cols, ties = [], []

        def add(idx: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray) -> None:
            cols.append(idx)
            ties.append(np.stack([home_site[pair_a], pl.pair_site[pair_a],
                                  pl.pair_site[pair_b]], axis=1))

        sel = other[e_pair]
        add(m.var_groups["placement/power_mw"].idx.ravel()[sel], e_pair[sel], e_pair[sel])
        q = np.flatnonzero(other)
        add(share[q], q, q)
        if "placement/transfer_gb" in m.var_groups:
            rp = meta["transfer_pair"]
            for name in ("placement/transfer_gb", "placement/arrived_gb"):
                add(m.var_groups[name].idx.ravel()[other[rp]], rp[other[rp]], rp[other[rp]])
        if "placement/run_at" in m.var_groups:
            ck = {j.name: getattr(j, "checkpoint_gb", 0.0) for j in scenario.jobs}
            on = np.array([ck.get(n, 0.0) for n in pl.names])[pl.pair_job[e_pair]] > 0
            ent = e_pair[on]
            add(m.var_groups["placement/run_at"].idx.ravel()[other[ent]], ent[other[ent]],
                ent[other[ent]])
        if "placement/checkpoint_moved" in m.var_groups:
            info = meta.get("migration") or {}
            add(m.var_groups["placement/checkpoint_moved"].idx.ravel(), info["src"],
                info["dst"])
        return (np.concatenate(cols).astype(np.int64),
                np.concatenate(ties).astype(np.int64))

    m.notes[BLOCK_START_NOTE] = columns
