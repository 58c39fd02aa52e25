"""The single-result HTML report: its sections, from a :class:`Result` (see
:mod:`engine.results.report`, the public module). Imports nothing that imports
:mod:`engine.results.result`, which calls it from ``Result.to_html``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import engine.results._report_charts as charts
from engine.results._report_html import esc, kpi_table, page, table
from engine.results._report_tenants import green_power_section

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from engine.results.result import Result

__all__ = ["clean_share", "default_week", "render_result"]

#: Trace sources counted as carbon-free in the CFE heatmap (as the ``cfe_score`` KPI).
CLEAN_TRACE = ("pv", "wind", "hydro", "grid_clean")
WEEK_H = 168


def render_result(result: Result, path: str | Path, week_start_h: int | None = None,
                  site: str | None = None) -> Path:
    """Write the HTML report of ``result`` to ``path`` (see the module docstring).

    Parameters
    ----------
    result : Result
    path : path
        The HTML file to write (its folder is created).
    week_start_h : int, optional
        First hour of the week shown hourly; default, per site, the week (starting at a
        midnight) of largest facility energy, or hour 0.
    site : str, optional
        Only this site's section (default every site).

    Returns
    -------
    Path of the file written.

    Raises
    ------
    ValueError
        For an unknown site or a week start outside the horizon.
    """
    from engine.results.plotting import _sites, plot_window

    scenario = result.extra.get("scenario")
    currency = getattr(scenario, "currency", None) or result.extra.get("currency")
    name = result.scenario_name or "scenario"
    h = result.hourly
    absent: list[str] = []
    if not currency:
        currency = "currency"
        absent.append("the currency (the scenario is not known: `wattbit report DIR "
                      "--scenario FILE` names it)")
    body: list[str] = [_header(result, currency)]
    if not result.has_solution:
        body.append("<p class='note'>No solution: nothing to chart.</p>")
        return page(name, body, Path(path))
    if week_start_h is not None:
        plot_window(len(h), week_start_h, WEEK_H)
    sites = _sites(result)
    if site is not None:
        if site not in sites:
            raise ValueError(f"site {site!r} is not in the scenario; its sites are {sites}")
        sites = [site]
    tz = str(h.index.tz) if getattr(h.index, "tz", None) is not None else "no time zone"
    local = h.index.tz_localize(None) if getattr(h.index, "tz", None) is not None else h.index

    nav = [("overview", "Overview")]
    body.append("<section id='overview'><h2>Overview</h2><div class='cols'>"
                + kpi_table(result.kpis, currency) + "</div>")
    if len(result.costs):
        body.append(_chart(charts.cost_bars(result.costs, currency), "cost terms"))
    dc = getattr(result, "demand_charges", None)
    if dc is not None and len(dc):
        body.append(f"<details><summary>demand charges ({len(dc)} site-month(s))</summary>"
                    + table(dc) + "</details>")
    if len(sites) > 1:
        body.append("<h3>Sites</h3>" + _site_table(result, sites, local))
    body.append("</section>")

    checks = _network_items(result)
    weeks = []
    for i, s in enumerate(sites):
        nav.append((f"site-{i}", f"Site {s}"))
        html_, wk = _site_section(result, s, i, local, tz, currency, week_start_h,
                                  [c for c in checks if c["site"] == s], len(sites) > 1)
        body.append(html_)
        weeks.append(wk)
    if any(c["site"] not in sites for c in checks) and site is None:
        body.extend(_network_html(c, local, tz) for c in checks if c["site"] not in sites)
    if not checks:
        absent.append("network check (no site network)")

    if len(result.jobs) and len(result.job_power):
        nav.append(("jobs", "Jobs"))
        body.append(_jobs_section(result, local, tz, len(sites) > 1, weeks[0]))
    else:
        absent.append("job schedule (no jobs)")
    ledger = _tenant_ledger(result, local)
    if ledger is not None:
        nav.append(("tenants", "Tenants"))
        body.append("<section id='tenants'><h2>Per-tenant ledger</h2>" + table(ledger)
                    + "</section>")
    else:
        absent.append("per-tenant ledger (no tenants)")
    green = green_power_section(result, local, tz, currency)
    if green is not None:
        nav.append(("green-power", "Green power"))
        body.append(green)
    rounds = result.network_rounds
    if rounds is not None and len(rounds):
        nav.append(("rounds", "Network rounds"))
        body.append("<section id='rounds'><h2>Network rounds</h2>" + table(rounds)
                    + "</section>")
    if absent:
        body.append("<p class='note'>Not in this report: " + esc("; ".join(absent))
                    + ".</p>")
    return page(name, body, Path(path), nav)


# ---------------------------------------------------------------- sections
def _chart(fig: Any, label: str) -> str:
    return f"<figure class='chart' aria-label='{esc(label)}'>{charts.svg(fig)}</figure>"


def _header(result: Result, currency: str) -> str:
    h = result.hourly
    facts = [("status", str(result.status)), ("backend", result.backend)]
    if result.has_solution:
        facts.append(("objective", f"{result.objective:,.2f} {currency}"))
    if result.mip_gap == result.mip_gap and result.mip_gap:  # NaN: no solution, no gap
        facts.append(("MIP gap", f"{result.mip_gap:.2e}"))
    if len(h):
        span = (f"{h.index[0]:%Y-%m-%d %H:%M} to {h.index[-1]:%Y-%m-%d %H:%M} "
                f"({len(h):,} h, {h.index.tz or 'no time zone'})")
        facts.append(("horizon", span))
    if result.timings.get("total_s"):
        facts.append(("solve time", f"{result.timings['total_s']:.2f} s"))
    out = (f"<header><h1>{esc(result.scenario_name or 'scenario')}</h1><p class='facts'>"
           + " &middot; ".join(f"<span><b>{esc(k)}</b> {esc(v)}</span>" for k, v in facts)
           + "</p>")
    if result.diagnosis:
        out += f"<pre class='diagnosis'>{esc(result.diagnosis)}</pre>"
    return out + "</header>"


def _columns_of(result: Result, site: str, n_sites: int) -> tuple[list[str], bool]:
    """The site's hourly columns, and whether its assets could be attributed."""
    from engine.results.plotting import site_columns

    h = result.hourly
    if result.extra.get("scenario") is not None:
        return site_columns(result, site), True
    if n_sites == 1:
        return list(h.columns), True
    return [c for c in h.columns if c.split("/")[0].split(".", 1)[-1] == site], False


def default_week(facility: np.ndarray) -> int:
    """Start (a multiple of 24 h) of the 168 h of largest facility energy; 0 when the
    horizon is a week or less, or there is no load."""
    T = len(facility)
    if T <= WEEK_H or not np.any(facility):
        return 0
    c = np.concatenate([[0.0], np.cumsum(facility)])
    starts = np.arange(0, T - WEEK_H + 1, 24)
    return int(starts[np.argmax(c[starts + WEEK_H] - c[starts])])


def clean_share(h: pd.DataFrame, site: str) -> pd.Series | None:
    """Hourly clean share of the site's facility load (NaN where there is no load), or None
    without trace columns."""
    fac = f"datacenter.{site}/facility_mw"
    clean = [f"trace.{site}/{s}_mw" for s in CLEAN_TRACE if f"trace.{site}/{s}_mw" in h]
    if fac not in h or not clean:
        return None
    load = h[fac].to_numpy()
    num = h[clean].to_numpy().sum(axis=1)
    share = np.divide(num, load, out=np.full(len(h), np.nan), where=load > 1e-9)
    import pandas as pd

    return pd.Series(np.clip(share, 0.0, 1.0), index=h.index)


def _site_section(result: Result, site: str, i: int, local: Any, tz: str, currency: str,
                  week_start_h: int | None, checks: list[dict],
                  several: bool) -> tuple[str, tuple[int, int]]:
    n_sites = 2 if several else 1
    columns, attributed = _columns_of(result, site, n_sites)
    h = result.hourly[columns].set_axis(local)
    out = [f"<section id='site-{i}'><h2>Site {esc(site)}</h2>"]
    if not attributed:
        out.append("<p class='note'>The results directory does not say which site each asset "
                   "belongs to: only the site's grid, load and traceability are shown "
                   "(pass the scenario: <code>wattbit report DIR --scenario FILE</code>).</p>")
    fac = charts.cols(h, "datacenter.", "/facility_mw")
    load = h[fac].to_numpy().sum(axis=1) if fac else np.zeros(len(h))
    w0 = default_week(load) if week_start_h is None else week_start_h
    w1 = min(w0 + WEEK_H, len(h))
    how = "chosen" if week_start_h is not None else (
        "largest facility energy" if len(h) > WEEK_H and load.any() else "the horizon")
    week = h.iloc[w0:w1]
    out.append(_chart(charts.week_dispatch(
        week, f"hourly dispatch, {week.index[0]:%d %b %Y} to {week.index[-1]:%d %b %Y} "
              f"(hours {w0} to {w1 - 1}; {how})", currency, tz), "week dispatch"))
    if len(h) > WEEK_H:
        out.append(_chart(charts.year_daily(
            h, "daily energy over the horizon (supply above the load line charged the "
               "battery or was exported)", tz,
            (h.index[w0], h.index[w1 - 1] + np.timedelta64(1, "h"))), "daily energy"))
        soc = charts.cols(h, "battery.", "/soc_mwh")
        if soc:
            out.append(_chart(charts.day_hour_heatmap(
                h[soc].sum(axis=1), "battery state of charge, hour of day by day", tz,
                "Purples", "SOC [MWh]", vmin=0.0), "soc heatmap"))
    share = clean_share(result.hourly, site)
    if share is not None:
        share.index = local
        w = load if load.any() else np.ones(len(h))
        ok = ~np.isnan(share.to_numpy())
        score = float(np.average(share.to_numpy()[ok], weights=w[ok])) if ok.any() and \
            w[ok].sum() > 0 else float("nan")
        out.append(_chart(charts.day_hour_heatmap(
            share, f"hourly carbon-free energy: clean share of facility load "
                   f"(load-weighted {score:.1%}; clean = {', '.join(CLEAN_TRACE)})", tz,
            "RdYlGn", "clean share of load", 0.0, 1.0), "cfe heatmap"))
    else:
        out.append("<p class='note'>No CFE heatmap: no traceability columns at this site.</p>")
    out.extend(_network_html(c, local, tz) for c in checks)
    return "".join(out) + "</section>", (w0, w1)


def _site_table(result: Result, sites: list[str], local: Any) -> str:
    import pandas as pd

    h = result.hourly
    rows = []
    for s in sites:
        get = lambda c: float(h[c].sum()) if c in h else float("nan")
        share = clean_share(h, s)
        fac = get(f"datacenter.{s}/facility_mw")
        rows.append({"site": s, "facility MWh": fac, "grid import MWh": get(f"grid.{s}/import_mw"),
                     "grid export MWh": get(f"grid.{s}/export_mw"),
                     "peak import MW": float(h[f"grid.{s}/import_mw"].max())
                     if f"grid.{s}/import_mw" in h else float("nan"),
                     "CFE share": float((share * h[f"datacenter.{s}/facility_mw"]).sum() / fac)
                     if share is not None and fac > 0 else float("nan")})
    return table(pd.DataFrame(rows))


MAX_GANTT_ROWS = 40


def _jobs_section(result: Result, local: Any, tz: str, several: bool,
                  week: tuple[int, int]) -> str:
    """The schedule of the week shown (the jobs whose window meets it, at most
    ``MAX_GANTT_ROWS`` of them, most energy first) and, with few jobs, of the horizon."""
    jobs = result.jobs.sort_values(["release_h", "job"]) if "release_h" in result.jobs else \
        result.jobs
    names = [str(j) for j in jobs["job"]]
    label = dict(zip(names, [f"{j} ({s})" for j, s in zip(names, jobs["site"])]
                     if several and "site" in jobs else names))
    jp = result.job_power
    t_of = result.hourly.index.get_indexer(jp["time"])
    job_of = jp["job"].astype(str).to_numpy()
    power = jp["power_mw"].to_numpy()

    def matrix(rows: list[str], h0: int, h1: int) -> np.ndarray:
        pos = {j: k for k, j in enumerate(rows)}
        r = np.array([pos.get(j, -1) for j in job_of])
        ok = (r >= 0) & (t_of >= h0) & (t_of < h1)
        m = np.full((len(rows), h1 - h0), np.nan)
        m[r[ok], t_of[ok] - h0] = power[ok]
        return m

    w0, w1 = week
    in_week = (t_of >= w0) & (t_of < w1)
    energy = {}
    for j, p in zip(job_of[in_week], power[in_week]):
        energy[j] = energy.get(j, 0.0) + p
    rows = [j for j in names if j in energy]
    out = ["<section id='jobs'><h2>Jobs</h2>"]
    if len(rows) > MAX_GANTT_ROWS:
        keep = set(sorted(rows, key=lambda j: -energy[j])[:MAX_GANTT_ROWS])
        out.append(f"<p class='note'>{len(rows)} jobs have hours in this week: the "
                   f"{MAX_GANTT_ROWS} with the most energy in it are shown.</p>")
        rows = [j for j in rows if j in keep]
    if rows:
        out.append(_chart(charts.job_gantt(
            matrix(rows, w0, w1), [label[j] for j in rows], local[w0:w1],
            f"job schedule, the week shown above (hours {w0} to {w1 - 1}): "
            "pale = inside the job's window, blue = running", tz), "job schedule week"))
    if len(result.hourly) > w1 - w0 and 0 < len(names) <= MAX_GANTT_ROWS:
        out.append(_chart(charts.job_gantt(
            matrix(names, 0, len(result.hourly)), [label[j] for j in names], local,
            "job schedule over the horizon", tz), "job schedule horizon"))
    out.append(f"<details><summary>job table ({len(jobs)} jobs)</summary>" + table(jobs)
               + "</details></section>")
    return "".join(out)


def _tenant_ledger(result: Result, local: Any) -> pd.DataFrame | None:
    """A ledger from ``result.extra["tenant_ledger"]``, else from a ``tenant`` column of the
    jobs table (energy, cost at each job's mean price, clean share of its hours); None
    when there are no tenants."""
    import pandas as pd

    given = result.extra.get("tenant_ledger")
    if isinstance(given, pd.DataFrame) and len(given):
        return given
    jobs = result.jobs
    if "tenant" not in jobs or not len(jobs):
        return None
    j = jobs.copy()
    if {"delivered_mwh", "mean_price_per_mwh"} <= set(j):
        j["energy_cost"] = j["delivered_mwh"] * j["mean_price_per_mwh"]
    agg = {c: "sum" for c in ("energy_mwh", "delivered_mwh", "energy_cost") if c in j}
    out = j.groupby("tenant").agg({"job": "count", **agg}).rename(columns={"job": "jobs"})
    jp = result.job_power
    if len(jp) and "site" in j:
        site_of = dict(zip(j["job"].astype(str), j["site"]))
        tenant_of = dict(zip(j["job"].astype(str), j["tenant"]))
        clean = np.zeros(len(jp))
        for s in set(site_of.values()):
            share = clean_share(result.hourly, s)
            if share is None:
                continue
            sel = jp["job"].astype(str).map(site_of).to_numpy() == s
            clean[sel] = share.reindex(pd.DatetimeIndex(jp["time"][sel])).fillna(0).to_numpy()
        mwh = jp["power_mw"].to_numpy()
        t = jp["job"].astype(str).map(tenant_of)
        by = pd.DataFrame({"t": t, "c": clean * mwh, "e": mwh}).groupby("t").sum()
        out["clean_share"] = (by["c"] / by["e"]).reindex(out.index)
    return out.reset_index()


def _network_items(result: Result) -> list[dict]:
    """Each site's network check as plain data, from the result's ``NetworkCheck`` objects
    or from the files of a results directory."""
    chk = result.network_check
    items = []
    for c in (chk.values() if isinstance(chk, dict) else [chk] if chk is not None else []):
        items.append({"site": c.site, "passed": c.passed, "text": c.summary(),
                      "vm": c.vm_pu, "violations": c.violations,
                      "vmin": float(np.nanmedian(c.vmin_pu)) if len(c.vmin_pu) else None,
                      "vmax": float(np.nanmedian(c.vmax_pu)) if len(c.vmax_pu) else None})
    items.extend(result.extra.get("network_from_dir", []))
    return items


def _network_html(c: dict, local: Any, tz: str) -> str:
    verdict = "passed" if c["passed"] else f"{len(c['violations'])} violation(s)" \
        if c.get("violations") is not None else "violations"
    cls = "ok" if c["passed"] else "bad"
    out = [f"<h3>Network check: <span class='{cls}'>{esc(verdict)}</span></h3>"]
    if c.get("text"):
        out.append(f"<pre>{esc(c['text'])}</pre>")
    vm = c.get("vm")
    if vm is not None and len(vm):
        vm = vm.set_axis(local[:len(vm)] if len(vm) <= len(local) else vm.index)
        out.append(_chart(charts.voltage_envelope(vm, c.get("vmin"), c.get("vmax"),
                                                  "bus voltage range per hour", tz),
                          "voltage envelope"))
    v = c.get("violations")
    if v is not None and len(v):
        out.append(f"<details><summary>violations (first {min(len(v), 200)} of {len(v)})"
                   "</summary>" + table(v.head(200)) + "</details>")
    return "".join(out)
