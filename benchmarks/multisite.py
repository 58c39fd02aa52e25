"""Scaling with sites: N copies of the Xining site, uncoupled and coupled by placed jobs.

For each N, in one run (interleaved, so the ratios share the machine's state):

* ``one model``: the N uncoupled copies (every job pinned to its copy) as one LP, HiGHS
  simplex (today's path);
* ``one model, whole``: the same with the block split switched off (one HiGHS model of
  all N copies: the path before the split);
* ``threads``: the same N copies as N separate scenarios solved in a thread pool
  (``engine.optimize`` per site; highspy releases the GIL);
* ``coupled simplex`` / ``coupled ipm``: every job allowed at every copy (the placement's
  LP split, no data to move), HiGHS dual simplex and interior point.

Times are wall seconds of ``engine.optimize`` (build + solve + results); ratios are to the
one-site time of the same column. The green-share floor is off (an annual floor over all
sites would couple the copies).

    PYTHONPATH=. python -m benchmarks.multisite --sites 1 2 4 8 [--annual]
    PYTHONPATH=. python -m benchmarks.multisite --sites 1 2 4 8 --coupled-only ring
    PYTHONPATH=. python -m benchmarks.multisite --annual --coupled-only ring --shifted \
        --sites 1 2 4 --solvers simplex block_dual block_split block_split_dual

(``block_split*``: the split start of :mod:`benchmarks.block_split`, build + solve only.)
"""
from __future__ import annotations

import argparse
import copy
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

import engine

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _base(annual: bool) -> dict:
    name = "xining_park.yaml" if annual else "xining_week.yaml"
    d = yaml.safe_load((EXAMPLES / name).read_text())
    d["policy"]["green_share_min_fraction"] = 0.0
    return d


def scenario(n: int, coupled: bool, annual: bool = False, ring: bool = False,
             shifted: bool = False) -> Any:
    """N copies of the site; each copy's jobs pinned to it, or (``coupled``) allowed at all
    copies, or (``ring``) at their copy and the next one (pairs grow linearly with N, where
    all-to-all coupling gives N^2 (job, site) pairs). ``shifted``: copy ``i``'s daily import
    tariff rotated by ``3 i`` hours (sites in other time zones; identical copies make the
    coupled LP massively degenerate: any permutation of the jobs is optimal)."""
    d = _base(annual)
    site0, jobs0 = d["sites"][0], d["jobs"]
    d["sites"], d["jobs"] = [], []
    for i in range(n):
        s = copy.deepcopy(site0)
        s["name"] = f"{site0['name']}{i}"
        price = s["grid"]["import_price_per_mwh"]
        if shifted and isinstance(price, dict) and "daily" in price:
            k = (3 * i) % len(price["daily"])
            s["grid"]["import_price_per_mwh"] = {"daily": price["daily"][k:] + price["daily"][:k]}
        for kind in ("pv", "wind", "batteries", "hydro"):
            for a in s.get(kind, []):
                a["name"] = f"{a['name']}{i}"
        d["sites"].append(s)
        for j in jobs0:
            nxt = f"{site0['name']}{(i + 1) % n}"
            where = ([s["name"], nxt] if ring and n > 1 else [] if coupled
                     else [s["name"]])
            d["jobs"].append({**j, "name": f"{j['name']}_{i}", "sites": where})
    return engine.Scenario.from_dict(d, base_dir=EXAMPLES)


def _timed(fn) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


#: The HiGHS settings compared on the coupled copies.
SOLVERS = {"simplex": {"solver": "simplex"}, "ipm": {"solver": "ipm"},
           "ipm_nox": {"solver": "ipm", "run_crossover": "off"}}
#: The block starts compared (``engine.optimize(block_start=...)``): the sites solved apart
#: with every job at home, then the whole LP by the primal or dual simplex from their bases
#: ("tree": sites merged in pairs, fours, ... by the dual simplex before the whole LP).
BLOCK_STARTS = {"block_primal": "primal", "block_dual": "dual", "block_tree": "tree"}
#: The split start (benchmarks.block_split, not an engine mode): the jobs' shares from
#: month-long windows of the coupled LP, the sites solved apart at that split, then the
#: whole LP by the primal or dual simplex (build + solve: no results tables).
SPLIT_STARTS = {"block_split": "primal", "block_split_dual": "dual"}


def run_coupled(sites: list[int], annual: bool, ring: bool, solvers: list[str],
                shifted: bool = False) -> list[dict]:
    """Coupled copies only: each HiGHS setting in turn per N (ratios to N = first)."""
    rows = []
    engine.optimize(scenario(1, True, False, ring))  # warm-up: the process's first solve
    for n in sites:
        sc = scenario(n, True, annual, ring, shifted)
        row: dict[str, Any] = {"sites": n}
        for name in solvers:
            if name == "benders":  # build + decomposition (no results tables)
                from engine.backends.decompose import solve_benders

                def bend():
                    f = engine.build_model(sc)
                    if "placement/share" not in f.model.var_groups:  # one site: nothing to split
                        res = engine.optimize(sc)
                        return {"objective": res.objective, "rounds": 0}
                    return solve_benders(f.model, f.model.arrays())

                t, out = _timed(bend)
                row["benders_s"], row["benders_obj"] = t, out["objective"]
                row["benders_rounds"] = out["rounds"]
                continue
            if name in SPLIT_STARTS:
                from benchmarks.block_split import solve as split_solve

                cpu = time.process_time()
                t, out = _timed(lambda: split_solve(sc, 730, SPLIT_STARTS[name]))
                row[f"{name}_s"], row[f"{name}_obj"] = t, out["objective"]
                row[f"{name}_cpu_s"] = time.process_time() - cpu
                row[f"{name}_status"] = str(out["status"])
                row[f"{name}_iterations"] = out["iterations"]
                row[f"{name}_timings"] = {k: round(v, 3) if isinstance(v, float) else v
                                          for k, v in out.items()
                                          if k not in ("objective", "iterations", "status")}
                continue
            kw = ({"block_start": BLOCK_STARTS[name]} if name in BLOCK_STARTS
                  else {"highs_options": SOLVERS[name]})
            cpu = time.process_time()
            t, res = _timed(lambda: engine.optimize(sc, **kw))
            row[f"{name}_s"], row[f"{name}_obj"] = t, res.objective
            row[f"{name}_cpu_s"] = time.process_time() - cpu
            row[f"{name}_status"] = str(res.status)
            row[f"{name}_iterations"] = res.iterations
            row[f"{name}_timings"] = {k: round(v, 3) for k, v in res.timings.items()}
        objs = [row[f"{k}_obj"] for k in solvers if f"{k}_obj" in row]
        if objs:  # every solver's objective against the first's
            row["objective_spread_rel"] = (max(objs) - min(objs)) / abs(objs[0])
        rows.append(row)
        print(row, flush=True)
    base = rows[0]
    print("\n| sites | " + " | ".join(solvers) + " |")
    print("|---|" + "---|" * len(solvers))
    for r in rows:
        cells = [f"{r[k + '_s']:.2f} s ({r[k + '_s'] / base[k + '_s']:.2f}x)"
                 + (f", CPU {r[k + '_cpu_s']:.2f} s ({r[k + '_cpu_s'] / base[k + '_cpu_s']:.2f}x)"
                    if k + "_cpu_s" in r else "") for k in solvers]
        print(f"| {r['sites']} | " + " | ".join(cells) + " |")
    return rows


def run(sites: list[int], annual: bool, coupled_runs: bool = True) -> list[dict]:
    rows = []
    for n in sites:
        row: dict[str, Any] = {"sites": n}
        pinned = scenario(n, False, annual)
        t, res = _timed(lambda: engine.optimize(pinned))
        row["one_model_s"], obj_one = t, res.objective
        import engine.backends.highs as highs

        keep = highs.solve_blocks
        highs.solve_blocks = lambda arrays, options: None  # the whole-model path
        try:
            t, res_w = _timed(lambda: engine.optimize(pinned))
        finally:
            highs.solve_blocks = keep
        row["one_model_whole_s"] = t
        row["split_vs_whole_rel"] = abs(res_w.objective - obj_one) / abs(obj_one)
        singles = [scenario(1, False, annual) for _ in range(n)]
        with ThreadPoolExecutor(max_workers=min(n, 2)) as pool:
            t, outs = _timed(lambda: list(pool.map(engine.optimize, singles)))
        row["threads_s"] = t
        row["threads_objective_gap"] = abs(sum(o.objective for o in outs) - obj_one) / abs(obj_one)
        if not coupled_runs:
            rows.append(row)
            print(row, flush=True)
            continue
        coupled = scenario(n, True, annual)
        t, res_c = _timed(lambda: engine.optimize(coupled))
        row["coupled_simplex_s"], row["coupled_objective"] = t, res_c.objective
        t, res_i = _timed(lambda: engine.optimize(coupled, highs_options={"solver": "ipm"}))
        row["coupled_ipm_s"] = t
        row["ipm_vs_simplex_rel"] = abs(res_i.objective - res_c.objective) / abs(res_c.objective)
        rows.append(row)
        print(row, flush=True)
    base = rows[0]
    print("\n| sites | one model (split) | one model, whole | threads | coupled simplex "
          "| coupled ipm |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{r[k]:.2f} s ({r[k] / base[k]:.2f}x)" if k in r else "-"
                 for k in ("one_model_s", "one_model_whole_s", "threads_s", "coupled_simplex_s",
                           "coupled_ipm_s")]
        print(f"| {r['sites']} | " + " | ".join(cells) + " |")
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--annual", action="store_true", help="the 8,760-h park instead of a week")
    p.add_argument("--no-coupled", action="store_true", help="skip the coupled runs")
    p.add_argument("--coupled-only", choices=["all", "ring"],
                   help="only the coupled copies (all-to-all or ring), each solver in --solvers")
    p.add_argument("--solvers", nargs="+", default=list(SOLVERS),
                   choices=[*SOLVERS, *BLOCK_STARTS, *SPLIT_STARTS, "benders"],
                   help="benders: engine.backends.decompose on the placement's split")
    p.add_argument("--shifted", action="store_true",
                   help="copy i's tariff rotated by 3 i hours (coupled runs)")
    a = p.parse_args(argv)
    if a.coupled_only:
        return run_coupled(a.sites, a.annual, a.coupled_only == "ring", a.solvers, a.shifted)
    return run(a.sites, a.annual, not a.no_coupled)


if __name__ == "__main__":
    main()
