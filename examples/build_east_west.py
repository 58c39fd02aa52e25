"""Build ``examples/east_west.yaml``: East data, West compute over a year.

Three sites in two regions: the Xining park (west: PV, wind, hydro, a battery, cheap and
mostly clean grid power; the repository's weather file ``data/xining_weather_2023.csv``),
a second western site ("hainan": PV, flat mostly-hydro grid) and an eastern site
("shanghai": coal-heavy grid, higher prices and factors, no on-site generation). One link
east-west (100 Gbps, 25 ms one way, 0.006 kWh/GB at each end, 0.05 CNY/GB). Three tenants own
420 training jobs (seeded random releases, windows, GPUs and data volumes of 1-400 TB, three
in four with their data in the east) and the regions' inference (east: 3 MW within a 30 ms
round trip, which only the eastern site meets; west: 1 MW within 80 ms). Prices, factors,
jobs and volumes are illustrative, not measured; ``--east`` writes the all-east baseline
(every job pinned to the eastern site) as ``east_west_all_east.yaml``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
TZ = "Asia/Shanghai"


def build(all_east: bool = False, n_jobs: int = 420, horizon_h: int = 8760,
          seed: int = 11) -> dict:
    """The scenario as plain data (``all_east``: every job pinned to ``shanghai``)."""
    rng = np.random.default_rng(seed)
    tou_west = [300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0]
    tou_east = [520.0] * 7 + [880.0] * 3 + [1050.0] * 2 + [880.0] * 5 + [1150.0] * 4 \
        + [880.0] * 2 + [520.0]
    green_west = [0.45] * 7 + [0.55, 0.65] + [0.75] * 8 + [0.55] * 3 + [0.45] * 4
    tenants = ["fin_east", "ai_lab", "video_cdn"]
    jobs = []
    for k in range(n_jobs):
        window = int(rng.choice([48, 96, 168, 336]))
        release = int(rng.integers(0, horizon_h - window + 1))
        gpus = int(rng.choice([256, 512, 1024, 2048]))
        busy = float(rng.uniform(0.25, 0.6))
        east = rng.random() < 0.75
        job = {"name": f"job{k:03d}", "gpu_hours": round(gpus * window * busy, 1),
               "release_h": release, "deadline_h": release + window, "gpus": gpus,
               "data_gb": round(float(np.exp(rng.uniform(np.log(1e3), np.log(4e5)))), 1),
               "home_region": "east" if east else "west",
               "tenant": tenants[k % 3]}
        if all_east:
            job["sites"] = ["shanghai"]
        jobs.append(job)

    def site(name, lat, lon, alt, **assets):
        return {"name": name, "latitude_deg": lat, "longitude_deg": lon, "altitude_m": alt,
                **assets}

    weather = {"csv": "data/xining_weather_2023.csv", "wind_height_m": 2.0}
    return {
        "name": "east_west_all_east" if all_east else "east_west",
        "start": "2023-01-01 00:00", "timezone": TZ, "horizon_h": horizon_h, "currency": "CNY",
        "policy": {"carbon_price_per_t": 60.0, "value_of_lost_load_per_mwh": 20_000.0},
        "sites": [
            site("xining", 36.62, 101.78, 2275.0, weather=weather,
                 pv=[{"name": "pv_xining", "capacity_mw": 30.0, "tilt_deg": 34.0,
                      "azimuth_deg": 180.0}],
                 wind=[{"name": "wind_xining", "capacity_mw": 14.0, "hub_height_m": 100.0,
                        "shear_exponent": 0.2}],
                 hydro=[{"name": "hydro_xining", "max_power_mw": 8.0,
                         "energy_budget_mwh": 120.0, "budget_period_h": 24}],
                 batteries=[{"name": "bess_xining", "energy_mwh": 40.0,
                             "charge_power_mw": 10.0, "discharge_power_mw": 10.0,
                             "charge_efficiency": 0.95, "discharge_efficiency": 0.95,
                             "soc_min_fraction": 0.1, "soc_max_fraction": 0.95,
                             "initial_soc_fraction": 0.5, "degradation_cost_per_mwh": 20.0}],
                 grid={"import_max_mw": 25.0, "import_price_per_mwh": {"daily": tou_west},
                       "emission_factor_kg_per_mwh": 120.0,
                       "clean_share_fraction": {"daily": green_west}},
                 datacenter={"gpus": 10_000, "it_power_per_gpu_kw": 1.3,
                             "inflexible_utilization_fraction": 0.2}),
            site("hainan", 36.28, 100.62, 2850.0, weather=weather,
                 pv=[{"name": "pv_hainan", "capacity_mw": 20.0, "tilt_deg": 36.0,
                      "azimuth_deg": 180.0}],
                 grid={"import_max_mw": 15.0, "import_price_per_mwh": 260.0,
                       "emission_factor_kg_per_mwh": 150.0, "clean_share_fraction": 0.7},
                 datacenter={"gpus": 6_000, "it_power_per_gpu_kw": 1.3,
                             "inflexible_utilization_fraction": 0.2}),
            site("shanghai", 31.23, 121.47, 10.0,
                 grid={"import_max_mw": 30.0, "import_price_per_mwh": {"daily": tou_east},
                       "emission_factor_kg_per_mwh": 650.0, "clean_share_fraction": 0.25},
                 datacenter={"gpus": 12_000, "it_power_per_gpu_kw": 1.3, "pue": 1.35,
                             "inflexible_utilization_fraction": 0.2}),
        ],
        "regions": [
            {"name": "west", "sites": ["xining", "hainan"], "inference_it_mw": 1.0,
             "latency_budget_ms": 80.0, "tenant": "video_cdn"},
            {"name": "east", "sites": ["shanghai"], "inference_it_mw": 3.0,
             "latency_budget_ms": 30.0, "tenant": "fin_east"},
        ],
        "links": [{"from_region": "east", "to_region": "west", "bandwidth_gbps": 100.0,
                   "latency_ms": 25.0, "energy_kwh_per_gb": 0.006, "price_per_gb": 0.05}],
        "tenants": [{"name": t} for t in tenants],
        "jobs": jobs,
    }


def main() -> None:
    all_east = "--east" in sys.argv
    data = build(all_east=all_east)
    head = ("# East data, West compute: 3 sites, 2 regions, 3 tenants, 420 jobs, 2023 hourly.\n"
            "# Generated by examples/build_east_west.py (illustrative prices and jobs).\n")
    name = "east_west_all_east.yaml" if all_east else "east_west.yaml"
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)
    (HERE / name).write_text(head + text)


if __name__ == "__main__":
    main()
