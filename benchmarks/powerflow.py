"""Power-flow benchmark: wattbit's kernels side by side with pandapower, in one run.

Run ``python -m benchmarks.powerflow`` (needs the ``[test]`` extra for pandapower).
Timings on shared machines drift 10-40 % between runs minutes apart, so every
contender is measured in the same run, interleaved round by round (A B C A B C
...), and the table shows medians and ratios of medians.

What is measured
----------------
- case33bw, 8,760 hourly snapshots of bus demand: our Cython sweep and our Numba
  Newton-Raphson through ``engine.network.run_powerflow_timeseries`` (validation,
  solve, |V|, angles, losses), against pandapower's time-series module
  (``run_timeseries`` with ``ConstControl``s on load P and Q and an ``OutputWriter``
  logging ``res_bus.vm_pu``) and against a plain loop of
  ``runpp(recycle=...)``. pandapower is timed on the first ``--pp-steps-33`` and on
  a quarter as many snapshots; the two give its per-snapshot cost and fixed set-up
  cost, extrapolated to 8,760 as ``t(n) + (8760 - n) * per_snapshot``.
- case1354pegase, 8,760 snapshots: our batched Newton-Raphson against the same two
  pandapower paths timed on ``--pp-steps-1354`` snapshots and extrapolated.
- First call in a fresh process (``subprocess``; import + read the case + first
  solve, timed inside the child, plus the child's whole wall time): our sweep, our
  Newton with Numba's cache warm and cold (cold = empty ``NUMBA_CACHE_DIR``), and
  pandapower's ``import`` + first ``runpp`` on case33bw.

The load profile is synthetic (daily and seasonal cycles, ±10 % per bus noise,
seeded); both sides see the same demand in every snapshot, and the last snapshot's
voltages of each side are compared and printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from engine.network import Network, read_matpower, run_powerflow_timeseries

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "data" / "matpower"
HOURS = 8760


def load_scale(n_t: int, n_bus: int, seed: int = 0) -> np.ndarray:
    """Per-snapshot, per-bus demand multipliers: daily and seasonal cycle, ±10 % noise."""
    h = np.arange(n_t)
    profile = (0.75 + 0.2 * np.sin(2 * np.pi * (h - 6) / 24)
               + 0.05 * np.cos(2 * np.pi * h / HOURS))
    rng = np.random.default_rng(seed)
    return profile[:, None] * rng.uniform(0.9, 1.1, size=(n_t, n_bus))


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# ------------------------------------------------------------------ ours

def ours(net: Network, scale: np.ndarray, method: str, n_threads: int | None):
    p = net.bus[:, 2] * scale
    q = net.bus[:, 3] * scale
    return _timed(lambda: run_powerflow_timeseries(net, p, q, method=method,
                                                   n_threads=n_threads))


# ------------------------------------------------------------------ pandapower

def _pp_net(name: str):
    import pandapower as pp
    import pandapower.networks as pn

    net = getattr(pn, name)()
    pp.runpp(net)  # JIT and internal structures ready before timing
    return net


def _pp_tables(net) -> list[str]:
    """pandapower tables holding bus demand: ``load``, and ``sgen`` where pandapower's
    converter turned a MATPOWER bus's negative Pd into a static generator. Scaling both
    by the bus's factor reproduces our ``Pd * scale`` exactly."""
    return [tab for tab in ("load", "sgen") if len(net[tab])]


def pp_timeseries(name: str, scale: np.ndarray, n_steps: int):
    """pandapower's time-series module over the first ``n_steps`` snapshots."""
    import pandas as pd
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    net = _pp_net(name)
    steps = range(n_steps)
    for tab in _pp_tables(net):
        buses = net[tab].bus.to_numpy()
        for var in ("p_mw", "q_mvar"):
            df = pd.DataFrame(net[tab][var].to_numpy() * scale[:n_steps, buses], index=steps)
            ConstControl(net, tab, var, element_index=net[tab].index, data_source=DFData(df),
                         profile_name=list(range(len(net[tab]))))
    # Only vm_pu: pandapower 3.5's batch reader raises "Something went wrong" when a
    # second res_bus variable is logged (it computes the angles all the same).
    ow = OutputWriter(net, steps, output_path=None, log_variables=[("res_bus", "vm_pu")])
    secs, _ = _timed(lambda: run_timeseries(net, steps, verbose=False))
    return secs, ow.output["res_bus.vm_pu"].to_numpy()[-1]


def pp_recycle(name: str, scale: np.ndarray, n_steps: int):
    """A loop of ``runpp`` with pandapower's ``recycle`` option (only demand changes)."""
    import pandapower as pp

    net = _pp_net(name)
    tables = _pp_tables(net)
    base = {tab: (net[tab].bus.to_numpy(), net[tab].p_mw.to_numpy().copy(),
                  net[tab].q_mvar.to_numpy().copy()) for tab in tables}
    vm = np.empty((n_steps, len(net.bus)))
    recycle = {"bus_pq": True, "trafo": False, "gen": False}

    def loop():
        for t in range(n_steps):
            for tab, (buses, p0, q0) in base.items():
                net[tab]["p_mw"] = p0 * scale[t, buses]
                net[tab]["q_mvar"] = q0 * scale[t, buses]
            pp.runpp(net, recycle=recycle)
            vm[t] = net.res_bus.vm_pu.to_numpy()

    secs, _ = _timed(loop)
    return secs, vm[-1]


def pp_year(fn, name: str, scale: np.ndarray, n_steps: int) -> tuple[float, float, np.ndarray]:
    """Extrapolate a pandapower path to a year from runs of n/4 and n snapshots.

    The two runs give a per-snapshot slope and a fixed set-up cost (controllers,
    output writer, first ppc build), so the year is ``t(n) + (8760 - n) * slope``
    rather than a naive ``t(n) * 8760 / n`` that would multiply the set-up too.
    Returns (seconds for the year, seconds per snapshot, last snapshot's vm).
    """
    small = max(2, n_steps // 4)
    t_small, _ = fn(name, scale, small)
    t_big, vm = fn(name, scale, n_steps)
    slope = max((t_big - t_small) / (n_steps - small), 0.0)
    return t_big + (HOURS - n_steps) * slope, slope, vm


# ------------------------------------------------------------------ fresh processes

_CHILD = """
import time, warnings
t0 = time.perf_counter()
warnings.simplefilter("ignore")
{body}
print(time.perf_counter() - t0)
"""
_OURS = """
from engine.network import read_matpower, run_powerflow
r = run_powerflow(read_matpower({path!r}), method={method!r})
assert r.converged
"""
_PP = """
import pandapower as pp, pandapower.networks as pn
net = pn.case33bw()
pp.runpp(net)
"""


def fresh_process(body: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds inside the child from before its imports to after the first solve,
    seconds of the child's whole life including interpreter start)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD.format(body=body)], cwd=ROOT,
                         env={**os.environ, **(env or {})}, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


# ------------------------------------------------------------------ driver

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    ap.add_argument("--pp-steps-33", type=int, default=200,
                    help="case33bw snapshots timed for pandapower, extrapolated to 8,760")
    ap.add_argument("--pp-steps-1354", type=int, default=50,
                    help="case1354pegase snapshots timed for pandapower, extrapolated")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # pandapower's deprecation chatter is not ours to fix
    import numba

    threads = numba.get_num_threads()
    times: dict[str, list[float]] = {}

    def add(key: str, secs: float) -> None:
        times.setdefault(key, []).append(secs)

    n33 = read_matpower(CASES / "case33bw.m")
    n1354 = read_matpower(CASES / "case1354pegase.m")
    s33 = load_scale(HOURS, n33.n_bus, seed=0)
    s1354 = load_scale(HOURS, n1354.n_bus, seed=1)
    # Warm-up: compile/cache-load our kernels and pandapower's before any timing.
    ours(n33, s33[:10], "sweep", None)
    ours(n33, s33[:10], "nr", None)
    ours(n1354, s1354[:10], "nr", None)
    path33 = str(CASES / "case33bw.m")
    fresh_process(_OURS.format(path=path33, method="nr"))  # fills Numba's on-disk cache
    pp_timeseries("case33bw", s33, 2)  # pandapower's own first-use costs, untimed
    checks = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        secs, res = ours(n33, s33, "sweep", None)
        add("33 sweep", secs)
        checks["33 ours"] = res.vm_pu
        assert res.converged.all()
        add("33 sweep 1t", ours(n33, s33, "sweep", 1)[0])
        secs, res = ours(n33, s33, "nr", None)
        add("33 nr", secs)
        assert res.converged.all()
        add("33 nr 1t", ours(n33, s33, "nr", 1)[0])
        for key, fn in (("33 pp ts", pp_timeseries), ("33 pp recycle", pp_recycle)):
            secs, slope, vm = pp_year(fn, "case33bw", s33, args.pp_steps_33)
            add(key, secs)
            add(key + " per step", slope)
            checks[key] = vm

        secs, res = ours(n1354, s1354, "nr", None)
        add("1354 nr", secs)
        assert res.converged.all()
        checks["1354 ours"] = res.vm_pu
        add("1354 nr 1t", ours(n1354, s1354, "nr", 1)[0])
        for key, fn in (("1354 pp ts", pp_timeseries), ("1354 pp recycle", pp_recycle)):
            secs, slope, vm = pp_year(fn, "case1354pegase", s1354, args.pp_steps_1354)
            add(key, secs)
            add(key + " per step", slope)
            checks[key] = vm

        inside, wall = fresh_process(_OURS.format(path=path33, method="sweep"))
        add("cold sweep", inside)
        add("cold sweep wall", wall)
        inside, wall = fresh_process(_OURS.format(path=path33, method="nr"))
        add("cold nr warm cache", inside)
        add("cold nr warm cache wall", wall)
        with tempfile.TemporaryDirectory() as cache:
            inside, wall = fresh_process(_OURS.format(path=path33, method="nr"),
                                         env={"NUMBA_CACHE_DIR": cache})
        add("cold nr cold cache", inside)
        add("cold nr cold cache wall", wall)
        inside, wall = fresh_process(_PP)
        add("cold pp", inside)
        add("cold pp wall", wall)

    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nPower-flow benchmark: {args.rounds} interleaved rounds, medians; "
          f"{os.cpu_count()} CPUs, Numba threads {threads}.")
    print(f"pandapower extrapolated from {args.pp_steps_33} (case33bw) and "
          f"{args.pp_steps_1354} (case1354pegase) snapshots to {HOURS}.\n")
    rows = [
        ("case33bw, 8,760 h: our sweep (Cython)", "33 sweep", "33 pp ts"),
        ("case33bw, 8,760 h: our sweep, 1 thread", "33 sweep 1t", "33 pp ts"),
        ("case33bw, 8,760 h: our NR (Numba)", "33 nr", "33 pp ts"),
        ("case33bw, 8,760 h: our NR, 1 thread", "33 nr 1t", "33 pp ts"),
        ("case33bw, 8,760 h: pandapower run_timeseries", "33 pp ts", "33 pp ts"),
        ("case33bw, 8,760 h: pandapower runpp recycle loop", "33 pp recycle", "33 pp ts"),
        ("case1354pegase, 8,760 h: our NR (Numba)", "1354 nr", "1354 pp ts"),
        ("case1354pegase, 8,760 h: our NR, 1 thread", "1354 nr 1t", "1354 pp ts"),
        ("case1354pegase, 8,760 h: pandapower run_timeseries", "1354 pp ts", "1354 pp ts"),
        ("case1354pegase, 8,760 h: pandapower runpp recycle", "1354 pp recycle", "1354 pp ts"),
        ("fresh process: our sweep (import+read+solve)", "cold sweep", "cold pp"),
        ("fresh process: our NR, Numba cache warm", "cold nr warm cache", "cold pp"),
        ("fresh process: our NR, Numba cache cold", "cold nr cold cache", "cold pp"),
        ("fresh process: pandapower import + runpp", "cold pp", "cold pp"),
    ]
    print(f"{'what':<52} {'median':>11} {'pp time-series / this':>22} {'pp recycle / this':>18}")
    for label, key, ref in rows:
        t = med[key]
        unit = f"{t * 1e3:9.1f} ms" if t < 10 else f"{t:9.2f} s "
        ratio = f"{med[ref] / t:20.1f}x"
        rec = ref.replace("pp ts", "pp recycle")
        ratio2 = f"{med[rec] / t:16.1f}x" if rec in med else " " * 17
        if key.startswith("cold"):
            unit += f" (wall {med[key + ' wall']:.2f} s)"
            ratio = f"{med['cold pp'] / t:20.1f}x"
            ratio2 = ""
        print(f"{label:<52} {unit:>11} {ratio:>22} {ratio2:>18}")
    print("\n(cold rows: ratio column is pandapower's cold first call / ours)")
    for key in ("33 pp ts", "33 pp recycle", "1354 pp ts", "1354 pp recycle"):
        print(f"{key}: {med[key + ' per step'] * 1e3:.2f} ms per snapshot (slope)")
    print("\nSame answers (max |vm| difference at the last snapshot pandapower solved, pu):")
    for case, n in (("33", args.pp_steps_33), ("1354", args.pp_steps_1354)):
        for peer in ("pp ts", "pp recycle"):
            d = np.max(np.abs(checks[f"{case} ours"][n - 1] - checks[f"{case} {peer}"]))
            print(f"  {'case33bw' if case == '33' else 'case1354pegase'} vs {peer}: {d:.2e}")


if __name__ == "__main__":
    main()
