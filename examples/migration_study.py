"""Checkpoint migration on the East-West model: what treating each job as one run (its state
moving with its checkpoint) changes against the LP split of independent shares.

Uses ``build_east_west.build`` unchanged, cut to ``--hours`` hours and ``--jobs`` jobs, and
solves three variants with HiGHS's interior point (no crossover):

* ``split``: today's placement (a job's shares at its sites are independent, free to move);
* ``checkpoint``: every job carries a checkpoint of ``--gb-per-gpu`` GB per GPU
  (illustrative: about 1 GB per GPU for optimizer state and weights), so its work follows
  its checkpoint over the 100 Gbps link (0.05 CNY/GB, 0.006 kWh/GB at each end);
* ``all east``: every job pinned to the eastern site (the baseline of the README).

    PYTHONPATH=. python examples/migration_study.py --hours 336 --jobs 16
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_east_west import build  # noqa: E402

import engine  # noqa: E402

OPTS = {"solver": "ipm", "run_crossover": "off"}


def _run(d: dict) -> tuple[engine.Result, float]:
    sc = engine.Scenario.from_dict(d, base_dir=HERE)
    t0 = time.perf_counter()
    res = engine.optimize(sc, highs_options=OPTS)
    return res, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, default=336)
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--gb-per-gpu", type=float, default=1.0)
    a = ap.parse_args()
    split = build(n_jobs=a.jobs, horizon_h=a.hours)
    ck = copy.deepcopy(split)
    for job in ck["jobs"]:
        job["checkpoint_gb"] = a.gb_per_gpu * job["gpus"]
    east = build(all_east=True, n_jobs=a.jobs, horizon_h=a.hours)
    print("| variant | status | total cost [CNY] | emissions [t] | training placed west "
          "| data moved [TB] | checkpoints moved [TB] | jobs at 2+ sites | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, d in (("split", split), ("checkpoint", ck), ("all east", east)):
        res, wall = _run(d)
        pl = res.placement
        west = 0.0
        multi = 0
        if len(pl):
            mwh = pl.groupby("site")["it_energy_mwh"].sum()
            west = float(mwh.drop("shanghai", errors="ignore").sum() / mwh.sum())
            multi = int((pl[pl["share"] > 1e-3].groupby("job").size() > 1).sum())
        print(f"| {name} | {res.status} | {res.costs.sum():,.0f} | "
              f"{res.kpis['emissions_t']:,.1f} | {west:.1%} | "
              f"{res.kpis.get('data_moved_tb', 0.0):,.1f} | "
              f"{res.kpis.get('checkpoint_moved_tb', 0.0):,.2f} | {multi} | {wall:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
