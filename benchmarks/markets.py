"""Benchmark: the markets of issue 12 -- the flexibility envelope of a year and a shared
storage plant with 20 tenants over a year.

Run ``python -m benchmarks.markets [--envelope] [--shared] [--days N] [--reps R]
[--genset] [--json PATH]``.

* **Envelope** (``--envelope``): the PV-storage-charging hub of
  ``examples/pv_storage_charging.yaml`` without its EV sessions, lease and event (6 MW PV on
  the Xining weather file, 2 MW / 4 MWh battery, TOU grid, a 0.5 MW edge data center), one
  27-h day model per day of 2023 (the day plus 3 h so that a 4-h hold can start at 23:00;
  the last day has 24 h), 24 starts x 3 durations (1, 2, 4 h) per day.
  :func:`engine.markets.flexibility_envelope` keeps ONE persistent HiGHS model: each day's
  arrays go in place (bounds, costs, changed coefficients), the plan is re-solved warm, then
  each point changes only its hold rows' bounds and re-solves warm (points that contain a
  window holding 0 are 0 without a solve). Per rep, interleaved with the order alternating:
  the whole envelope, and a cold HiGHS solve (``to_highs`` then ``run()``, run timed) of
  every 7th day model. Reported per rep: time per envelope point (Python included; points
  skipped as 0 count as points) against the median cold solve; medians over reps.
  ``--genset`` adds a 2 MW gas genset with commitment (binaries: each point a MILP).
* **Shared plant** (``--shared``): 20 tenant sites (grid TOU prices shifted by tenant, data
  centers with load profiles shifted by 1 h per tenant) over 8,760 h, each with a lease on one
  plant (monthly lease variables), i.e. 20 virtual batteries inside one physical plant.
  ``engine.optimize`` wall time (prepare, build, hand-over, solve, extract) against HiGHS's
  own ``run()`` on the identical model in the same process (``to_highs`` of the built
  arrays, then ``run()`` only), interleaved ``--reps`` times (engine first in even reps,
  HiGHS first in odd ones), medians. Target <= 1.15x.
  ``--ipm`` runs both sides with HiGHS's interior-point solver (much faster than the default
  dual simplex on this model).

No timed asserts; figures are printed and, with ``--json``, written out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import engine
from engine.api import build_model
from engine.backends.base import SolverOptions

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pv_storage_charging.yaml"
TOU = [300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0]


_BASE: dict[str, Any] = {}


GENSET = {"name": "gas", "max_power_mw": 2.0, "min_power_mw": 1.0, "min_up_h": 2,
          "start_cost": 300.0, "fuel_slopes_mwh_th_per_mwh": [2.4],
          "fuel_price_per_mwh_th": 180.0, "emission_kg_per_mwh_th": 202.0}


def hub_day(day: int, hours: int, genset: bool = False) -> Any:
    """The example's hub without sessions, lease and event, over ``hours`` from a day
    (its weather given inline, sliced from the yearly file read once); ``genset``: with a
    2 MW gas genset (1 MW minimum, 2 h minimum up time, a start cost): a MILP."""
    import pandas as pd

    if not _BASE:
        d = yaml.safe_load(EXAMPLE.read_text())
        d["sites"][0].pop("ev_charging")
        d.pop("shared_storage")
        d.pop("demand_response")
        _BASE["dict"] = d
        _BASE["weather"] = pd.read_csv(EXAMPLE.parent / "data" / "xining_weather_2023.csv")
    d = json.loads(json.dumps(_BASE["dict"]))
    wx = _BASE["weather"].iloc[24 * day:24 * day + hours]
    d["start"] = str(wx["time"].iloc[0])
    d["horizon_h"] = hours
    d["sites"][0]["weather"] = {c: wx[c].round(4).tolist()
                                for c in ("ghi", "dni", "dhi", "temp_air", "wind_speed")}
    d["sites"][0]["weather"]["wind_height_m"] = 2.0
    if genset:
        d["sites"][0]["gensets"] = [dict(GENSET)]
    return engine.Scenario.from_dict(d)


def _highs_cold(sc: Any) -> float:
    """``run()`` of one day model from scratch (a fresh HiGHS instance), seconds."""
    from engine.backends.highs import to_highs

    a = build_model(sc).model.arrays()
    h = to_highs(a, SolverOptions())
    t = time.perf_counter()
    h.run()
    return time.perf_counter() - t


def envelope(days: int, reps: int, genset: bool = False) -> dict[str, Any]:
    """Per rep, interleaved (the order alternates): the envelope of all ``days`` on one
    persistent model, and a cold HiGHS solve of every 7th day model; per point / cold."""
    from engine.markets import flexibility_envelope

    t0 = time.perf_counter()
    last = 364
    scs = [hub_day(k, 27 if k < last else 24, genset) for k in range(days)]
    t_load = time.perf_counter() - t0
    sample = [sc for k, sc in enumerate(scs) if k % 7 == 3 and k < last] or scs[:1]
    reps_out = []
    for r in range(reps):
        rec: dict[str, Any] = {}

        def run_envelope() -> None:
            t1 = time.perf_counter()
            env = flexibility_envelope(scs, durations=(1, 2, 4), hours=range(24))
            rec["wall_s"] = time.perf_counter() - t1
            rec.update({k: env.attrs[k] for k in ("n_points", "n_solved", "n_models_built",
                                                  "plan_s", "points_s")})
            rec["mean_reduction_mw"] = float(env["reduction_mw"].mean())

        def run_cold() -> None:
            rec["cold_ms"] = [1e3 * _highs_cold(sc) for sc in sample]

        for step in ((run_envelope, run_cold) if r % 2 == 0 else (run_cold, run_envelope)):
            step()
        rec["per_point_ms"] = 1e3 * rec["points_s"] / rec["n_points"]
        rec["per_solved_point_ms"] = 1e3 * rec["points_s"] / max(rec["n_solved"], 1)
        rec["cold_median_ms"] = statistics.median(rec["cold_ms"])
        rec["point_vs_cold"] = rec["per_point_ms"] / rec["cold_median_ms"]
        rec["build_s"] = rec["wall_s"] - rec["plan_s"] - rec["points_s"]
        del rec["cold_ms"]
        reps_out.append(rec)
        print(json.dumps(rec))
    whole = []
    for r in range(3):  # engine.optimize of one day model, whole
        t = time.perf_counter()
        engine.optimize(sample[(5 * r) % len(sample)])
        whole.append(time.perf_counter() - t)
    return {"days": days, "genset_milp": genset, "scenario_load_s": t_load,
            "cold_sample_days": len(sample), "reps": reps_out,
            "per_point_ms_median": statistics.median(x["per_point_ms"] for x in reps_out),
            "cold_ms_median": statistics.median(x["cold_median_ms"] for x in reps_out),
            "point_vs_cold_median": statistics.median(x["point_vs_cold"] for x in reps_out),
            "day_model_optimize_ms": 1e3 * statistics.median(whole)}


def shared_scenario(tenants: int = 20, hours: int = 8760) -> Any:
    """``tenants`` sites over ``hours`` with one lease each on one shared plant."""
    t = np.arange(24)
    sites, leases = [], []
    for k in range(tenants):
        load = 0.5 + 0.25 * np.sin((t - 6 - k) / 24 * 2 * np.pi)
        # distinct tenants (no two with the same prices: identical tenants make the LP
        # massively degenerate)
        price = (np.roll(TOU, k % 6) * (1.0 + 0.013 * k)).round(2).tolist()
        sites.append({
            "name": f"t{k:02d}", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 5.0, "import_price_per_mwh": {"daily": price}},
            "datacenter": {"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.2,
                           "inflexible_utilization_fraction": {"daily": load.round(4).tolist()}},
        })
        leases.append({"tenant": f"tenant{k:02d}", "site": f"t{k:02d}", "max_energy_mwh": 4.0,
                       "max_power_mw": 1.0})
    return engine.Scenario.from_dict({
        "name": "shared_year", "start": "2023-01-01 00:00", "timezone": "Asia/Shanghai",
        "horizon_h": hours, "sites": sites,
        "shared_storage": [{"name": "plant", "energy_mwh": 40.0, "power_mw": 10.0,
                            "offer": {"period": "month", "energy_price_per_mwh_period": 3000.0,
                                      "power_price_per_mw_period": 1000.0,
                                      "throughput_price_per_mwh": 5.0},
                            "leases": leases}]})


def shared(reps: int, tenants: int, hours: int, ipm: bool = False) -> dict[str, Any]:
    from engine.backends.highs import to_highs

    sc = shared_scenario(tenants, hours)
    hopts = {"solver": "ipm"} if ipm else {}
    eng, raw, obj = [], [], []
    def run_engine() -> Any:
        t = time.perf_counter()
        res = engine.optimize(sc, highs_options=hopts)
        eng.append(time.perf_counter() - t)
        obj.append(res.objective)
        return res

    def run_highs() -> tuple[int, int]:
        a = build_model(sc).model.arrays()
        h = to_highs(a, SolverOptions(highs_options=hopts))
        t = time.perf_counter()
        h.run()
        raw.append(time.perf_counter() - t)
        obj.append(float(h.getInfo().objective_function_value))
        return a.A.shape

    for r in range(reps):  # interleaved, alternating which side goes first
        if r % 2 == 0:
            res = run_engine()
            shape = run_highs()
        else:
            shape = run_highs()
            res = run_engine()
    out = {"tenants": tenants, "hours": hours, "highs_options": hopts, "rows": shape[0], "cols": shape[1],
           "engine_s": eng, "highs_run_s": raw, "objectives": obj,
           "timings_last": res.timings,
           "sharing_saving_fraction": float(res.tables["shared_storage"]
                                            ["sharing_saving_fraction"].iloc[0]),
           "peak_soc_mwh": float(res.tables["shared_storage"]["peak_soc_mwh"].iloc[0]),
           "sum_tenant_peaks_mwh": float(res.tables["shared_storage"]
                                         ["sum_tenant_peak_soc_mwh"].iloc[0])}
    out["ratio_median"] = statistics.median(eng) / statistics.median(raw)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envelope", action="store_true")
    p.add_argument("--shared", action="store_true")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--tenants", type=int, default=20)
    p.add_argument("--hours", type=int, default=8760)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--ipm", action="store_true", help="HiGHS's interior point (both sides)")
    p.add_argument("--genset", action="store_true",
                   help="envelope: the hub with a committed gas genset (a MILP per day)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    out: dict[str, Any] = {}
    if args.envelope or not args.shared:
        out["envelope"] = envelope(args.days, args.reps, args.genset)
        print(json.dumps(out["envelope"], indent=1))
    if args.shared or not args.envelope:
        out["shared"] = shared(args.reps, args.tenants, args.hours, args.ipm)
        print(json.dumps(out["shared"], indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
