"""Deferrable energy: the one formulation behind compute jobs and EV charging sessions.

An *item* ``i`` (a job, a charging session) draws power only inside its window
``[release_i, deadline_i)``; its variables are laid out as flat *entries*, one per
(item, hour of its window), so nothing exists outside a window::

    0 <= p[i, t] <= Pmax_i                              (<prefix>/power_mw)
    sum_t p[i, t] = E_i                                 (<prefix>/energy)

A contiguous (non-preemptible) item runs ``d_i`` hours once started, at ``P_i`` and the
remainder in its last hour; binary starts ``s[i, tau]`` exist only for the feasible starts::

    sum_tau s[i, tau] = 1                               (<prefix>/start_once)
    p[i, t] = sum_{k=0..d_i-1} prof_i[k] * s[i, t - k]  (<prefix>/run)

A work-quantified item with a concave throughput curve (hull segments ``a_k + b_k x``, full
power ``P_full``)::

    0 <= w[i, t] <= P_full_i                            (<prefix>/work_mwh)
    w[i, t] <= a_k * P_full_i + b_k * p[i, t]           (<prefix>/throughput)
    sum_t w[i, t] = W_i                                 (<prefix>/work)

Shared capacity (IT room, charger power), one row per (place, hour) slot that the items'
bounds could overload (elsewhere the bounds imply it)::

    sum_{i at slot} p[i, t] <= head[slot]

These are plain functions on arrays; the components that use them (``jobs``, ``ev``) own
their inputs, validation, bus injections and results.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.model.linear import LinearModel

__all__ = ["Windows", "add_capacity", "add_capped", "add_energy", "add_runs", "check_run",
           "positions", "run_shape", "whole", "windows"]

#: Relative tolerance of "a whole number of block-hours" and of the run-length rounding.
INT_TOL = 1e-6


def whole(x: float) -> bool:
    """Whether ``x`` is a whole number (to :data:`INT_TOL`)."""
    return abs(x - round(x)) <= INT_TOL * max(1.0, abs(x))


def run_shape(energy_mwh: float, power_mw: float) -> tuple[int, float]:
    """Hours of a contiguous run and the power of its last hour (the remainder)."""
    if energy_mwh <= 0:
        return 0, 0.0
    ratio = energy_mwh / power_mw
    d = max(1, math.ceil(ratio - INT_TOL * max(1.0, ratio)))
    return d, max(energy_mwh - (d - 1) * power_mw, 0.0)


def positions(mask: np.ndarray) -> np.ndarray:
    """Position of each selected item among the selected ones (-1 elsewhere)."""
    pos = np.full(mask.size, -1, np.int64)
    pos[mask] = np.arange(int(mask.sum()))
    return pos


@dataclass
class Windows:
    """Flat entries of items' windows: ``owner`` (item of each entry), ``t_of`` (its hour),
    ``lengths`` (hours per item) and ``first`` (each item's first entry)."""

    owner: np.ndarray
    t_of: np.ndarray
    lengths: np.ndarray
    first: np.ndarray


def windows(release: np.ndarray, deadline: np.ndarray) -> Windows:
    """One entry per (item, hour of ``[release, deadline)``), items in order."""
    lengths = np.asarray(deadline, np.int64) - np.asarray(release, np.int64)
    first = np.cumsum(lengths) - lengths
    owner = np.repeat(np.arange(lengths.size), lengths)
    t_of = np.asarray(release, np.int64)[owner] + (np.arange(owner.size) - first[owner])
    return Windows(owner=owner, t_of=t_of, lengths=lengths, first=first)


def check_run(path: str, what: str, energy: float, power: float, room: np.ndarray,
              where: str) -> None:
    """A contiguous run must fit its window and, at some start, the room of each hour.

    Raises ``ValueError`` naming ``path`` (the item's field path) and ``what`` (its label).
    """
    d, last = run_shape(energy, power)
    if d == 0:
        return
    hours = room.size
    if d > hours:
        raise ValueError(
            f"{path}.deadline_h: non-preemptible {what} runs {d} contiguous hours "
            f"({energy:g} MWh at {power:g} MW) but its window {where} holds only {hours} h; "
            "move deadline_h, lower the energy, raise its power or set preemptible: true")
    from numpy.lib.stride_tricks import sliding_window_view

    need = np.full(d, power)
    need[-1] = last
    fits = np.all(sliding_window_view(room, d) >= need[None, :] * (1 - 1e-9), axis=1)
    if not fits.any():
        raise ValueError(
            f"{path}: non-preemptible {what} needs {power:g} MW for {d} contiguous "
            f"hours, but the IT capacity left by the inflexible load never allows it {where}")


def add_energy(m: LinearModel, name: str, cols: np.ndarray, owner: np.ndarray,
               mask: np.ndarray, lb: np.ndarray, ub: np.ndarray,
               extra: list[tuple[Any, ...]] | None = None) -> None:
    """``lb_i <= sum_t p[i, t] (+ extra terms) <= ub_i`` for the items in ``mask``.

    ``extra`` are further terms ``(cols, coef)`` aligned with the selected items' rows (an
    unmet-energy slack, say).
    """
    sel = mask[owner]
    terms: list[tuple[Any, ...]] = [(cols[sel], 1.0, positions(mask)[owner[sel]])]
    m.add_constraints(name, int(mask.sum()), terms + list(extra or []), lb=lb, ub=ub)


def add_runs(m: LinearModel, prefix: str, cols: np.ndarray, w: Windows, contiguous: np.ndarray,
             release: np.ndarray, duration_h: np.ndarray, power_mw: np.ndarray,
             last_power_mw: np.ndarray) -> dict[str, np.ndarray]:
    """Start binaries and contiguous runs (``<prefix>/start``, ``/start_once``, ``/run``)."""
    npj = np.flatnonzero(contiguous)
    d = duration_h[npj]
    n_starts = w.lengths[npj] - d + 1  # feasible starts only: release .. deadline - d
    s_job = np.repeat(npj, n_starts)
    s_pos = np.arange(s_job.size) - np.repeat(np.cumsum(n_starts) - n_starts, n_starts)
    starts = m.add_variables(f"{prefix}/start", s_job.size, ub=1.0, integer=True)
    m.add_constraints(f"{prefix}/start_once", npj.size,
                      [(starts.idx, 1.0, np.repeat(np.arange(npj.size), n_starts))],
                      lb=1.0, ub=1.0)
    # one row per hour of each contiguous item's window: p[i, t] - sum_k prof[k] s[t-k]
    sel = contiguous[w.owner]
    row_of_entry = np.cumsum(sel) - 1  # row of each entry of a contiguous item
    dd = duration_h[s_job]
    rep = np.repeat(np.arange(s_job.size), dd)  # each start, once per hour of its run
    k = np.arange(rep.size) - np.repeat(np.cumsum(dd) - dd, dd)
    jr = s_job[rep]
    entry = w.first[jr] + s_pos[rep] + k
    prof = np.where(k == dd[rep] - 1, last_power_mw[jr], power_mw[jr])
    n_rows = int(sel.sum())
    m.add_constraints(f"{prefix}/run", n_rows,
                      [(cols[sel], 1.0, np.arange(n_rows)),
                       (starts.idx[rep], -prof, row_of_entry[entry])], lb=0.0, ub=0.0)
    return {"job": s_job, "t": release[s_job] + s_pos}


def add_capped(m: LinearModel, prefix: str, cols: np.ndarray, owner: np.ndarray,
               capped: np.ndarray, full_power_mw: np.ndarray, work_mwh: np.ndarray,
               cap_a: list[np.ndarray | None], cap_b: list[np.ndarray | None]
               ) -> dict[str, np.ndarray]:
    """Work variables and throughput rows (``<prefix>/work_mwh``, ``/throughput``, ``/work``)."""
    sel = capped[owner]
    jc = owner[sel]
    full = full_power_mw
    work = m.add_variables(f"{prefix}/work_mwh", jc.size, ub=full[jc])
    m.add_constraints(f"{prefix}/work", int(capped.sum()),
                      [(work.idx, 1.0, positions(capped)[jc])],
                      lb=work_mwh[capped], ub=work_mwh[capped])
    # segments padded to the longest hull; (entry, segment) pairs of real segments only
    K = np.array([0 if b is None else b.size for b in cap_b])
    A = np.zeros((len(K), K.max()))
    B = np.zeros_like(A)
    for j in np.flatnonzero(capped):  # one short hull per item, not per hour
        A[j, :K[j]], B[j, :K[j]] = cap_a[j], cap_b[j]
    e, k = np.nonzero(np.arange(K.max())[None, :] < K[jc][:, None])
    m.add_constraints(f"{prefix}/throughput", e.size,
                      [(work.idx[e], 1.0), (cols[sel][e], -B[jc[e], k])],
                      ub=A[jc[e], k] * full[jc[e]])
    return {"sel": sel}


def add_capacity(m: LinearModel, name: str, cols: np.ndarray, slot: np.ndarray,
                 reach: np.ndarray, head: np.ndarray) -> None:
    """``sum_{entries at slot} x[cols] <= head[slot]``, written only for the slots where the
    entries' upper bounds ``reach`` (per entry) could exceed ``head``: a row the bounds already
    imply cannot bind, so it is not written (a presolve HiGHS would otherwise repeat on every
    solve); with no such slot the group is absent."""
    total = np.bincount(slot, weights=reach, minlength=head.size)
    binding = total > head
    sel = binding[slot]
    if sel.any():
        used, row_of = np.unique(slot[sel], return_inverse=True)
        m.add_constraints(name, used.size, [(cols[sel], 1.0, row_of)], ub=head[used])
