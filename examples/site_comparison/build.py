"""Build the two scenarios of the site comparison: the same 10,000-GPU center at Xining and
at an eastern site, each sizing its PV, wind, battery and grid connection for an 80 % annual
green-power guarantee.

Run ``python examples/site_comparison/build.py``; it writes ``xining.yaml``, ``eastern.yaml``
and ``data/eastern_weather_2023.csv`` next to itself.

ALL ECONOMIC INPUTS ARE ILLUSTRATIVE (round numbers of the right order, not quotes), in CNY.
Where a number comes from a data set, the source is named:

* Xining weather: ``examples/data/xining_weather_2023.csv`` (NSRDB PSM v4 2023 at a
  2,168 m semi-arid site, NREL, via pvlib's test data; mapped to Xining by
  ``examples/build_xining_example.py``).
* Eastern weather: pvlib's bundled TMY3 file ``723170TYA.CSV`` (Greensboro NC, 36.1 N:
  humid subtropical, hot humid summers; the analogue of the Yangtze delta that the shared
  data README names), its local-standard-time hours laid on Shanghai's clock (2023).
* Grid CO2 factors: ``shared/data/carbon/china_provincial_emissions_2023.json`` (codecarbon
  3.3.2; MEE/NBS 2023 provincial factors): Qinghai ``CN-QH`` 179.6 g/kWh, Jiangsu
  ``CN-JS`` 582.7 g/kWh.
* PUE: the engine's cooling model (free cooling below 12 C at PUE 1.12, +0.012 per C above,
  at most 1.45) on each site's hourly temperature -- the same plant design at both sites.
* Load: 10,000 GPUs x 1.3 kW; inference utilisation profile of ``examples/xining_park.yaml``
  (illustrative); no training jobs (representative days cannot hold job windows).
* Tariffs (illustrative): Xining TOU 180-650 CNY/MWh (the profile of
  ``examples/xining_park.yaml``), demand charge 28 CNY/kW-month; eastern TOU 320 / 680 /
  1,080 CNY/MWh (valley / flat / peak), 40 CNY/kW-month. Clean share of grid energy:
  Xining 0.45-0.75 by hour (the example's profile), eastern 0.30 flat.
* Asset costs (illustrative, CNY): PV 3.0 M/MW at Xining, 3.6 M/MW in the east (land, roof
  mounting); wind 4.5 M/MW both; battery 0.9 M/MWh + 0.25 M/MW, half of the capex again in
  year 10; grid connection 0.5 M/MW; fixed O&M PV 45 k/MW-yr, wind 90 k/MW-yr, battery
  20 k/MW-yr. Discount rate 6 %, 15 years.
* Existing assets (business-as-usual): a 10 MW grid connection and nothing else; the
  connection may grow (capex on the added MW only).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
EAST_WEATHER = HERE / "data" / "eastern_weather_2023.csv"

INFERENCE = [0.32, 0.3, 0.3, 0.3, 0.3, 0.31, 0.33, 0.36, 0.4, 0.43, 0.45, 0.46, 0.45, 0.45,
             0.46, 0.46, 0.45, 0.45, 0.46, 0.48, 0.5, 0.48, 0.42, 0.36]
XINING_TOU = [300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0]
XINING_CLEAN = [0.45] * 7 + [0.55, 0.65] + [0.75] * 8 + [0.55] * 3 + [0.45] * 4
EAST_TOU = [320.0] * 8 + [680.0] * 9 + [1080.0] * 5 + [680.0] * 2


def eastern_weather() -> pd.DataFrame:
    """TMY3 Greensboro hours (local standard time) on Shanghai's clock of 2023."""
    import pvlib

    path = os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")
    tmy, _ = pvlib.iotools.read_tmy3(path, map_variables=True)
    index = pd.date_range("2023-01-01 00:00", periods=8760, freq="h")
    cols = ["ghi", "dni", "dhi", "temp_air", "wind_speed"]
    out = pd.DataFrame({c: tmy[c].to_numpy(dtype=float).round(2) for c in cols})
    out.insert(0, "time", index.strftime("%Y-%m-%d %H:%M"))
    return out


def _investment(capex_mw: float, om: float, life: int, max_mw: float, **kw) -> dict:
    return {"capex_per_mw": capex_mw, "fixed_om_per_mw_year": om, "lifetime_years": life,
            "extendable": True, "max_mw": max_mw, **kw}


def scenario(name: str, *, lat: float, lon: float, alt: float, weather: str, tou: list,
             clean, demand: float, ef: float, pv_capex: float) -> dict:
    return {
        "name": name, "start": "2023-01-01 00:00", "timezone": "Asia/Shanghai",
        "horizon_h": 8760, "currency": "CNY",
        "policy": {"green_share_min_fraction": 0.8, "green_matching": "annual",
                   "carbon_price_per_t": 60.0, "value_of_lost_load_per_mwh": 20000.0},
        "finance": {"discount_rate_fraction": 0.06, "analysis_years": 15},
        "sizing": {"representative_days": 12},
        "sites": [{
            "name": name, "latitude_deg": lat, "longitude_deg": lon, "altitude_m": alt,
            "weather": {"csv": weather, "wind_height_m": 10.0 if "eastern" in weather else 2.0},
            "pv": [{"name": f"{name}_pv", "capacity_mw": 0.0, "tilt_deg": round(lat),
                    "investment": _investment(pv_capex, 4.5e4, 25, 400.0)}],
            "wind": [{"name": f"{name}_wind", "capacity_mw": 0.0, "hub_height_m": 100.0,
                      "shear_exponent": 0.2,
                      "investment": _investment(4.5e6, 9.0e4, 20, 300.0)}],
            "batteries": [{
                "name": f"{name}_bess", "energy_mwh": 0.0, "charge_power_mw": 0.0,
                "discharge_power_mw": 0.0, "charge_efficiency": 0.95,
                "discharge_efficiency": 0.95, "soc_min_fraction": 0.1,
                "soc_max_fraction": 0.95, "initial_soc_fraction": 0.5,
                "investment": _investment(2.5e5, 2.0e4, 20, 300.0, capex_per_mwh=9.0e5,
                                          max_mwh=1500.0, replacement_year=10,
                                          replacement_cost_fraction=0.5)}],
            "grid": {"import_max_mw": 10.0, "import_price_per_mwh": {"daily": tou},
                     "demand_charge_per_mw_month": demand, "emission_factor_kg_per_mwh": ef,
                     "clean_share_fraction": clean,
                     "investment": _investment(5.0e5, 0.0, 30, 60.0)},
            "datacenter": {"gpus": 10000, "it_power_per_gpu_kw": 1.3,
                           "inflexible_utilization_fraction": {"daily": INFERENCE}},
        }],
    }


def main() -> None:
    EAST_WEATHER.parent.mkdir(exist_ok=True)
    eastern_weather().to_csv(EAST_WEATHER, index=False)
    sites = {
        "xining": scenario("xining", lat=36.62, lon=101.78, alt=2275.0,
                           weather="../data/xining_weather_2023.csv", tou=XINING_TOU,
                           clean={"daily": XINING_CLEAN}, demand=28000.0, ef=179.6,
                           pv_capex=3.0e6),
        "eastern": scenario("eastern", lat=31.23, lon=121.47, alt=10.0,
                            weather="data/eastern_weather_2023.csv", tou=EAST_TOU,
                            clean=0.30, demand=40000.0, ef=582.7, pv_capex=3.6e6),
    }
    head = ("# Generated by examples/site_comparison/build.py: ILLUSTRATIVE inputs, sources in "
            "its docstring.\n")
    for name, d in sites.items():
        text = yaml.safe_dump(d, sort_keys=False, default_flow_style=None, width=100)
        (HERE / f"{name}.yaml").write_text(head + text)


if __name__ == "__main__":
    main()
    print("wrote", *(p.name for p in sorted(HERE.glob("*.yaml"))), EAST_WEATHER.name)
