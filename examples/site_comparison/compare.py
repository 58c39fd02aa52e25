"""The same 10,000-GPU center at Xining and at an eastern site, side by side.

Run ``python examples/site_comparison/compare.py [--days N] [--markdown]`` (after
``build.py``). For each site, :func:`engine.economics.appraise` sizes PV, wind, battery and
grid connection for the 80 % annual green-power guarantee on 12 representative days, re-runs
the full year at those sizes and appraises the investment against business-as-usual (the
10 MW grid connection alone, no green floor). The center's own costs are added here, the same
rule at both sites:

ILLUSTRATIVE CENTER INPUTS (CNY; round numbers, not quotes):

* GPU servers: 220,000 per GPU (10,000 GPUs), the same at both sites;
* building and electrical fit-out: 6.0 M per MW of IT at Xining, 8.0 M in the east (land
  and construction prices);
* cooling plant: 1.5 M per MW of IT at Xining (indirect evaporative / free cooling, ~314
  free-cooling days per the mission anchors), 3.0 M in the east (chillers for a hot humid
  summer);
* other opex (staff, maintenance): 3 % of the non-GPU capex per year at both sites;
* revenue: 7.0 per GPU-hour served (the same at both sites); 15 years, 6 %, no GPU refresh.

Annual opex = the full-year dispatch's operating cost (energy, demand charge, carbon price
at 60 CNY/t, unserved energy) + fixed O&M of the energy assets + other opex. Payback =
capex / (revenue - opex); NPV over 15 years at 6 %.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine.economics import appraise, npv

HERE = Path(__file__).resolve().parent

CENTER = {  # per site: building and cooling plant per MW of IT (CNY)
    "xining": {"building_per_mw_it": 6.0e6, "cooling_per_mw_it": 1.5e6},
    "eastern": {"building_per_mw_it": 8.0e6, "cooling_per_mw_it": 3.0e6},
}
GPU_CAPEX = 220_000.0
OTHER_OPEX_FRACTION = 0.03
REVENUE_PER_GPU_HOUR = 7.0
CLAIMS = {"capex": -0.20, "opex": -0.30, "payback_years": -2.0}


def site(name: str, days: int | None) -> dict[str, Any]:
    sc = engine.load_scenario(HERE / f"{name}.yaml")
    if days is not None:
        sc.sizing.representative_days = days
    a = appraise(sc)
    dc = sc.sites[0].datacenter
    it_mw = dc.gpus * dc.it_power_per_gpu_kw / 1000.0
    res = a.project
    gpu_h = float(res.hourly[f"datacenter.{name}/it_mw"].sum()) * 1000 / dc.it_power_per_gpu_kw
    c = CENTER[name]
    energy_capex = float(a.investment["capex"].sum())
    center_capex = it_mw * (c["building_per_mw_it"] + c["cooling_per_mw_it"])
    gpu_capex = dc.gpus * GPU_CAPEX
    capex = gpu_capex + center_capex + energy_capex
    fixed_om = float(a.investment["fixed_om"].sum())
    other = OTHER_OPEX_FRACTION * (center_capex + energy_capex)
    energy_opex = a.metrics["operating_cost_per_year"]
    opex = energy_opex + fixed_om + other
    revenue = REVENUE_PER_GPU_HOUR * gpu_h
    years = sc.finance.analysis_years
    r = sc.finance.discount_rate_fraction
    flows = np.r_[-capex, np.full(years, revenue - opex)]
    k = res.kpis
    return {
        "pue": k["pue"], "green_share": k["green_share"], "emissions_t": k["emissions_t"],
        "capex": capex, "gpu_capex": gpu_capex, "center_capex": center_capex,
        "energy_asset_capex": energy_capex, "opex": opex, "energy_opex": energy_opex,
        "payback_years": capex / (revenue - opex) if revenue > opex else float("nan"),
        "npv": npv(flows, r), "revenue": revenue,
        "green_npv_vs_bau": a.metrics["npv"],
        "sizes": {f"{row.asset} [{row.quantity}]": row.size
                  for row in a.investment.itertuples(index=False)},
    }


def table(rows: dict[str, dict[str, Any]], markdown: bool) -> str:
    x, e = rows["xining"], rows["eastern"]
    lines = [("quantity", "Xining", "eastern", "Xining vs eastern", "seeds' claim")]
    rel = lambda k: f"{x[k] / e[k] - 1:+.1%}"
    spec = [("PUE", "pue", "{:.3f}", None), ("green share", "green_share", "{:.1%}", None),
            ("emissions [t CO2/yr]", "emissions_t", "{:,.0f}", None),
            ("capex [M CNY]", "capex", "{:,.1f}", "capex"),
            ("  of which non-GPU [M CNY]", None, "{:,.1f}", None),
            ("annual opex [M CNY/yr]", "opex", "{:,.1f}", "opex"),
            ("  of which energy [M CNY/yr]", "energy_opex", "{:,.1f}", None),
            ("payback [years]", "payback_years", "{:.2f}", "payback_years"),
            ("NPV, 15 y at 6 % [M CNY]", "npv", "{:,.1f}", None),
            ("NPV of the green assets vs grid only [M CNY]", "green_npv_vs_bau", "{:,.1f}",
             None)]
    scale = {"capex", "opex", "energy_opex", "npv", "green_npv_vs_bau"}
    for label, key, fmt, claim in spec:
        if key is None:
            xv = x["center_capex"] + x["energy_asset_capex"]
            ev = e["center_capex"] + e["energy_asset_capex"]
            lines.append((label, fmt.format(xv / 1e6), fmt.format(ev / 1e6), f"{xv / ev - 1:+.1%}",
                          ""))
            continue
        xv, ev = x[key], e[key]
        f = 1e-6 if key in scale else 1.0
        diff = (f"{xv - ev:+.2f} y" if key == "payback_years" else
                f"{(xv - ev) * 100:+.1f} pts" if key == "green_share" else rel(key))
        want = "" if claim is None else (f"{CLAIMS[claim]:+.0%}" if claim != "payback_years"
                                         else f"{CLAIMS[claim]:+.0f} y")
        lines.append((label, fmt.format(xv * f), fmt.format(ev * f), diff, want))
    for name in ("xining", "eastern"):
        sizes = ", ".join(f"{k} {v:,.1f}" for k, v in rows[name]["sizes"].items())
        lines.append((f"sizes at {name}", sizes, "", "", ""))
    if markdown:
        out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
        out += ["| " + " | ".join(r) + " |" for r in lines[1:]]
        return "\n".join(out)
    return "\n".join(f"{r[0]:<46}{r[1]:>16}{r[2]:>16}{r[3]:>20}{r[4]:>14}" for r in lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="compare.py")
    p.add_argument("--days", type=int, default=None, help="representative days (default 12)")
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args(argv)
    rows = {name: site(name, a.days) for name in ("xining", "eastern")}
    print(table(rows, a.markdown))
    return rows


if __name__ == "__main__":
    main()
