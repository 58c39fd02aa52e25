"""Benchmark: the shared-storage lease as a sized asset -- what its table costs.

Run ``python -m benchmarks.lease_sizing [--json PATH]``.

A synthetic year (8760 h, seeded): two sites with a daily price cycle (60 +- 50 per MWh,
noise 5) and a daily load cycle (5 +- 2 MW), one shared plant of 20 MWh / 5 MW leased by a
tenant at each site, priced per month (300 per MWh-month, 75 per MW-month: 12 lease periods)
and per day (10 per MWh-day, 2.5 per MW-day: 365 periods). One HiGHS solve each; the figures
side by side: HiGHS's solve time, the whole extraction and the ``lease_sizing`` table alone.
The table's lease cost is checked against the objective's ``lease`` term. No timed asserts.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._out import emit

T = 8760


def _scenario(period: str, price: float) -> Any:
    import engine

    rng = np.random.default_rng(0)
    h = np.arange(T)
    prices = (60 + 50 * np.sin(h * 2 * np.pi / 24) + rng.normal(0, 5, T)).round(3).tolist()
    load = (5 + 2 * np.cos(h * 2 * np.pi / 24)).round(3).tolist()
    sites = [{"name": n, "latitude_deg": 36.6, "longitude_deg": 101.8,
              "grid": {"import_max_mw": 20, "import_price_per_mwh": prices},
              "datacenter": {"gpus": 10000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                             "inflexible_it_mw": load}} for n in ("a", "b")]
    plant = {"name": "p", "energy_mwh": 20, "power_mw": 5,
             "offer": {"period": period, "energy_price_per_mwh_period": price,
                       "power_price_per_mw_period": price / 4},
             "leases": [{"tenant": "ta", "site": "a"}, {"tenant": "tb", "site": "b"}]}
    return engine.Scenario.from_dict({"name": f"lease-{period}", "start": "2023-01-01 00:00",
                                      "timezone": "UTC", "horizon_h": T, "sites": sites,
                                      "shared_storage": [plant]})


def run(period: str, price: float) -> dict[str, Any]:
    """One solve; the lease table's own time measured by wrapping its builder."""
    import engine
    from engine.components import shared_storage as ss

    spent: list[float] = []
    orig = ss._lease_sizing

    def timed(*args: Any) -> Any:
        t0 = time.perf_counter()
        out = orig(*args)
        spent.append(time.perf_counter() - t0)
        return out

    ss._lease_sizing = timed
    try:
        res = engine.optimize(_scenario(period, price))
    finally:
        ss._lease_sizing = orig
    table = res.tables["lease_sizing"]
    gap = abs(float(table["lease_cost"].sum()) - float(res.costs["lease"]))
    return {"period": period, "solve_s": res.timings["solve_s"],
            "extract_s": res.timings["extract_s"], "lease_sizing_s": spent[0],
            "lease_cost_vs_objective_term": gap,
            "rows": json.loads(table.to_json(orient="records"))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lease_sizing")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    out = {"python": platform.python_version(),
           "runs": [run("month", 300.0), run("day", 10.0)]}
    return emit(out, a.json)


if __name__ == "__main__":  # pragma: no cover
    main()
