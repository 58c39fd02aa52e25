"""Build the PV-storage-charging (光储充) example: ``examples/pv_storage_charging.yaml``.

Run from the repository root (nothing is downloaded)::

    python examples/build_pv_storage_charging.py

A 6 MW PV-storage-charging microgrid at Xining for the summer week from 2023-07-10
(Asia/Shanghai): 6 MW of PV on the Xining weather file of the park example (NSRDB-based,
see ``build_xining_example.py``), a 2 MW / 4 MWh battery, 24 chargers of 120 kW, a small
edge data center, a lease option on a shared storage plant of Qinghai's 2022 size
(82 MW / 164 MWh; a 40 CNY/MWh discharge subsidy, see ``SUBSIDY``) and a demand-response event on the
evening peak of the 7th day, baselined on the 3 previous days of the plan without it.

Charging sessions are SYNTHETIC (seeded): arrivals drawn from a two-peak daily rate (morning
commute and evening return, taxis and ride-hailing through the day), stays of 1-4 h, 20-70
kWh each at up to 120 kW; plus 8 e-buses on overnight V2G (300 kWh batteries, 150 kWh
needed by 06:00). No open session record with arrival times could be shipped here
(``simbench`` 1.6.3's load profiles hold no EV column; ``acnportal`` ships no sessions, its
ACN-Data needs an online key), so the shape is stated, not measured. Prices, DR payment and
lease prices are illustrative CNY.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).parent
OUT = HERE / "pv_storage_charging.yaml"
T = 168

#: Arrivals per hour of day (synthetic two-peak shape: 08-09 and 17-19, a midday plateau).
ARRIVALS = [1, 0, 0, 0, 1, 2, 4, 7, 9, 8, 6, 5, 5, 5, 5, 6, 7, 9, 9, 8, 6, 4, 3, 2]
#: Discharge subsidy [CNY/MWh]. Qinghai paid 100; at this example's fees and prices a
#: subsidy above ~50 pays for cycling the leased battery (even charging and discharging in
#: the same hour), which the LP then does -- the contract's incentive, not a model error.
SUBSIDY = 40.0
TOU = [300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0]


def sessions(rng: np.random.Generator) -> list[dict]:
    out = []
    for day in range(7):
        for hour, n in enumerate(ARRIVALS):
            for _ in range(int(rng.poisson(n))):
                a = day * 24 + hour
                d = min(T, a + int(rng.integers(1, 5)))
                if d <= a:
                    continue
                out.append({"name": f"car_{len(out):04d}", "arrival_h": a, "departure_h": d,
                             "energy_mwh": round(float(rng.uniform(0.02, 0.07)), 4),
                             "max_power_kw": 120.0})
    for day in range(6):
        for b in range(8):
            a = day * 24 + 21 + b % 3
            out.append({"name": f"bus{b}_day{day}", "arrival_h": a, "departure_h": a + 9 - b % 3,
                        "energy_mwh": 0.15, "max_power_kw": 120.0, "v2g": True,
                        "battery_mwh": 0.3, "arrival_soc_mwh": 0.1})
    return out


def scenario() -> dict:
    rng = np.random.default_rng(2023)
    return {
        "name": "pv_storage_charging",
        "start": "2023-07-10 00:00", "timezone": "Asia/Shanghai", "horizon_h": T,
        "currency": "CNY",
        "policy": {"value_of_lost_load_per_mwh": 20000.0},
        "sites": [{
            "name": "hub", "latitude_deg": 36.62, "longitude_deg": 101.78, "altitude_m": 2275.0,
            "weather": {"csv": "data/xining_weather_2023.csv", "wind_height_m": 2.0},
            "pv": [{"name": "carport_pv", "capacity_mw": 6.0, "tilt_deg": 30.0,
                    "azimuth_deg": 180.0}],
            "batteries": [{"name": "bess", "energy_mwh": 4.0, "charge_power_mw": 2.0,
                           "discharge_power_mw": 2.0, "soc_min_fraction": 0.1,
                           "initial_soc_fraction": 0.5, "degradation_cost_per_mwh": 20.0}],
            "grid": {"import_max_mw": 6.0, "export_max_mw": 3.0,
                     "import_price_per_mwh": {"daily": TOU}, "export_price_per_mwh": 150.0,
                     "emission_factor_kg_per_mwh": 179.6},
            "datacenter": {"gpus": 400, "it_power_per_gpu_kw": 1.25, "pue": 1.15,
                           "inflexible_utilization_fraction": 0.6},
            "ev_charging": {"chargers": 24, "charger_power_kw": 120.0,
                            "unmet_energy_value_per_mwh": 3000.0,
                            "v2g_degradation_cost_per_mwh": 60.0,
                            "sessions": sessions(rng)},
        }],
        "shared_storage": [{
            "name": "qinghai_shared", "energy_mwh": 164.0, "power_mw": 82.0,
            "charge_efficiency": 0.93, "discharge_efficiency": 0.93,
            "offer": {"period": "day", "energy_price_per_mwh_period": 160.0,
                      "power_price_per_mw_period": 40.0, "throughput_price_per_mwh": 10.0,
                      "subsidy_per_mwh_discharged": SUBSIDY},
            "leases": [{"tenant": "hub_operator", "site": "hub", "max_energy_mwh": 6.0,
                        "max_power_mw": 3.0}],
        }],
        "demand_response": {
            "baseline": "previous_days", "baseline_days": 3,
            "events": [{"name": "summer_peak", "site": "hub", "start_h": 6 * 24 + 19,
                        "duration_h": 3, "reduction_mw": 1.5, "payment_per_mwh": 3000.0,
                        "penalty_per_mwh": 1000.0, "notice_h": 24}],
        },
    }


def main() -> None:
    text = yaml.safe_dump(scenario(), sort_keys=False, width=100, default_flow_style=None)
    head = ("# 6 MW PV-storage-charging microgrid at Xining, summer week. Generated by\n"
            "# examples/build_pv_storage_charging.py (SYNTHETIC sessions; illustrative prices).\n")
    OUT.write_text(head + text)


if __name__ == "__main__":
    main()
