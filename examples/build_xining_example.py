"""Build the Xining example: hourly weather for 2023 and the scenario file.

Run from the repository root (needs pvlib; nothing is downloaded)::

    python examples/build_xining_example.py

Writes ``examples/data/xining_weather_2023.csv`` (with a ``time`` column: local times of
2023 in Asia/Shanghai) and two scenarios over it: ``examples/xining_park.yaml`` (the year)
and ``examples/xining_week.yaml`` (the week from 2023-07-03 00:00: ``start`` and
``horizon_h`` select its 168 hours from the yearly file by timestamp; the daily profiles
are tiled from ``start``; the jobs are the year's jobs of that week, released and due
inside it).

Weather method
--------------
Xining (36.62 N, 101.78 E, ~2,275 m) has no open hourly irradiance record in this
repository, so its year is synthesised from two sources:

1. *Real cloudiness and temperature* from NSRDB PSM v4 (2023, 30-min) at 40.53 N, 108.54 W,
   2,168 m (a high-altitude semi-arid site; ``examples/data/solar/nsrdb_psm4_2023_*.csv``, NREL's
   NSRDB via pvlib test data, BSD-3-Clause). Hourly means of the 30-min values give the
   clear-sky index ``kt = GHI / GHI_clear`` (where ``GHI_clear > 20 W/m2``), the
   temperature and the wind speed (NSRDB's wind is at 2 m).
2. *Geometry at Xining*: pvlib's solar position and Ineichen clear sky at Xining
   (altitude 2,275 m, a fixed Linke turbidity of 3.0 for the dry plateau, so no
   turbidity file is read).

The source hours are aligned to Xining by *local solar time* (the two sites are 210.3 deg
of longitude apart: the NSRDB hour used for a Xining hour is the one 14 h later in UTC), so
a clear noon at the source is a clear noon at Xining and the temperature's diurnal cycle
stays in phase. Xining GHI = kt x its clear-sky GHI; DNI and DHI from the Erbs
decomposition. The source's annual mean temperature (7.4 C) is kept (Xining: ~6 C).

Scenario choices (illustrative, not tariffs of record)
------------------------------------------------------
* Time-of-use import prices follow the shape of Qinghai's 2024 TOU design, whose valley
  is at midday because of the solar surplus; the numbers are illustrative CNY/MWh.
* The grid's emission factor is 95 kg CO2/MWh (the 0.095 kg/kWh of the design card); the
  grid's *traceable green* share (energy that comes with green certificates) is an
  illustrative daily profile, 45 % at night to 75 % at midday.
* 10,000 GPUs at 1.3 kW of IT power each (13 MW IT); inference 30-50 % of capacity on a
  daily profile; one large training job a week and one smaller job a day with deadlines.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import yaml

HERE = Path(__file__).parent
SOURCE = HERE / "data" / "solar" / "nsrdb_psm4_2023_lat40.53_lon-108.54.csv"
WEATHER = HERE / "data" / "xining_weather_2023.csv"
SCENARIO = HERE / "xining_park.yaml"
WEEK = HERE / "xining_week.yaml"
WEEK_START, WEEK_H = "2023-07-03 00:00", 168

LAT, LON, ALT, TZ = 36.62, 101.78, 2275.0, "Asia/Shanghai"
SHIFT_H = 14  # source UTC hour = Xining UTC hour + 14 (same local solar time)


def build_weather() -> pd.DataFrame:
    src, meta = pvlib.iotools.read_nsrdb_psm4(SOURCE, map_variables=True)
    src = src.tz_convert("UTC")
    hourly = src[["ghi", "ghi_clear", "temp_air", "wind_speed"]].resample("1h").mean()
    kt = np.where(hourly["ghi_clear"] > 20.0, hourly["ghi"] / hourly["ghi_clear"], 0.0)
    kt = np.clip(kt, 0.0, 1.2)

    index = pd.date_range("2023-01-01 00:00", periods=8760, freq="h", tz=TZ)
    utc = index.tz_convert("UTC")
    # position of each Xining hour in the source year, wrapped at the year's end
    pos = ((utc - hourly.index[0]) // pd.Timedelta(hours=1)).to_numpy() + SHIFT_H
    pos %= len(hourly)
    mid = index + pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(LAT, LON, tz=TZ, altitude=ALT)
    solpos = loc.get_solarposition(mid, method="nrel_numpy")
    clear = loc.get_clearsky(mid, model="ineichen", linke_turbidity=3.0, solar_position=solpos)
    ghi = np.asarray(kt[pos]) * clear["ghi"].to_numpy()
    ghi = np.where(solpos["apparent_zenith"].to_numpy() < 90.0, ghi, 0.0)
    erbs = pvlib.irradiance.erbs(ghi, solpos["zenith"].to_numpy(), mid)
    dni = np.nan_to_num(np.asarray(erbs["dni"]))
    dhi = np.nan_to_num(np.asarray(erbs["dhi"]))
    return pd.DataFrame(
        {
            "time": index.strftime("%Y-%m-%d %H:%M"),
            "ghi": ghi.round(2),
            "dni": dni.round(2),
            "dhi": dhi.round(2),
            "temp_air": hourly["temp_air"].to_numpy()[pos].round(2),
            "wind_speed": hourly["wind_speed"].to_numpy()[pos].round(2),
        }
    )


def build_scenario() -> dict:
    # illustrative TOU import price, CNY/MWh, hour 0 = local midnight
    tou = [300.0] * 7 + [420.0] * 2 + [180.0] * 8 + [650.0] * 6 + [420.0]
    green = [0.45] * 7 + [0.55, 0.65] + [0.75] * 8 + [0.55] * 3 + [0.45] * 4
    inference = [0.32, 0.30, 0.30, 0.30, 0.30, 0.31, 0.33, 0.36, 0.40, 0.43, 0.45, 0.46,
                 0.45, 0.45, 0.46, 0.46, 0.45, 0.45, 0.46, 0.48, 0.50, 0.48, 0.42, 0.36]
    jobs = []
    for w in range(52):  # one large training run a week: 3,000 GPUs for 96 of 168 hours
        jobs.append({"name": f"train_week{w + 1:02d}", "gpu_hours": 288_000.0,
                     "release_h": 168 * w, "deadline_h": 168 * (w + 1), "gpus": 3000})
    for d in range(364):  # a fine-tuning batch a day: 2,000 GPUs x 12 h inside 36 h
        jobs.append({"name": f"finetune_day{d + 1:03d}", "gpu_hours": 24_000.0,
                     "release_h": 24 * d + 8, "deadline_h": min(24 * d + 44, 8760),
                     "gpus": 2500})
    return {
        "name": "xining_park",
        "start": "2023-01-01 00:00",
        "timezone": TZ,
        "horizon_h": 8760,
        "currency": "CNY",
        "policy": {
            "green_share_min_fraction": 0.8,
            "green_matching": "annual",
            "carbon_price_per_t": 60.0,
            "value_of_lost_load_per_mwh": 20_000.0,
            "curtailment_penalty_per_mwh": 0.0,
        },
        "sites": [{
            "name": "xining",
            "latitude_deg": LAT,
            "longitude_deg": LON,
            "altitude_m": ALT,
            "weather": {"csv": "data/xining_weather_2023.csv", "wind_height_m": 2.0},
            "pv": [{"name": "pv_park", "capacity_mw": 30.0, "inverter_capacity_mw": 25.0,
                    "tilt_deg": 34.0, "azimuth_deg": 180.0}],
            "wind": [{"name": "wind_farm", "capacity_mw": 14.0, "hub_height_m": 100.0,
                      "shear_exponent": 0.2}],
            "batteries": [{"name": "bess", "energy_mwh": 40.0, "charge_power_mw": 10.0,
                           "discharge_power_mw": 10.0, "charge_efficiency": 0.95,
                           "discharge_efficiency": 0.95, "soc_min_fraction": 0.1,
                           "soc_max_fraction": 0.95, "initial_soc_fraction": 0.5,
                           "self_discharge_per_h": 0.0001, "degradation_cost_per_mwh": 20.0}],
            "grid": {"import_max_mw": 20.0, "export_max_mw": 20.0,
                     "import_price_per_mwh": {"daily": tou},
                     "export_price_per_mwh": 150.0,
                     "demand_charge_per_mw_month": 28_000.0,
                     "emission_factor_kg_per_mwh": 95.0,
                     "clean_share_fraction": {"daily": green}},
            "datacenter": {"gpus": 10_000, "it_power_per_gpu_kw": 1.3,
                           "inflexible_utilization_fraction": {"daily": inference}},
        }],
        "jobs": jobs,
    }


def build_week_scenario() -> dict:
    """The park over one week of the same yearly files: a training run for the week and a
    fine-tuning batch a day, all inside the week (a job may not outlive the horizon)."""
    sc = build_scenario()
    sc.update(name="xining_week", start=WEEK_START, horizon_h=WEEK_H)
    jobs = [{"name": "train_week27", "gpu_hours": 288_000.0, "release_h": 0,
             "deadline_h": WEEK_H, "gpus": 3000}]
    for d in range(WEEK_H // 24):
        jobs.append({"name": f"finetune_day{d + 1}", "gpu_hours": 24_000.0,
                     "release_h": 24 * d + 8, "deadline_h": min(24 * d + 44, WEEK_H),
                     "gpus": 2500})
    sc["jobs"] = jobs
    return sc


def write_scenarios() -> None:
    for path, sc, header in (
        (SCENARIO, build_scenario(),
         "# The Xining 10,000-GPU park, 2023, hourly. Generated by examples/build_xining_example.py;\n"
         "# prices, green shares and jobs are illustrative (see that script's docstring).\n"),
        (WEEK, build_week_scenario(),
         "# The Xining 10,000-GPU park, the week from 2023-07-03 00:00 (Asia/Shanghai). Generated by\n"
         "# examples/build_xining_example.py. start and horizon_h take these 168 hours out of the\n"
         "# yearly weather file by its time column; the month's demand charge is pro-rated\n"
         "# (168 of July's 744 hours). Prices, green shares and jobs are illustrative.\n"),
    ):
        text = yaml.safe_dump(sc, sort_keys=False, default_flow_style=None, width=120)
        path.write_text(header + text)


def main() -> None:
    build_weather().to_csv(WEATHER, index=False)
    write_scenarios()
    print(f"wrote {WEATHER}, {SCENARIO} and {WEEK}")


if __name__ == "__main__":
    main()
