"""Series with timestamps are aligned by timestamp, never by position; ``start`` and
``horizon_h`` take a window out of longer series; positional series stay strict."""
from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import EXAMPLES, base_dict

import engine
from engine.scenario.series import hourly_index

PRICE = "sites[0].grid.import_price_per_mwh"


def _err(d, base_dir=None) -> str:
    with pytest.raises(engine.ScenarioError) as exc:
        engine.Scenario.from_dict(d, base_dir=base_dir)
    return str(exc.value)


def _write_prices(tmp_path, times, values, name="prices.csv"):
    pd.DataFrame({"time": times, "price": values}).to_csv(tmp_path / name, index=False)
    return {"csv": name, "column": "price"}


def _year(T=8760, start="2023-01-01 00:00"):
    return pd.date_range(start, periods=T, freq="h").strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------ CSV with a time column
def test_csv_time_column_selects_the_scenario_hours(tmp_path):
    """A yearly price file; the scenario's 24 hours from 2023-06-01 are its rows 3624..3647."""
    d = base_dict()  # start 2023-06-01 00:00 Asia/Shanghai, 24 h
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(
        tmp_path, _year(), np.arange(8760.0))
    sc = engine.Scenario.from_dict(d, base_dir=tmp_path)
    first = (pd.Timestamp("2023-06-01") - pd.Timestamp("2023-01-01")) // pd.Timedelta(hours=1)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh,
                                  np.arange(first, first + 24, dtype=float))


def test_csv_rows_in_any_order_are_aligned_by_timestamp(tmp_path):
    d = base_dict()
    times = _year(48, "2023-06-01 00:00")
    order = np.random.default_rng(0).permutation(48)
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(
        tmp_path, times[order], np.arange(48.0)[order])
    sc = engine.Scenario.from_dict(d, base_dir=tmp_path)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, np.arange(24.0))


def test_july_series_in_a_january_scenario_fails(tmp_path):
    d = base_dict()
    d["start"] = "2023-01-10 00:00"
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(
        tmp_path, _year(744, "2023-07-01 00:00"), np.ones(744))
    assert (f"{PRICE}: prices.csv covers 2023-07-01 00:00+08:00 .. 2023-07-31 23:00+08:00, "
            f"the scenario needs 2023-01-10 00:00+08:00 (first missing hour)") in _err(d, tmp_path)


def test_series_ending_inside_the_horizon_names_the_first_missing_hour(tmp_path):
    d = base_dict()
    d["start"] = "2023-12-31 12:00"
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, _year(), np.ones(8760))
    assert (f"{PRICE}: prices.csv covers 2023-01-01 00:00+08:00 .. 2023-12-31 23:00+08:00, "
            f"the scenario needs 2024-01-01 00:00+08:00 (first missing hour)") in _err(d, tmp_path)


def test_gap_duplicate_and_non_hourly_step_fail(tmp_path):
    d = base_dict()
    times = list(_year(48, "2023-06-01 00:00"))
    gap = times[:5] + times[6:]
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, gap, np.ones(47))
    assert (f"{PRICE}: prices.csv has a gap: no value for 2023-06-01 05:00+08:00 (first "
            f"missing hour)") in _err(d, tmp_path)
    dup = times[:7] + [times[6]] + times[7:]
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, dup, np.ones(49))
    assert (f"{PRICE}: prices.csv has the timestamp 2023-06-01 06:00+08:00 twice (first "
            f"duplicate)") in _err(d, tmp_path)
    half = pd.date_range("2023-06-01", periods=96, freq="30min").strftime("%Y-%m-%d %H:%M")
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, half, np.ones(96))
    assert (f"{PRICE}: prices.csv is not hourly: 2023-06-01 00:30+08:00 is not on the "
            f"scenario's hours") in _err(d, tmp_path)
    # a gap outside the horizon does not matter
    far = times[:30] + times[31:]
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, far, np.ones(47))
    engine.Scenario.from_dict(d, base_dir=tmp_path)


def test_empty_cell_inside_the_horizon_fails(tmp_path):
    d = base_dict()
    values = np.ones(48)
    values[3] = np.nan
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(
        tmp_path, _year(48, "2023-06-01 00:00"), values)
    assert (f"{PRICE}: prices.csv has no value (empty or NaN) for 2023-06-01 03:00+08:00"
            in _err(d, tmp_path))


def test_bounds_are_checked_on_the_selected_hours(tmp_path):
    d = base_dict()
    values = -np.ones(48)
    values[:24] = 100.0  # negative values only outside the horizon: fine
    d["sites"][0]["grid"]["emission_factor_kg_per_mwh"] = _write_prices(
        tmp_path, _year(48, "2023-06-01 00:00"), values)
    engine.Scenario.from_dict(d, base_dir=tmp_path)
    values[5] = -3.0
    d["sites"][0]["grid"]["emission_factor_kg_per_mwh"] = _write_prices(
        tmp_path, _year(48, "2023-06-01 00:00"), values)
    assert ("sites[0].grid.emission_factor_kg_per_mwh: must be >= 0, got -3 at hour 5"
            in _err(d, tmp_path))


def test_csv_with_utc_offsets_is_converted(tmp_path):
    """Times written in UTC select the same hours as local times."""
    d = base_dict()
    utc = pd.date_range("2023-05-31 16:00", periods=24, freq="h", tz="UTC")
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(
        tmp_path, utc.strftime("%Y-%m-%dT%H:%M%z"), np.arange(24.0))
    sc = engine.Scenario.from_dict(d, base_dir=tmp_path)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, np.arange(24.0))


# ------------------------------------------------------------------ pandas objects in Python
def test_pandas_series_with_datetime_index_is_aligned():
    d = base_dict()
    idx = pd.date_range("2023-05-31 00:00", periods=72, freq="h")  # naive: Shanghai time
    d["sites"][0]["grid"]["import_price_per_mwh"] = pd.Series(np.arange(72.0), index=idx)
    sc = engine.Scenario.from_dict(d)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, np.arange(24.0, 48.0))


def test_tz_aware_pandas_series_in_another_zone_is_converted():
    """Europe/Berlin (UTC+2 in June) times: 2023-05-31 18:00 Berlin is 2023-06-01 00:00 in
    Shanghai, the scenario's first hour."""
    d = base_dict()
    idx = pd.date_range("2023-05-31 00:00", periods=72, freq="h", tz="Europe/Berlin")
    d["sites"][0]["grid"]["import_price_per_mwh"] = pd.Series(np.arange(72.0), index=idx)
    sc = engine.Scenario.from_dict(d)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, np.arange(18.0, 42.0))


def test_pandas_series_errors_name_the_first_bad_hour():
    d = base_dict(T=4)
    d["jobs"] = []
    idx = pd.DatetimeIndex(["2023-06-01 00:00", "2023-06-01 01:00", "2023-06-01 03:00",
                            "2023-06-01 04:00"], tz="Asia/Shanghai")
    d["sites"][0]["grid"]["import_price_per_mwh"] = pd.Series([1.0, 2, 3, 4], index=idx)
    assert (f"{PRICE}: the pandas Series has a gap: no value for 2023-06-01 02:00+08:00 "
            f"(first missing hour)") in _err(d)
    july = pd.date_range("2023-07-01", periods=100, freq="h", tz="Asia/Shanghai")
    d["sites"][0]["grid"]["import_price_per_mwh"] = pd.Series(1.0, index=july)
    assert re.search(r"the pandas Series covers 2023-07-01 00:00\+08:00 .. 2023-07-05 "
                     r"03:00\+08:00, the scenario needs 2023-06-01 00:00\+08:00", _err(d))


def test_weather_dataframe_and_prebuilt_models_are_aligned():
    """A weather DataFrame on a DatetimeIndex; a Grid built on its own with a timestamped
    series, put into the scenario afterwards; and an assignment after validation."""
    from engine.scenario import DataCenter, Grid

    d = base_dict()
    idx = pd.date_range("2023-05-01", periods=24 * 61, freq="h", tz="Asia/Shanghai")
    temp = pd.Series(np.arange(len(idx), dtype=float) / 100, index=idx)
    d["sites"][0]["weather"] = pd.DataFrame({"temp_air": temp})
    grid = Grid(import_max_mw=10.0, import_price_per_mwh=pd.Series(np.arange(len(idx), 0.0, -1.0), index=idx))
    d["sites"][0]["grid"] = grid
    sc = engine.Scenario.from_dict(d)
    first = 31 * 24  # 2023-06-01 is hour 744 of the series
    np.testing.assert_allclose(sc.sites[0].weather.temp_air, np.arange(first, first + 24) / 100)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh,
                                  len(idx) - np.arange(first, first + 24, dtype=float))
    # a model check that needs the values runs once they are aligned
    dc = DataCenter(gpus=1000, it_power_per_gpu_kw=1.0,
                    inflexible_it_mw=pd.Series(np.r_[np.zeros(first), np.full(24, 5.0)], index=idx[:first + 24]))
    d = base_dict()
    d["jobs"] = []
    d["sites"][0]["datacenter"] = dc
    assert "sites[0].datacenter.inflexible_it_mw: must not exceed the IT capacity" in _err(d)
    # assigned after validation: aligned when the scenario is prepared or written
    sc.sites[0].grid.export_price_per_mwh = pd.Series(3.0, index=idx)
    assert sc.to_dict()["sites"][0]["grid"]["export_price_per_mwh"] == [3.0] * 24


def test_round_trip_writes_the_selected_hours(tmp_path):
    d = base_dict()
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, _year(), np.arange(8760.0))
    sc = engine.Scenario.from_dict(d, base_dir=tmp_path)
    again = engine.Scenario.from_dict(yaml.safe_load(sc.to_yaml()))
    assert again == sc


# ------------------------------------------------------------------ positional series
def test_positional_series_must_have_horizon_length(tmp_path):
    d = base_dict()
    pd.DataFrame({"price": np.ones(8760)}).to_csv(tmp_path / "p.csv", index=False)
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"csv": "p.csv", "column": "price"}
    msg = _err(d, tmp_path)
    assert f"{PRICE}: series length must equal horizon_h=24, got 8760" in msg
    assert "time column" in msg
    d["sites"][0]["grid"]["import_price_per_mwh"] = pd.Series(np.ones(25))
    assert f"{PRICE}: series length must equal horizon_h=24, got 25" in _err(d)


# ------------------------------------------------------------------ start and the clock
def test_start_that_does_not_exist_or_is_ambiguous_is_a_clear_error():
    d = base_dict()
    d.update(timezone="Europe/Berlin", start="2023-03-26 02:30")
    assert "start: '2023-03-26 02:30' is not a time on the clock of Europe/Berlin" in _err(d)
    d.update(start="2023-10-29 02:30")
    assert "start: '2023-10-29 02:30' happens twice on the clock of Europe/Berlin" in _err(d)
    d.update(start="2023-10-29 02:30+01:00")
    assert engine.Scenario.from_dict(d).index[0] == pd.Timestamp("2023-10-29 01:30", tz="UTC")


def test_hours_and_profiles_across_dst():
    """Berlin, 48 h from 2023-03-25 12:00: 47 local hours of wall clock; the daily profile
    follows the local hour (02:00 does not exist on the 26th)."""
    index = hourly_index("2023-03-25 12:00", "Europe/Berlin", 48)
    assert list(index.hour[10:16]) == [22, 23, 0, 1, 3, 4]
    d = base_dict(T=48)
    d.update(timezone="Europe/Berlin", start="2023-03-25 12:00")
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"daily": list(range(24))}
    sc = engine.Scenario.from_dict(d)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, index.hour.to_numpy())


def test_naive_times_in_a_dst_zone(tmp_path):
    """Naive local times of Berlin: the repeated 02:00 of October is read in order; a 02:00
    on the day of March's change does not exist."""
    d = base_dict(T=6)
    d["jobs"] = []
    d.update(timezone="Europe/Berlin", start="2023-10-29 00:00")
    local = ["2023-10-29 00:00", "2023-10-29 01:00", "2023-10-29 02:00", "2023-10-29 02:00",
             "2023-10-29 03:00", "2023-10-29 04:00"]
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, local, np.arange(6.0))
    sc = engine.Scenario.from_dict(d, base_dir=tmp_path)
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, np.arange(6.0))
    d.update(start="2023-03-26 00:00")
    spring = ["2023-03-26 00:00", "2023-03-26 01:00", "2023-03-26 02:00", "2023-03-26 03:00"]
    d["sites"][0]["grid"]["import_price_per_mwh"] = _write_prices(tmp_path, spring, np.ones(4))
    assert "has the local time 2023-03-26 02:00:00, which on the clock of Europe/Berlin does " \
           "not exist" in _err(d, tmp_path)


# ------------------------------------------------------------------ the week example
def test_week_example_is_a_window_of_the_yearly_files():
    week = engine.load_scenario(EXAMPLES / "xining_week.yaml")
    year = engine.load_scenario(EXAMPLES / "xining_park.yaml")
    first = (pd.Timestamp("2023-07-03") - pd.Timestamp("2023-01-01")) // pd.Timedelta(hours=1)
    assert week.index[0] == year.index[first] and len(week.index) == 168
    for col in ("ghi", "dni", "dhi", "temp_air", "wind_speed"):
        np.testing.assert_array_equal(getattr(week.sites[0].weather, col),
                                      getattr(year.sites[0].weather, col)[first:first + 168])
    np.testing.assert_array_equal(week.sites[0].grid.import_price_per_mwh,
                                  year.sites[0].grid.import_price_per_mwh[first:first + 168])
    assert all(0 <= j.release_h < j.deadline_h <= 168 for j in week.jobs)


def test_window_from_a_yearly_csv_keeps_other_fields(tmp_path):
    """Taking a week out of the yearly weather file changes nothing else of the scenario."""
    d = copy.deepcopy(base_dict(T=168))
    d["start"] = "2023-07-03 00:00"
    d["sites"][0]["weather"] = {"csv": str(EXAMPLES / "data" / "xining_weather_2023.csv"),
                                "wind_height_m": 2.0}
    sc = engine.Scenario.from_dict(d, base_dir=tmp_path)
    frame = pd.read_csv(EXAMPLES / "data" / "xining_weather_2023.csv")
    rows = frame[frame["time"].between("2023-07-03 00:00", "2023-07-09 23:00")]
    np.testing.assert_array_equal(sc.sites[0].weather.ghi, rows["ghi"].to_numpy())
    assert sc.sites[0].weather.wind_height_m == 2.0
