"""Benchmark: sizing in units -- a genset's unit count (MILP) and a GPU count (LP).

Run ``python -m benchmarks.sizing_units [--json PATH]``.

Two synthetic scenarios (inputs below, seeded), each solved side by side as

* the **sizing** model (``investment.extendable``), and
* the **dispatch** at the chosen size, stated as an input (:func:`engine.sizes.with_sizes`),

on HiGHS (``Result.timings["solve_s"]``), one repetition each:

* ``genset``: a week (168 h) of inference load between 2 and 8 MW, a grid limited to 3 MW at
  60 per MWh, gensets of 3 MW units (Pmin 1 MW, minimum up 3 h and down 2 h, a start cost)
  sized in 0..4 units, shedding at 1000 per MWh; the dispatch with one binary per unit
  (``aggregate: false``) and with an integer count (``aggregate: true``; the sized entry is
  modelled so in both);
* ``gpu``: a year (8760 h) of inference demand (a daily and a yearly cycle with noise), PUE
  1.2, the GPU count sized in 0..20,000 (cold: ``sizing.annual_start: none``, and the
  default start on typical days).

No timed asserts: the figures are printed (and written as JSON).
"""
from __future__ import annotations

import argparse
import platform
from pathlib import Path
from typing import Any

import numpy as np

import engine
from benchmarks._out import emit
from engine.sizes import with_sizes

__all__ = ["gensets", "gpus", "main"]

FINANCE = {"discount_rate_fraction": 0.07, "analysis_years": 10}


def _site(load: np.ndarray, **extra: Any) -> dict[str, Any]:
    return {"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "datacenter": {"gpus": 10000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": load.tolist()}, **extra}


def _pair(d: dict[str, Any], **kw: Any) -> dict[str, Any]:
    sc = engine.Scenario.from_dict(d)
    sized = engine.optimize(sc, backend="highs", **kw)
    fixed = engine.optimize(with_sizes(sc, sized.investment), backend="highs", **kw)
    return {"sizing_status": str(sized.status), "sizing_solve_s": sized.timings["solve_s"],
            "sizing_total_s": sized.timings["total_s"],
            "sizing_start_s": sized.timings.get("start_s", 0.0),
            "sizing_objective": sized.objective,
            "sizes": sized.investment[["asset", "quantity", "size"]].to_dict("records"),
            "dispatch_status": str(fixed.status), "dispatch_solve_s": fixed.timings["solve_s"],
            "dispatch_objective": fixed.objective,
            "capex_terms": float(sized.investment["annualised_cost"].sum())
            * sc.horizon_h / 8760.0,
            "sizing_over_dispatch": sized.timings["solve_s"] / fixed.timings["solve_s"]}


def gensets() -> dict[str, Any]:
    T = 168
    h = np.arange(T)
    rng = np.random.default_rng(1)
    load = (5 + 3 * np.sin(2 * np.pi * (h % 24 - 6) / 24) + rng.normal(0, 0.3, T)).clip(2, 8)
    g = {"name": "g", "units": 0, "max_power_mw": 3.0, "min_power_mw": 1.0, "min_up_h": 3,
         "min_down_h": 2, "start_cost": 300.0, "fuel_no_load_mwh_th_per_h": 0.5,
         "fuel_slopes_mwh_th_per_mwh": [2.2, 2.6], "fuel_breakpoints_mw": [2.0],
         "fuel_price_per_mwh_th": 40.0, "emission_kg_per_mwh_th": 202.0,
         "investment": {"capex_per_mw": 1.5e6, "lifetime_years": 15, "extendable": True,
                        "max_units": 4}}
    d = {"name": "genset-sizing", "start": "2023-01-01 00:00", "timezone": "UTC",
         "horizon_h": T, "finance": FINANCE, "policy": {"value_of_lost_load_per_mwh": 1000.0},
         "sites": [_site(load, grid={"import_max_mw": 3.0, "import_price_per_mwh": 60.0},
                         gensets=[g])]}
    out = {}
    for aggregate in (False, True):  # (the sized entry is aggregated either way)
        g["aggregate"] = aggregate
        out[f"aggregate_{str(aggregate).lower()}"] = _pair(d, time_limit_s=300,
                                                            mip_rel_gap=1e-6)
    return out


def gpus() -> dict[str, Any]:
    T = 8760
    h = np.arange(T)
    rng = np.random.default_rng(0)
    load = (8 + 3 * np.sin(2 * np.pi * (h % 24) / 24) + 2 * np.sin(2 * np.pi * h / T)
            + rng.normal(0, 0.5, T)).clip(1.0)
    site = _site(load, grid={"import_max_mw": 100, "import_price_per_mwh": 50.0})
    site["datacenter"].update(gpus=0, it_power_per_gpu_kw=1.3, pue=1.2, investment={
        "capex_per_gpu": 3.0e4, "lifetime_years": 5, "extendable": True, "max_gpus": 20000})
    out = {}
    for start in ("none", "representative_days"):
        d = {"name": "gpu-sizing", "start": "2023-01-01 00:00", "timezone": "UTC",
             "horizon_h": T, "finance": FINANCE, "sizing": {"annual_start": start},
             "policy": {"value_of_lost_load_per_mwh": 1500.0}, "sites": [site]}
        out[start] = _pair(d)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sizing_units")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    out = {"python": platform.python_version(), "genset": gensets(), "gpu": gpus()}
    return emit(out, a.json)


if __name__ == "__main__":  # pragma: no cover
    main()
