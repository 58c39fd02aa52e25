"""What an infeasible or failed solve says: the diagnosis of a HiGHS model.

An infeasible model is explained, in this order, by

1. the irreducible infeasible subsystem (IIS) HiGHS finds, named by constraint group and
   hour;
2. the green-share floor, when dropping it alone restores feasibility: the model is solved
   once more for the greenest dispatch (the floor dropped, the fossil share minimised by
   Dinkelbach's method), which gives the best green share reachable;
3. one constraint group whose removal alone restores feasibility;
4. the groups whose joint removal does (a deletion filter over groups: all dropped, then
   each put back unless the model turns infeasible again), and, when the bus balance is
   among them, the hours where it cannot close with the shortfall or surplus in MW.

HiGHS often returns no IIS for a week with an annual floor (NOTES.md), so steps 2-4 re-solve
the model with its rows relaxed, with a zero objective (feasibility only), within a time
budget. A solver error is explained by what HiGHS reported, the model's largest numbers and
what to try.
"""
from __future__ import annotations

import math
import time

import numpy as np

from engine.model import LinearModel

#: Groups tried first as the cause: user policy and demands before physics.
_LIKELY = ("policy/", "job/", "network/", "datacenter/")


class _Probe:
    """Feasibility re-solves of a HiGHS model with some constraint groups dropped."""

    def __init__(self, h, model: LinearModel, budget_s: float) -> None:
        import highspy

        self.h, self.model, self.S = h, model, highspy.HighsModelStatus
        self.deadline = time.perf_counter() + budget_s
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "on")
        lp = h.getLp()
        self.n = int(lp.num_col_)
        self.lo = np.asarray(lp.row_lower_, dtype=np.float64).copy()
        self.hi = np.asarray(lp.row_upper_, dtype=np.float64).copy()
        self.cols = np.arange(self.n, dtype=np.int32)
        self.set_costs(np.zeros(self.n))

    @property
    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def set_costs(self, cost: np.ndarray) -> None:
        self.h.changeColsCost(self.n, self.cols, np.asarray(cost, dtype=np.float64))

    def _rows(self, name: str) -> np.ndarray:
        g = self.model.con_groups[name]
        return np.arange(g.start, g.start + g.size, dtype=np.int32)

    def relax(self, name: str) -> None:
        idx = self._rows(name)
        self.h.changeRowsBounds(idx.size, idx, np.full(idx.size, -np.inf),
                                np.full(idx.size, np.inf))

    def enforce(self, name: str) -> None:
        idx = self._rows(name)
        self.h.changeRowsBounds(idx.size, idx, self.lo[idx], self.hi[idx])

    def solve(self) -> np.ndarray | None:
        """Primal values if the current model has a feasible point (within the budget)."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return None
        self.h.setOptionValue("time_limit", float(left))
        self.h.run()
        ms = self.h.getModelStatus()
        if ms == self.S.kOptimal or (ms in (self.S.kTimeLimit, self.S.kInterrupt)
                                     and self.h.getInfo().primal_solution_status == 2):
            return np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return None


def diagnose_infeasible(h, model: LinearModel, budget_s: float = 30.0, max_items: int = 8) -> str:
    """Explain an infeasible model (see the module docstring); never an empty text."""
    iis_text = _iis_text(h, model, max_items)
    try:
        probe = _Probe(h, model, budget_s)
    except Exception as exc:  # a diagnosis is a best effort; the status stands without it
        return iis_text or f"(no infeasibility diagnosis: {exc})"
    green = model.notes.get("green_share")
    if green is not None and green["group"] in model.con_groups:
        probe.relax(green["group"])
        if probe.solve() is not None:
            text = _green_text(probe, green)
            return f"{text}; HiGHS's irreducible subsystem: {iis_text}" if iis_text else text
        probe.enforce(green["group"])
    if iis_text:
        return iis_text
    groups = sorted(model.con_groups.values(),
                    key=lambda g: (not g.name.startswith(_LIKELY), g.start))
    for g in groups:
        if probe.out_of_time:
            break
        probe.relax(g.name)
        feasible = probe.solve() is not None
        probe.enforce(g.name)
        if feasible:
            return (f"no irreducible subsystem from HiGHS; the model becomes feasible when "
                    f"{g.name} is dropped, so it cannot be met together with the rest")
    return _joint_text(probe, [g.name for g in groups], green)


def _iis_text(h, model: LinearModel, max_items: int) -> str:
    """The IIS by group and hours; empty when HiGHS finds none."""
    try:
        h.setOptionValue("output_flag", False)
        _, iis = h.getIis()
        rows = list(iis.row_index_)
        cols = list(iis.col_index_)
    except Exception:  # the IIS is a best effort
        return ""
    if not rows and not cols:
        return ""
    by_group: dict[str, list[tuple[int, ...]]] = {}
    for r in rows:
        name, where = model.group_of_row(int(r))
        by_group.setdefault(name, []).append(where)
    parts = []
    for name, where in list(by_group.items())[:max_items]:
        shown = ", ".join(str(w if len(w) > 1 else w[0]) for w in where[:6])
        more = f" and {len(where) - 6} more" if len(where) > 6 else ""
        parts.append(f"{name} at {shown}{more}")
    bounds = {model.group_of_col(int(c))[0] for c in cols}
    text = "conflicting constraints: " + "; ".join(parts)
    if bounds:
        text += f"; with the bounds of {sorted(bounds)}"
    return text


def _dense(parts: list, n: int) -> np.ndarray:
    """``sum coef * x[cols]`` of collector terms as a dense cost vector."""
    vec = np.zeros(n)
    for cols, coef, _rows in parts:
        cols = np.asarray(cols)
        c = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
        keep = cols >= 0
        np.add.at(vec, cols[keep], c[keep])
    return vec


def _per_hour(parts: list, x: np.ndarray, S: int, T: int) -> np.ndarray:
    """``(S, T)`` values of collector terms at ``x``."""
    out = np.zeros(S * T)
    for cols, coef, rows in parts:
        cols = np.asarray(cols)
        c = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
        r = np.broadcast_to(rows, cols.shape)
        keep = cols >= 0
        np.add.at(out, r[keep], c[keep] * x[cols[keep]])
    return out.reshape(S, T)


def greenest(probe: _Probe, green: dict, iterations: int = 8) -> tuple[float, float, np.ndarray]:
    """Non-green energy, facility energy and the greenest feasible dispatch with the current
    rows (the floor dropped), counted as the floor counts them (an hourly floor: the sites
    with a data center).

    The green share ``1 - fossil(x) / facility(x)`` is a ratio of linear functions (the
    facility load moves with the jobs' hours through the PUE); Dinkelbach's method solves
    ``min fossil - r facility`` for ``r`` = the last ratio until it stops falling.
    """
    has_dc, T = green["has_dc"], green["T"]
    fossil, facility = green["fossil"], green["facility"]
    if green["matching"] == "hourly":  # the hourly floor counts the sites with a data center
        fossil = [_filter(c, v, r, has_dc, T) for c, v, r in fossil]
        facility = [_filter(c, v, r, has_dc, T) for c, v, r in facility]
    f_vec, fac_vec = _dense(fossil, probe.n), _dense(facility, probe.n)
    fixed = float(green["fixed"].sum())
    r, best = 0.0, None
    for _ in range(iterations):
        probe.set_costs(f_vec - r * fac_vec)
        x = probe.solve()
        if x is None:
            break
        fos, fac = float(f_vec @ x), fixed + float(fac_vec @ x)
        ratio = fos / fac if fac > 0 else 0.0
        if best is not None and ratio >= best[0] / max(best[1], 1e-12) - 1e-9:
            break
        best, r = (fos, fac, x), ratio
    probe.set_costs(np.zeros(probe.n))
    if best is None:
        raise RuntimeError("no feasible point without the floor within the time budget")
    return best


def _filter(cols, coef, rows, has_dc, T):
    cols = np.asarray(cols)
    r = np.broadcast_to(rows, cols.shape)
    sel = has_dc[r // T]
    return (cols[sel], np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)[sel],
            r[sel])


def _green_text(probe: _Probe, green: dict, dropped: list[str] | None = None) -> str:
    """The floor named, with the best green share reachable with the current rows (the floor
    and the groups ``dropped`` relaxed)."""
    alpha, group = green["alpha"], green["group"]
    head = (f"the green-share floor {group} (at least {alpha:.1%} of the facility energy "
            f"clean, {green['matching']} matching) cannot be met: the model is feasible "
            f"without it")
    if dropped:
        head = (f"with {', '.join(dropped)} dropped too, the green-share floor {group} (at "
                f"least {alpha:.1%} clean, {green['matching']} matching) still cannot be met")
    try:
        fos, fac, x = greenest(probe, green)
    except Exception as exc:  # the floor is named even when the greenest dispatch is not found
        return f"{head} ({exc}); lower policy.green_share_min_fraction or add clean supply"
    share = 1.0 - fos / fac if fac > 0 else 1.0
    text = (f"{head}, and the greenest dispatch reaches a green share of {share:.2%} "
            f"({fos:,.1f} MWh non-green of {fac:,.1f} MWh facility energy)")
    if green["matching"] == "hourly":
        T, has_dc = green["T"], green["has_dc"]
        S = has_dc.size
        fos_h = _per_hour(green["fossil"], x, S, T)
        fac_h = green["fixed"] + _per_hour(green["facility"], x, S, T)
        miss = (fos_h > (1 - alpha) * fac_h + 1e-6) & has_dc[:, None]
        if miss.any():
            s, t = np.nonzero(miss)
            shown = ", ".join(f"({a}, {b})" for a, b in zip(s[:8], t[:8]))
            text += (f"; even so the hourly floor is missed in {int(miss.sum())} (site, hour) "
                     f"pairs, e.g. {shown}")
        return text + ("; lower policy.green_share_min_fraction, match annually, or add clean "
                       "supply (PV, wind, hydro, storage) in those hours")
    floor = math.floor(share * 1000) / 1000  # a floor that this dispatch meets
    return text + (f"; lower policy.green_share_min_fraction to at most {floor:.3f}, or add "
                   f"clean supply (PV, wind, hydro, storage) or a cleaner grid share")


def _joint_text(probe: _Probe, order: list[str], green: dict | None) -> str:
    """Deletion filter over groups: the groups whose joint removal restores feasibility."""
    if probe.out_of_time:
        probe.deadline = time.perf_counter() + 10.0  # one more solve: the bus balance
        return _bus_text(probe) or ("no single constraint group explains it, and the time "
                                    "budget of the diagnosis ran out before a set of groups did")
    for name in order:
        probe.relax(name)
    if probe.solve() is None:
        return ("the variable bounds alone conflict (every constraint group dropped, the model "
                "stays infeasible): check lower bounds above upper bounds")
    needed = []
    # put back the least likely causes first, so that the set names policy and demands
    for name in reversed(order):
        if probe.out_of_time:
            needed.append(name)
            continue
        probe.enforce(name)
        if probe.solve() is None:
            probe.relax(name)
            needed.append(name)
    needed.reverse()
    text = ("no single constraint group explains it; the model becomes feasible when these "
            f"are dropped together: {', '.join(needed)}")
    if probe.out_of_time:
        text += " (the time budget ran out: the set may not be minimal)"
    bus = ""
    if green is not None and green["group"] in needed and not probe.out_of_time:
        bus = _green_text(probe, green, [n for n in needed if n != green["group"]])
    if "bus/balance" in needed:
        # the other groups of the set stay dropped: where must the balance give, by how much
        probe.enforce("bus/balance")
        others = [n for n in needed if n != "bus/balance"]
        closing = _bus_text(probe)
        if closing and others:
            closing = f"with {', '.join(others)} dropped, {closing}"
        bus = "; ".join(p for p in (bus, closing) if p)
    for name in needed:
        probe.enforce(name)
    return f"{text}; {bus}" if bus else text


def _bus_text(probe: _Probe, max_items: int = 8) -> str:
    """Hours where the bus balance cannot close, with the missing supply or the surplus in MW:
    the balance rows made elastic (a free supply and a free sink per row, costing 1 per MW),
    everything else kept."""
    g = probe.model.con_groups.get("bus/balance")
    if g is None or probe.out_of_time:
        return ""
    h = probe.h
    m = g.size
    rows = np.arange(g.start, g.start + m, dtype=np.int32)
    n0 = probe.n
    try:
        # column k: +1 in row k (missing supply); column m + k: -1 in row k (surplus)
        starts = np.arange(2 * m, dtype=np.int32)
        index = np.concatenate([rows, rows])
        value = np.concatenate([np.ones(m), -np.ones(m)])
        h.addCols(2 * m, np.ones(2 * m), np.zeros(2 * m), np.full(2 * m, np.inf), 2 * m,
                  starts, index, value)
        x = probe.solve()
    finally:
        h.deleteCols(2 * m, np.arange(n0, n0 + 2 * m, dtype=np.int32))
    if x is None:
        return ""
    short, surplus = x[n0:n0 + m].reshape(g.shape), x[n0 + m:n0 + 2 * m].reshape(g.shape)
    parts = []
    for what, arr in (("supply missing", short), ("surplus it cannot absorb", surplus)):
        s, t = np.nonzero(arr > 1e-6)
        if s.size:
            shown = ", ".join(f"site {a} hour {b}: {arr[a, b]:.3g} MW"
                              for a, b in zip(s[:max_items], t[:max_items]))
            more = f" and {s.size - max_items} more" if s.size > max_items else ""
            parts.append(f"the bus balance cannot close in {s.size} hours, {what} "
                         f"({shown}{more})")
    return "; ".join(parts)


def error_diagnosis(h, model: LinearModel | None = None) -> str:
    """What HiGHS reported for a solve that ended in an error, the model's largest numbers
    and what to try."""
    try:
        status = h.modelStatusToString(h.getModelStatus())
    except Exception:  # pragma: no cover - a diagnosis is a best effort
        status = "unknown"
    text = f"HiGHS ended with model status {status!r} and no solution"
    try:
        lp = h.getLp()
        cost = np.abs(np.asarray(lp.col_cost_, dtype=np.float64))
        bounds = np.abs(np.concatenate([np.asarray(v, dtype=np.float64) for v in (
            lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)]))
        bounds = bounds[np.isfinite(bounds)]
        coef = np.abs(np.asarray(lp.a_matrix_.value_, dtype=np.float64))
        facts = []
        if cost.size:
            j = int(np.argmax(cost))
            where = f" ({model.group_of_col(j)[0]})" if model is not None else ""
            big = (f"{cost[j]:.3g}" if np.isfinite(cost[j])
                   else ">= 1e20, which HiGHS reads as infinite,")
            facts.append(f"largest |cost| {big}{where}")
        if bounds.size:
            facts.append(f"largest finite |bound| {bounds.max():.3g}")
        if coef.size:
            facts.append(f"matrix coefficients in [{coef.min():.3g}, {coef.max():.3g}]")
        if facts:
            text += "; the model's " + ", ".join(facts)
    except Exception:  # pragma: no cover - a diagnosis is a best effort
        pass
    return (text + ". Try: check the inputs behind the largest numbers (HiGHS treats "
            "|values| >= 1e20 as infinite, and costs beyond ~1e10 break its tolerances; "
            "engine.export_lp writes the model to inspect), or re-run with "
            "highs_options={'presolve': 'off'} or {'solver': 'ipm'}")
