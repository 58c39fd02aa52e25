"""The reference scenario that every peer can express, and the peers' own builds of it.

One site, T hours (a multiple of 24): PV with a given availability, a battery, grid import at
a daily time-of-use price, an inflexible load and a daily-deferrable load (``E`` MWh to be
consumed at no more than ``P`` MW inside each calendar day). The same data goes to

* wattbit (``engine.optimize``, both backends),
* linopy, building the LP with its own API,
* PyPSA, with its components plus one ``extra_functionality`` constraint per day for the
  deferrable energy,
* raw highspy on the exact matrix wattbit built (the floor).

linopy and PyPSA come from the ``[bench]`` extra; they are imported only here.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# linopy's and PyPSA's progress bars (tqdm) would interleave with the benchmark's tables;
# tqdm reads this when it is first imported, which happens after this module
os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = Path(__file__).resolve().parents[1]

PV_MW = 30.0
BATTERY_MWH, BATTERY_MW, ETA = 40.0, 10.0, 0.95
SOC0 = 0.5 * BATTERY_MWH
IMPORT_MW = 30.0
IT_MW = 13.0
DEFER_MWH, DEFER_MW = 40.0, 4.0
TOU = np.array([300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0])
INFERENCE = np.array([0.32, 0.30, 0.30, 0.30, 0.30, 0.31, 0.33, 0.36, 0.40, 0.43, 0.45, 0.46,
                      0.45, 0.45, 0.46, 0.46, 0.45, 0.45, 0.46, 0.48, 0.50, 0.48, 0.42, 0.36])


@dataclass(frozen=True)
class RefData:
    """Arrays of the reference problem."""

    T: int
    pv_avail_fraction: np.ndarray
    price: np.ndarray
    inflexible_mw: np.ndarray

    @property
    def days(self) -> int:
        return self.T // 24


@lru_cache(maxsize=8)
def reference_data(T: int = 8760) -> RefData:
    """PV availability of the Xining example's weather (through pvlib, once), TOU prices and
    the inference profile, for the first ``T`` hours of 2023.

    With ``WATTBIT_REFERENCE_NPZ`` set to a file written by :func:`save_reference_data`, the
    arrays are read from it, so that peer processes time their own work, not pvlib's.
    """
    if T % 24:
        raise ValueError(f"T must be a multiple of 24, got {T}")
    cached = os.environ.get("WATTBIT_REFERENCE_NPZ")
    if cached:
        z = np.load(cached)
        if int(z["T"]) == T:
            return RefData(T, z["pv"], z["price"], z["inflex"])
    import pandas as pd

    from engine.forecast import pv_power_mw
    from engine.scenario import PV, Site, Weather

    wx = pd.read_csv(ROOT / "examples" / "data" / "xining_weather_2023.csv")
    reps = -(-T // len(wx))
    cols = {c: np.tile(wx[c].to_numpy(), reps)[:T] for c in ("ghi", "dni", "dhi", "temp_air",
                                                            "wind_speed")}
    site = Site(name="x", latitude_deg=36.62, longitude_deg=101.78, altitude_m=2275.0)
    idx = pd.date_range("2023-01-01", periods=T, freq="h", tz="Asia/Shanghai")
    pv = PV(name="pv", capacity_mw=PV_MW, inverter_capacity_mw=PV_MW)
    avail = pv_power_mw(pv, Weather(**cols), site, idx) / PV_MW
    return RefData(T, np.round(avail, 6), np.tile(TOU, T // 24),
                   np.tile(INFERENCE, T // 24) * IT_MW)


def save_reference_data(path: Path, T: int = 8760) -> Path:
    """Write the reference arrays for ``WATTBIT_REFERENCE_NPZ``."""
    d = reference_data(T)
    np.savez(path, T=np.array(T), pv=d.pv_avail_fraction, price=d.price, inflex=d.inflexible_mw)
    return path


def reference_scenario(T: int = 8760, sites: int = 1):
    """The reference problem as a wattbit :class:`~engine.Scenario`; with ``sites > 1``,
    that many copies of the site, each with its own daily jobs (the multi-site size of the
    sweep; the peers are compared on one site only)."""
    import engine

    d = reference_data(T)

    def site(name: str) -> dict:
        tag = "" if sites == 1 else f"@{name}"  # asset names are unique across sites
        return {
            "name": name, "latitude_deg": 36.62, "longitude_deg": 101.78, "altitude_m": 2275.0,
            "pv": [{"name": f"pv{tag}", "capacity_mw": PV_MW,
                    "availability_fraction": d.pv_avail_fraction}],
            "batteries": [{"name": f"bess{tag}", "energy_mwh": BATTERY_MWH,
                           "charge_power_mw": BATTERY_MW,
                           "discharge_power_mw": BATTERY_MW, "charge_efficiency": ETA,
                           "discharge_efficiency": ETA, "soc_min_fraction": 0.0,
                           "initial_soc_fraction": 0.5, "terminal": "equal_initial"}],
            "grid": {"import_max_mw": IMPORT_MW, "import_price_per_mwh": d.price},
            "datacenter": {"gpus": 10_000, "it_power_per_gpu_kw": 1.3, "pue": 1.0,
                           "inflexible_it_mw": d.inflexible_mw},
        }

    names = ["site"] if sites == 1 else [f"site{i}" for i in range(sites)]
    return engine.Scenario.from_dict({
        "name": f"reference_{T}h" + (f"_{sites}sites" if sites > 1 else ""),
        "start": "2023-01-01 00:00", "timezone": "Asia/Shanghai", "horizon_h": T,
        "sites": [site(n) for n in names],
        "jobs": [{"name": f"day{k}" + (f"@{n}" if sites > 1 else ""), "energy_mwh": DEFER_MWH,
                  "release_h": 24 * k, "deadline_h": 24 * (k + 1), "max_power_mw": DEFER_MW,
                  **({"sites": [n]} if sites > 1 else {})}
                 for n in names for k in range(d.days)],
    })


def solve_linopy(T: int = 8760) -> dict:
    """Build the reference LP with linopy and solve it with HiGHS; phases in seconds."""
    import linopy
    import pandas as pd

    d = reference_data(T)
    t0 = time.perf_counter()
    m = linopy.Model()
    time_ = pd.RangeIndex(T, name="t")
    pv = m.add_variables(0, pd.Series(d.pv_avail_fraction * PV_MW, index=time_), name="pv")
    ch = m.add_variables(0, BATTERY_MW, coords=[time_], name="ch")
    dis = m.add_variables(0, BATTERY_MW, coords=[time_], name="dis")
    soc = m.add_variables(0, BATTERY_MWH, coords=[time_], name="soc")
    imp = m.add_variables(0, IMPORT_MW, coords=[time_], name="imp")
    flex = m.add_variables(0, DEFER_MW, coords=[time_], name="flex")
    m.add_constraints(pv + dis - ch + imp - flex == pd.Series(d.inflexible_mw, index=time_),
                      name="balance")
    prev = soc.shift(t=1)
    m.add_constraints(soc - prev - ETA * ch + dis / ETA == 0, name="soc", mask=time_ > 0)
    m.add_constraints(soc.isel(t=0) - ETA * ch.isel(t=0) + dis.isel(t=0) / ETA == SOC0,
                      name="soc0")
    m.add_constraints(soc.isel(t=T - 1) == SOC0, name="soc_end")
    groups = pd.Series(np.arange(T) // 24, index=time_).to_xarray()
    m.add_constraints(flex.groupby(groups).sum() == DEFER_MWH, name="daily")
    m.add_objective((pd.Series(d.price, index=time_) * imp).sum())
    t1 = time.perf_counter()
    # io_api="direct" hands linopy's matrices to highspy without an LP file: its fastest path
    _, cond = m.solve("highs", io_api="direct", output_flag=False)
    t2 = time.perf_counter()
    return {"objective": float(m.objective.value), "build_s": t1 - t0, "solve_s": t2 - t1,
            "total_s": t2 - t0, "status": cond}


def solve_pypsa(T: int = 8760) -> dict:
    """Build the reference problem as a PyPSA network and optimise it with HiGHS."""
    import pandas as pd
    import pypsa

    d = reference_data(T)
    t0 = time.perf_counter()
    n = pypsa.Network()
    n.set_snapshots(pd.RangeIndex(T))
    n.add("Bus", "site")
    n.add("Load", "inference", bus="site", p_set=pd.Series(d.inflexible_mw, n.snapshots))
    n.add("Generator", "pv", bus="site", p_nom=PV_MW,
          p_max_pu=pd.Series(d.pv_avail_fraction, n.snapshots))
    n.add("Generator", "grid", bus="site", p_nom=IMPORT_MW,
          marginal_cost=pd.Series(d.price, n.snapshots))
    soc_set = pd.Series(np.nan, n.snapshots)
    soc_set.iloc[-1] = SOC0
    n.add("StorageUnit", "bess", bus="site", p_nom=BATTERY_MW, max_hours=BATTERY_MWH / BATTERY_MW,
          efficiency_store=ETA, efficiency_dispatch=ETA, state_of_charge_initial=SOC0,
          cyclic_state_of_charge=False, state_of_charge_set=soc_set)
    # the deferrable load: a dispatchable consumer (a generator of negative sign)
    n.add("Generator", "deferrable", bus="site", p_nom=DEFER_MW, sign=-1.0)

    def daily_energy(net, snapshots):
        p = net.model["Generator-p"].sel(name="deferrable")
        groups = pd.Series(np.arange(T) // 24, index=pd.RangeIndex(T, name="snapshot")).to_xarray()
        net.model.add_constraints(p.groupby(groups).sum() == DEFER_MWH, name="deferrable_daily")

    t1 = time.perf_counter()
    _, cond = n.optimize(solver_name="highs", extra_functionality=daily_energy,
                              solver_options={"output_flag": False}, log_to_console=False)
    t2 = time.perf_counter()
    return {"objective": float(n.objective), "build_s": t1 - t0, "solve_s": t2 - t1,
            "total_s": t2 - t0, "status": cond}


def _main() -> None:  # python -m benchmarks.reference {wattbit|linopy|pypsa} T
    import json
    import sys

    tool, T = sys.argv[1], int(sys.argv[2])
    if tool == "linopy":
        out = solve_linopy(T)
    elif tool == "pypsa":
        out = solve_pypsa(T)
    else:
        import engine

        res = engine.optimize(reference_scenario(T))
        out = {"objective": res.objective, **res.timings}
    print(json.dumps(out))


if __name__ == "__main__":
    import logging
    import warnings

    warnings.simplefilter("ignore")  # peers' deprecation chatter is not under test here
    logging.disable(logging.WARNING)
    _main()
