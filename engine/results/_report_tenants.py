"""The per-tenant green-power report ("绿电溯源报告") of the HTML report: one table row per
tenant from ``Result.tenants`` (consumption, clean MWh, CFE score, MWh by source, emissions on
average and marginal factors, CO2 avoided against the grid average, energy cost, the part
that came through a battery) and a chart
of its sources and its hourly CFE (``tenant.<name>/cfe``), for
:mod:`engine.results._report_render`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import engine.results._report_charts as charts
from engine.results._report_html import esc, table

__all__ = ["green_power_section", "tenant_chart", "tenant_table"]

#: Sources in the chart's stacking order: (ledger source, label, colour).
_SOURCES = (
    ("hydro", "hydro", "#1f77b4"), ("wind", "wind", "#17becf"), ("pv", "PV", "#f2b701"),
    ("grid_clean", "grid (clean share)", "#2ca02c"),
    ("grid_fossil", "grid (fossil share)", "#7f7f7f"), ("genset", "genset", "#8c564b"),
    ("storage_initial", "battery (initial charge)", "#9467bd"),
    ("unserved", "unserved", "#d62728"),
)
_OTHER = ("#e377c2", "#bcbd22", "#ff7f0e", "#aec7e8")
#: MWh columns of the ledger that are not sources.
_NOT_SOURCES = ("consumption_mwh", "clean_mwh", "via_battery_mwh")
#: Days above which the CFE panel shows daily means instead of hours.
_DAILY_ABOVE_DAYS = 21


def _label(tenant: Any) -> str:
    return str(tenant) if tenant else "(no tenant)"


def tenant_table(tenants: Any, currency: str) -> Any:
    """``Result.tenants`` for display: the tenants first, the unowned load last (only when
    there is some), source columns without energy dropped, units in the headers."""
    t = tenants.copy()
    t["tenant"] = t["tenant"].map(_label)
    owned = t["tenant"] != "(no tenant)"
    t = t[owned | (t["consumption_mwh"] > 1e-9)]
    src = [c for c in t.columns if c.endswith("_mwh") and c not in _NOT_SOURCES]
    drop = [c for c in src if not np.any(np.abs(t[c].to_numpy(dtype=float)) > 1e-9)]
    t = t.drop(columns=drop)
    names = {"consumption_mwh": "consumption [MWh]", "clean_mwh": "clean [MWh]",
             "cfe_score": "CFE score", "emissions_t": "emissions, average factor [t CO2]",
             "emissions_marginal_t": "emissions, marginal factor [t CO2]",
             "co2_avoided_t": "CO2 avoided vs grid average [t]",
             "energy_cost": f"energy cost [{currency}]",
             "via_battery_mwh": "of which through a battery [MWh]"}
    names.update({c: f"{c[:-4].replace('_', ' ')} [MWh]" for c in src if c not in drop})
    return t.rename(columns=names).reset_index(drop=True)


@charts._styled
def tenant_chart(tenants: Any, cfe: Any, tz: str) -> Any:
    """Top: each tenant's energy by source (stacked bars, MWh). Bottom: each tenant's
    hourly CFE (daily means over a long horizon). ``cfe``: a frame of CFE per tenant on a
    tz-naive local index (NaN in the hours it uses nothing)."""
    t = tenants[tenants["consumption_mwh"] > 1e-9]
    labels = [_label(x) for x in t["tenant"]]
    from matplotlib.figure import Figure

    w, hb = 11.0, 0.45 * max(len(labels), 1) + 0.5
    h = hb + 2.2 + 1.1
    fig = Figure(figsize=(w, h))
    ax, ax2 = fig.subplots(2, 1, gridspec_kw={"height_ratios": [hb, 2.2]})
    fig.subplots_adjust(left=1.6 / w, right=1 - 2.1 / w, top=1 - 0.32 / h, bottom=0.5 / h,
                        hspace=0.75 / (h / 2))
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    known = [s for s, _, _ in _SOURCES]
    extra = sorted(c[:-4] for c in t.columns if c.endswith("_mwh")
                   and c[:-4] not in known and c not in _NOT_SOURCES)
    styles = list(_SOURCES) + [(s, s.replace("_", " "), _OTHER[i % len(_OTHER)])
                               for i, s in enumerate(extra)]
    for src, label, colour in styles:
        col = f"{src}_mwh"
        if col not in t:
            continue
        v = t[col].to_numpy(dtype=float)
        if not np.any(v > 1e-9):
            continue
        ax.barh(y, v, left=left, color=colour, label=label, height=0.6)
        left += v
    for yi, (total, score) in enumerate(zip(left, t["cfe_score"].to_numpy(dtype=float))):
        ax.text(total, yi, f"  CFE {score:.0%}" if score == score else "", va="center",
                fontsize=8)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, float(left.max()) * 1.18 if len(left) and left.max() > 0 else 1.0)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.set_xlabel("MWh")
    ax.set_title("energy by source per tenant (traced; battery as a mixing tank)", y=1.0,
                 pad=4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    daily = len(cfe) > _DAILY_ABOVE_DAYS * 24
    frame = cfe.resample("D").mean() if daily else cfe
    for i, name in enumerate(frame.columns):
        ax2.plot(frame.index, frame[name].to_numpy() * 100.0, lw=1.2,
                 drawstyle="default" if daily else "steps-post", label=_label(name),
                 color=f"C{i % 10}")
    ax2.set_ylim(-2, 102)
    ax2.set_ylabel("CFE [%]")
    ax2.set_title(("daily mean of the hourly CFE" if daily else "hourly CFE")
                  + f" ({tz})", y=1.0, pad=4)
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    charts._date_axis(ax2, (len(cfe) or 1) / 24.0)
    return fig


def green_power_section(result: Any, local: Any, tz: str, currency: str) -> str | None:
    """The section's HTML, or None without a tenant ledger."""
    import pandas as pd

    tenants = getattr(result, "tenants", None)
    if tenants is None or not len(tenants) or "cfe_score" not in tenants:
        return None
    owned = [x for x in tenants["tenant"] if x]
    if not owned:
        return None
    h = result.hourly
    # hours a tenant uses nothing have no CFE: gaps in its line, not zeros
    cfe = pd.DataFrame({n: np.where(h[f"tenant.{n}/consumption_mw"].to_numpy() > 1e-9,
                                    h[f"tenant.{n}/cfe"].to_numpy(), np.nan)
                        for n in owned if f"tenant.{n}/cfe" in h}, index=local)
    fig = tenant_chart(tenants, cfe, tz)
    n_cert = len(getattr(result, "certificates", ()))
    return ("<section id='green-power'><h2>Green power by tenant</h2>"
            "<p class='note'>Each tenant's consumption traced hour by hour to the sources "
            "that served it (hourly certificates"
            + (f": {n_cert:,} records" if n_cert else "")
            + "); CO2 avoided is counted against supplying the same energy from the grid "
              "at its average factor.</p>"
            + table(tenant_table(tenants, currency))
            + f"<figure class='chart' aria-label='{esc('green power by tenant')}'>"
            + charts.svg(fig) + "</figure></section>")
