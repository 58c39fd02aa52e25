"""Demand response (虚拟电厂, a virtual power plant): events paid for reductions below a
baseline, and the rows of the flexibility envelope.

An event ``e`` at site ``s`` asks for ``R_e`` MW below a baseline ``b[e, t]`` over the hours
``t`` of its window ``[start_e, start_e + duration_e)``, paid ``pay_e`` per MWh delivered
and penalised ``pen_e`` per MWh short. The metered quantity is the site's net grid import
``imp[s, t] - exp[s, t]``. With ``deliv[e, t] <= R_e`` (a free variable, group
``demand_response/delivered_mw``)::

    deliv[e, t] + imp[s, t] - exp[s, t] <= b[e, t]        (demand_response/delivery)
    cost: - pay_e * deliv[e, t]                            (term ``dr_revenue``)
          + pen_e * (R_e - deliv[e, t])                    (term ``dr_penalty``)

so at the optimum ``deliv = min(R, b - net)``: over-delivery is not paid, and a net import
above the baseline in an event hour is a negative delivery (settled at ``pay + pen`` per
MWh). The reduction comes from whatever the park can move: jobs shifted out of the window,
capped GPUs, batteries discharged, gensets started, EV sessions deferred, or sheddable
inference shed at its value of lost load -- all already in the model.

Baselines: ``declared`` (``baseline_mw`` per event hour) or ``previous_days``: the average
of the same hours of the ``baseline_days`` previous non-event days (24-h days counted from
the scenario's start, a day with any event at that site being an event day), taken from the
scenario's own plan without events. :func:`engine.markets.with_baselines` solves that plan
and fills the baselines in before the model is built (``engine.optimize`` does so itself).

Notice: an event with ``notice_h`` is announced at ``a_e = start_e - notice_h``; before
that hour the park does not know it, so every decision of an hour ``t < a_e`` must be what
the park would have done without it (non-anticipativity). :func:`engine.markets.notice_pins`
solves the park in stages, one per announcement hour ``a_1 < a_2 < ...`` (stage 0: the plan
with only the events known from the start, ``notice_h`` unset or ``>= start_h``; stage
``k``: the events announced by ``a_k``, with every hourly column of an hour ``t < a_k``
fixed to stage ``k - 1``'s value), and the last stage is the result. The fixing is written
here, after the balance (group ``demand_response/notice_pin``, one row per fixed column)::

    x[j] = x_prev[j]       for every column j of an hour t < a_k      (notice_pin)

(hourly columns: groups whose last axis is the horizon, job and EV-session power at their
hours, a lease's capacity per period at the period's first hour; columns not tied to an
hour -- sizes, unmet session energy -- stay free). ``notice_h`` unset: the event is known from the horizon's start.

The flexibility envelope (:func:`engine.markets.flexibility_envelope`) adds one column
``R >= 0`` (``demand_response/envelope_mw``) and, per site with a grid and hour, a row
``imp - exp + R <= hold[t]`` (``demand_response/envelope_hold``) whose bounds are
``+inf`` until a point of the envelope sets them to the plan's net import over the hours it
holds.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.scenario.base import Cost, Integer, Model, NonNeg, Number

__all__ = ["COMPONENT", "DREvent", "DemandResponse", "event_baselines"]


class DREvent(Model):
    """One event: ``reduction_mw`` below the baseline at ``site`` over
    ``[start_h, start_h + duration_h)``, paid ``payment_per_mwh`` per MWh delivered and
    penalised ``penalty_per_mwh`` per MWh short; announced ``notice_h`` hours ahead: the
    park's decisions before ``start_h - notice_h`` are those of its plan without the event
    (unset: known from the horizon's start). ``baseline_mw``: the declared baseline, one
    value per event hour (or one for all)."""

    name: str
    site: str
    start_h: Annotated[Integer, Field(ge=0)]
    duration_h: Annotated[Integer, Field(ge=1)]
    reduction_mw: NonNeg
    payment_per_mwh: Cost
    penalty_per_mwh: Cost = 0.0
    notice_h: Annotated[Integer, Field(ge=0)] | None = None
    baseline_mw: list[Number] | Number | None = None

    @model_validator(mode="after")
    def _check(self) -> DREvent:
        if isinstance(self.baseline_mw, list) and len(self.baseline_mw) != self.duration_h:
            raise ValueError(f"baseline_mw: one value per event hour (duration_h="
                             f"{self.duration_h}), got {len(self.baseline_mw)}")
        if self.notice_h is not None and self.notice_h > self.start_h:
            raise ValueError(f"notice_h: an event at start_h={self.start_h} cannot be "
                             f"announced {self.notice_h} h ahead inside the horizon")
        return self


class DemandResponse(Model):
    """The park's demand-response program: its events and how their baselines are set."""

    baseline: Literal["declared", "previous_days"] = "previous_days"
    baseline_days: Annotated[Integer, Field(ge=1)] = 5
    events: list[DREvent] = Field(default_factory=list)


def check(scenario: Any) -> None:
    dr = scenario.demand_response
    if dr is None:
        return
    T = scenario.horizon_h
    sites = {s.name: s for s in scenario.sites}
    names = [e.name for e in dr.events]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"demand_response.events: names must be unique, got duplicates {dup}")
    for k, e in enumerate(dr.events):
        path = f"demand_response.events[{k}]"
        if e.site not in sites:
            raise ValueError(f"{path}.site: unknown site {e.site!r}; sites are {list(sites)}")
        if sites[e.site].grid is None:
            raise ValueError(f"{path}.site: site {e.site!r} has no grid to meter a reduction")
        if e.start_h + e.duration_h > T:
            raise ValueError(f"{path}.start_h: the event [{e.start_h}, "
                             f"{e.start_h + e.duration_h}) ends outside the horizon "
                             f"(horizon_h={T})")
        if dr.baseline == "declared" and e.baseline_mw is None:
            raise ValueError(f"{path}.baseline_mw: a declared baseline is required "
                             "(demand_response.baseline is 'declared')")
        for j, o in enumerate(dr.events[:k]):
            if o.site == e.site and o.start_h < e.start_h + e.duration_h \
                    and e.start_h < o.start_h + o.duration_h:
                raise ValueError(f"{path}.start_h: event {e.name!r} overlaps event {o.name!r} "
                                 f"(events[{j}]) at site {e.site!r}")
    if dr.baseline == "previous_days":
        event_days(dr, T)


def event_days(dr: DemandResponse, T: int) -> list[list[int]]:
    """Per event, the ``baseline_days`` previous non-event days (most recent first).

    Raises ``ValueError`` naming the event when the horizon holds too few of them.
    """
    busy: dict[str, set[int]] = {}
    for e in dr.events:
        busy.setdefault(e.site, set()).update(range(e.start_h // 24,
                                                    (e.start_h + e.duration_h - 1) // 24 + 1))
    out = []
    for k, e in enumerate(dr.events):
        day = e.start_h // 24
        prev = [d for d in range(day - 1, -1, -1) if d not in busy[e.site]][:dr.baseline_days]
        if len(prev) < dr.baseline_days:
            raise ValueError(
                f"demand_response.events[{k}].start_h: a previous-days baseline needs "
                f"{dr.baseline_days} non-event days before day {day} of the horizon, found "
                f"{len(prev)}; start the horizon earlier, lower baseline_days or declare "
                "baseline_mw")
        out.append(prev)
    return out


def event_baselines(dr: DemandResponse, net_mw: dict[str, np.ndarray], T: int
                    ) -> list[np.ndarray]:
    """Each event's baseline from a plan's net import per site (``previous_days`` rule)."""
    out = []
    for e, days in zip(dr.events, event_days(dr, T)):
        hours = np.arange(e.start_h, e.start_h + e.duration_h)
        same = (np.asarray(days)[:, None] - hours[None, :] // 24) * 24 + hours[None, :]
        out.append(net_mw[e.site][same].mean(axis=0))
    return out


def _net_import(f: Formulation) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Grid position of each site (-1 without grid) and the terms ``imp - exp`` of the
    grid rows ``(G, T)`` (read from the grid's groups: they meet only by name)."""
    gmeta = f.meta.get("grid")
    pos = np.full(f.S, -1, np.int64)
    if gmeta is None:
        return pos, []
    pos[gmeta["site"]] = np.arange(len(gmeta["site"]))
    groups = f.model.var_groups
    terms: list[tuple[Any, ...]] = [(groups["grid/import_mw"].idx, 1.0)]
    if "grid/export_mw" in groups:
        terms.append((groups["grid/export_mw"].idx, -1.0))
    return pos, terms


def add(f: Formulation) -> None:
    dr = getattr(f.data.scenario, "demand_response", None)
    if dr is None:
        return
    gpos, terms = _net_import(f)
    site_pos = {sd.site.name: s for s, sd in enumerate(f.data.sites)}
    T = f.T
    if f.data.extra.get("dr_envelope") and terms:
        # the flexibility envelope's rows: free until a point sets their upper bounds
        G = len(f.meta["grid"]["site"])
        r = f.model.add_variables("demand_response/envelope_mw", 1)
        f.model.add_constraints("demand_response/envelope_hold", (G, T),
                                [*terms, (np.full((G, T), r.idx[0]), 1.0)], ub=np.inf)
    events = dr.events
    if not events:
        return
    if any(e.baseline_mw is None for e in events):
        raise ValueError("demand_response: baselines are not set; solve through "
                         "engine.optimize or engine.markets.with_baselines")
    dur = np.array([e.duration_h for e in events], np.int64)
    ev_of = np.repeat(np.arange(len(events)), dur)
    t_of = np.array([e.start_h for e in events])[ev_of] + (
        np.arange(ev_of.size) - np.repeat(np.cumsum(dur) - dur, dur))
    base = np.concatenate([np.broadcast_to(np.asarray(e.baseline_mw, np.float64),
                                           (e.duration_h,)) for e in events])
    red = np.array([e.reduction_mw for e in events])[ev_of]
    deliv = f.model.add_variables("demand_response/delivered_mw", ev_of.size, lb=-np.inf,
                                  ub=red)
    g = gpos[[site_pos[events[int(k)].site] for k in ev_of]]
    rows = [(deliv.idx, 1.0)] + [(idx[g, t_of], coef) for idx, coef in terms]
    f.model.add_constraints("demand_response/delivery", ev_of.size, rows, ub=base)
    pay = np.array([e.payment_per_mwh for e in events])[ev_of]
    pen = np.array([e.penalty_per_mwh for e in events])[ev_of]
    f.cost("dr_revenue", deliv.idx, -pay)
    if np.any(pen):
        f.cost("dr_penalty", deliv.idx, -pen, constant=float((pen * red).sum()))
    f.meta["demand_response"] = {"event_of": ev_of, "t_of": t_of, "baseline": base,
                                 "reduction": red, "pay": pay, "pen": pen}


def announced_h(e: DREvent) -> int:
    """The hour the park learns of event ``e`` (0: known from the horizon's start)."""
    return 0 if e.notice_h is None else e.start_h - e.notice_h


def fix_before_notice(f: Formulation) -> None:
    """Fix the columns of the hours before the latest announcement to the previous stage's
    values (``f.data.extra["dr_pin"]``: ``{group: (positions, values)}``, written by
    :func:`engine.markets.notice_pins`); a group this model lacks is skipped."""
    pins = f.data.extra.get("dr_pin")
    if not pins:
        return
    cols, vals = [], []
    for name, (pos, val) in pins.items():
        g = f.model.var_groups.get(name)
        if g is None or len(pos) == 0:
            continue
        cols.append(g.start + np.asarray(pos, np.int64))
        vals.append(np.asarray(val, np.float64))
    if not cols:
        return
    c, v = np.concatenate(cols), np.concatenate(vals)
    f.model.add_constraints("demand_response/notice_pin", c.size, [(c, 1.0)], lb=v, ub=v)
    f.meta["demand_response_pin"] = {"n_fixed": int(c.size)}


def extract(r: Extraction) -> None:
    """``Result.tables["dr_events"]``: per event the hour it was announced, the requested
    and delivered MWh (the metered reduction, capped at the request), the shortfall,
    revenue and penalty, and the mean baseline; KPIs ``dr_delivered_mwh``, ``dr_revenue``,
    ``dr_penalty`` (and ``dr_notice_fixed_columns``: columns fixed before the last
    announcement)."""
    meta = r.f.meta.get("demand_response")
    if meta is None:
        return
    import pandas as pd

    events = r.f.data.scenario.demand_response.events
    d = r.val("demand_response/delivered_mw")
    ev = meta["event_of"]
    n = len(events)
    s = lambda w: np.bincount(ev, weights=w, minlength=n)
    hours = np.bincount(ev, minlength=n)
    delivered = s(d)
    requested = s(meta["reduction"])
    table = pd.DataFrame({
        "event": [e.name for e in events], "site": [e.site for e in events],
        "start_h": [e.start_h for e in events], "duration_h": hours,
        "announced_h": [announced_h(e) for e in events],
        "reduction_mw": [e.reduction_mw for e in events],
        "mean_baseline_mw": s(meta["baseline"]) / hours,
        "requested_mwh": requested, "delivered_mwh": delivered,
        "shortfall_mwh": requested - delivered,
        "revenue": s(meta["pay"] * d), "penalty": s(meta["pen"] * (meta["reduction"] - d)),
    })
    r.tables["dr_events"] = table
    r.kpis["dr_delivered_mwh"] = float(delivered.sum())
    r.kpis["dr_revenue"] = float(table["revenue"].sum())
    r.kpis["dr_penalty"] = float(table["penalty"].sum())
    pin = r.f.meta.get("demand_response_pin")
    if pin is not None:
        r.kpis["dr_notice_fixed_columns"] = float(pin["n_fixed"])


COMPONENT = Component(
    name="demand_response", field="demand_response", level="scenario",
    schema=DemandResponse | None, default=None, check=check, add=add,
    after_balance=fix_before_notice, extract=extract,
)
