"""Build the PV-storage-charging (光储充) example: ``examples/pv_storage_charging.yaml``.

Run from the repository root (nothing is downloaded)::

    python examples/build_pv_storage_charging.py

A 6 MW PV-storage-charging microgrid at Xining for the summer week from 2023-07-10
(Asia/Shanghai): 6 MW of PV on the Xining weather file of the park example (NSRDB-based,
see ``build_xining_example.py``), a 2 MW / 4 MWh battery, 24 chargers of 120 kW, a small
edge data center, a lease option on a shared storage plant of Qinghai's 2022 size
(82 MW / 164 MWh; a 40 CNY/MWh discharge subsidy, see ``SUBSIDY``) and a demand-response event on the
evening peak of the 7th day, baselined on the 3 previous days of the plan without it.

Charging sessions are REAL-SHAPED: every car session is a measured session of Dundee City
Council's public charge points (``examples/data/ev/dundee_sessions_2018-06-03_04.csv``: all
329 completed sessions that started on Sunday 3 and Monday 4 June 2018; Open Government
Licence v3.0, see ``examples/data/README.md``), replayed on the Xining hub: the example's
weekdays (Mon-Fri) repeat Monday's 173 sessions and its weekend days Sunday's 156, with their
measured plug-in time (floored to the hour), plug-out time (ceiled, at least one hour later),
energy delivered (the energy needed) and the charge point's rating (7, 22 or 50 kW) as the
session's maximum rate. Sessions still plugged in at the horizon's end are cut there (their
energy may then be partly unmet, priced). The 8 e-buses on overnight V2G (300 kWh batteries,
150 kWh needed by 06:00) are SYNTHETIC. Prices, DR payment and lease prices are
illustrative CNY.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).parent
OUT = HERE / "pv_storage_charging.yaml"
T = 168

#: Measured sessions (Dundee City Council, OGL v3.0): day 3 is a Sunday, day 4 a Monday.
SESSIONS_CSV = HERE / "data" / "ev" / "dundee_sessions_2018-06-03_04.csv"
#: Discharge subsidy [CNY/MWh]. Qinghai paid 100; at this example's fees and prices a
#: subsidy above ~50 pays for cycling the leased battery (even charging and discharging in
#: the same hour), which the LP then does -- the contract's incentive, not a model error.
SUBSIDY = 40.0
TOU = [300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0]


def real_sessions(path: Path = SESSIONS_CSV) -> list[dict]:
    """The week's car sessions replayed from the measured Dundee days (weekday: Monday 4 June
    2018, weekend: Sunday 3 June), hours counted from the example's Monday 00:00."""
    import pandas as pd

    df = pd.read_csv(path, parse_dates=["start", "end"])
    df = df[df["energy_kwh"] > 0]
    day0 = {3: pd.Timestamp("2018-06-03"), 4: pd.Timestamp("2018-06-04")}
    out = []
    for day in range(7):
        src = 3 if day >= 5 else 4          # 2023-07-10 is a Monday: days 5, 6 are weekend
        sel = df[df["start"].dt.day == src]
        a_h = ((sel["start"] - day0[src]) / pd.Timedelta(hours=1)).to_numpy()
        d_h = ((sel["end"] - day0[src]) / pd.Timedelta(hours=1)).to_numpy()
        for a, d, e, kw in zip(np.floor(a_h).astype(int), np.ceil(d_h).astype(int),
                               sel["energy_kwh"], sel["charger_kw"]):
            arr = day * 24 + int(a)
            dep = min(T, max(day * 24 + int(d), arr + 1))
            if arr >= T:
                continue
            out.append({"name": f"car_{len(out):04d}", "arrival_h": arr, "departure_h": dep,
                        "energy_mwh": round(float(e) / 1000.0, 6),
                        "max_power_kw": float(kw)})
    return out


def sessions() -> list[dict]:
    out = real_sessions()
    for day in range(6):
        for b in range(8):
            a = day * 24 + 21 + b % 3
            out.append({"name": f"bus{b}_day{day}", "arrival_h": a, "departure_h": a + 9 - b % 3,
                        "energy_mwh": 0.15, "max_power_kw": 120.0, "v2g": True,
                        "battery_mwh": 0.3, "arrival_soc_mwh": 0.1})
    return out


def scenario() -> dict:
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
                            "sessions": sessions()},
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
            "# examples/build_pv_storage_charging.py (car sessions replayed from Dundee City\n"
            "# Council's measured sessions, OGL v3.0; e-buses synthetic; illustrative prices).\n")
    OUT.write_text(head + text)


if __name__ == "__main__":
    main()
