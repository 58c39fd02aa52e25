"""Every bad input is one ScenarioError whose lines read ``<path>: <message>, got <value>``."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from conftest import base_dict

import engine
from engine.scenario import Battery, Job

_LINE = re.compile(r"^[A-Za-z_][\w/]*(?:\[\d+\]|\.[A-Za-z_][\w/]*)*: \S")


def _err(d) -> str:
    with pytest.raises(engine.ScenarioError) as exc:
        engine.Scenario.from_dict(d)
    msg = str(exc.value)
    for path, text in exc.value.items:
        assert _LINE.match(f"{path}: {text}"), msg
    return msg


def _mut(fn):
    d = copy.deepcopy(base_dict())
    fn(d)
    return d


# --------------------------------------------------- the time axis is checked before profiles
@pytest.mark.parametrize("value, expected", [
    ("abc", "horizon_h: must be an integer, got 'abc'"),
    (0, "horizon_h: must be >= 1, got 0"),
    (-5, "horizon_h: must be >= 1, got -5"),
    (None, "horizon_h: must be an integer, got None"),
    (10**6, "horizon_h: must be <= 87840, got 1000000"),
])
def test_bad_horizon_is_blamed_on_horizon_not_on_a_daily_profile(value, expected):
    msg = _err(_mut(lambda d: d.update(horizon_h=value)))
    assert msg == expected
    assert "daily" not in msg and "import_price" not in msg


def test_missing_horizon_is_named():
    assert _err(_mut(lambda d: d.pop("horizon_h"))) == "horizon_h: required field is missing"


def test_bad_start_type_is_named_before_profiles():
    assert _err(_mut(lambda d: d.update(start=5))) == "start: must be a string, got 5"


# ----------------------------------------------------------- integer fields are strict ints
@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(horizon_h=True), "horizon_h: must be an integer, got True"),
    (lambda d: d.update(horizon_h=336.0), "horizon_h: must be an integer, got 336.0"),
    (lambda d: d.update(horizon_h="24"), "horizon_h: must be an integer, got '24'"),
    (lambda d: d["jobs"][0].update(release_h=2.0), "jobs[0].release_h: must be an integer, got 2.0"),
    (lambda d: d["jobs"][0].update(deadline_h=True), "jobs[0].deadline_h: must be an integer, got True"),
    (lambda d: d["jobs"][0].update(gpus=8.0, max_power_mw=None),
     "jobs[0].gpus: must be an integer, got 8.0"),
    (lambda d: d["sites"][0]["datacenter"].update(gpus=4000.0),
     "sites[0].datacenter.gpus: must be an integer, got 4000.0"),
    (lambda d: d["sites"][0]["grid"].update(outage_hours=[3, 4.0]),
     "sites[0].grid.outage_hours[1]: must be an integer, got 4.0"),
    (lambda d: d["sites"][0]["grid"].update(outage_hours=[False]),
     "sites[0].grid.outage_hours[0]: must be an integer, got False"),
    (lambda d: d["sites"][0].update(hydro=[{"name": "h", "max_power_mw": 1.0,
                                            "budget_period_h": 24.0}]),
     "sites[0].hydro[0].budget_period_h: must be an integer, got 24.0"),
])
def test_integer_fields_take_ints_only(mutate, expected):
    assert _err(_mut(mutate)) == expected


def test_numpy_integers_are_integers():
    job = Job(name="j", energy_mwh=1.0, release_h=np.int64(2), deadline_h=np.int32(5))
    assert job.release_h == 2 and type(job.release_h) is int


# ------------------------------------------------------ float fields refuse bools and strings
@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["sites"][0]["pv"][0].update(capacity_mw=True),
     "sites[0].pv[0].capacity_mw: must be a number, got True"),
    (lambda d: d["sites"][0]["pv"][0].update(capacity_mw="5"),
     "sites[0].pv[0].capacity_mw: must be a number, got '5'"),
    (lambda d: d["sites"][0].update(latitude_deg=False),
     "sites[0].latitude_deg: must be a number, got False"),
    (lambda d: d["policy"].update(carbon_price_per_t=True),
     "policy.carbon_price_per_t: must be a number, got True"),
    (lambda d: d["sites"][0]["batteries"][0].update(self_discharge_per_h=True),
     "sites[0].batteries[0].self_discharge_per_h: must be a number, got True"),
    (lambda d: d["jobs"][0].update(preemptible=1),
     "jobs[0].preemptible: must be true or false, got 1"),
    (lambda d: d["jobs"][0].update(preemptible="yes"),
     "jobs[0].preemptible: must be true or false, got 'yes'"),
])
def test_booleans_and_strings_are_not_numbers(mutate, expected):
    assert _err(_mut(mutate)) == expected


def test_ints_and_numpy_floats_are_numbers():
    b = Battery(name="b", energy_mwh=4, charge_power_mw=np.float32(1.5), discharge_power_mw=1)
    assert b.energy_mwh == 4.0 and b.charge_power_mw == 1.5


# ------------------------------------------------------------------ NaN and inf everywhere
@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["sites"][0].update(latitude_deg=float("nan")),
     "sites[0].latitude_deg: must be finite, got nan"),
    (lambda d: d["sites"][0].update(altitude_m=float("inf")),
     "sites[0].altitude_m: must be finite, got inf"),
    (lambda d: d["sites"][0]["pv"][0].update(tilt_deg=float("-inf")),
     "sites[0].pv[0].tilt_deg: must be finite, got -inf"),
    (lambda d: d["sites"][0]["datacenter"]["cooling"].update(pue_max=float("nan")),
     "sites[0].datacenter.cooling.pue_max: must be finite, got nan"),
    (lambda d: d["sites"][0]["grid"].update(clean_share_fraction=[0.2] * 23 + [float("inf")]),
     "sites[0].grid.clean_share_fraction: must be finite, got inf at hour 23"),
])
def test_nan_and_inf_are_refused_with_the_path(mutate, expected):
    assert _err(_mut(mutate)) == expected


# ------------------------------------------------------------------------------ series
@pytest.mark.parametrize("value, expected", [
    ("5", "must be a number or a series of numbers, got '5'"),
    ([], "must not be empty; give a number or horizon_h values"),
    (["5"] * 24, "must be a number or a series of numbers, got '5' at hour 0"),
    ([1.0] * 5 + [True] + [1.0] * 18, "must be a number or a series of numbers, got True at hour 5"),
    ([1.0] * 3 + [None] + [1.0] * 20, "must be a number or a series of numbers, got None at hour 3"),
    (np.array([True] * 24), "must be a number or a series of numbers, got an array of bool"),
    (True, "must be a number or a series of numbers, got True"),
    (None, "must be a number or a series of numbers, got None"),
])
def test_series_say_what_they_take(value, expected):
    msg = _err(_mut(lambda d: d["sites"][0]["grid"].update(emission_factor_kg_per_mwh=value)))
    assert msg == f"sites[0].grid.emission_factor_kg_per_mwh: {expected}"


def test_empty_series_never_leaks_numpy():
    d = _mut(lambda d: d["sites"][0]["datacenter"].update(
        inflexible_utilization_fraction=None, inflexible_it_mw=[]))
    assert _err(d) == ("sites[0].datacenter.inflexible_it_mw: must not be empty; give a number "
                       "or horizon_h values")


# -------------------------------------------------------- every line reads <path>: <message>
@pytest.mark.parametrize("mutate, expected", [
    # a mapping where a series is: the message has a "; " inside and stays whole
    (lambda d: d["sites"][0]["grid"].update(emission_factor_kg_per_mwh={"a": 1}),
     ("sites[0].grid.emission_factor_kg_per_mwh: must be a number or a series; a mapping ['a'] "
      "is only understood in files")),
    (lambda d: d.update(sites={"s1": {}}), "sites: must be a list, got {'s1': {}}"),
    (lambda d: d["sites"][0].update(pv={"name": "x"}),
     "sites[0].pv: must be a list, got {'name': 'x'}"),
    (lambda d: d["sites"][0].update(grid=[1, 2]),
     "sites[0].grid: must be a mapping of fields, got [1, 2]"),
    (lambda d: d["sites"][0]["datacenter"]["cooling"].update(foo=1),
     "sites[0].datacenter.cooling.foo: unknown field (misspelled?), got 1"),
    (lambda d: d["sites"][0]["batteries"][0].update(soc_min_fraction=0.9, soc_max_fraction=0.8),
     "sites[0].batteries[0].soc_min_fraction: must be <= soc_max_fraction=0.8, got 0.9"),
    (lambda d: d["sites"][0]["datacenter"]["cooling"].update(pue_max=1.05),
     "sites[0].datacenter.cooling.pue_max: must be >= pue_free_cooling=1.12, got 1.05"),
    (lambda d: d["sites"][0].update(wind=[{"name": "w", "capacity_mw": 1,
                                           "availability_fraction": 0.5,
                                           "curve_wind_speed_m_s": [3, 2],
                                           "curve_power_fraction": [0, 1]}]),
     "sites[0].wind[0].curve_wind_speed_m_s: must increase strictly, got [3.0, 2.0]"),
    (lambda d: d["jobs"][0].update(deadline_h=30),
     "jobs[0].deadline_h: must be <= horizon_h=24, got 30"),
    (lambda d: d["policy"].update(green_matching=1),
     "policy.green_matching: must be 'annual' or 'hourly', got 1"),
])
def test_every_line_starts_with_its_path(mutate, expected):
    msg = _err(_mut(mutate))
    assert msg.startswith(expected), msg
    assert msg.count(":") >= 1 and "Value error" not in msg and "Input should" not in msg


def test_nested_errors_keep_their_lines():
    d = _mut(lambda d: (d["sites"][0]["pv"][0].update(capacity_mw=-1, tilt_deg=100),
                        d["sites"][0]["grid"].update(import_max_mw="x")))
    with pytest.raises(engine.ScenarioError) as exc:
        engine.Scenario.from_dict(d)
    assert exc.value.items == [
        ("sites[0].pv[0].capacity_mw", "must be >= 0.0, got -1"),
        ("sites[0].pv[0].tilt_deg", "must be <= 90.0, got 100"),
        ("sites[0].grid.import_max_mw", "must be a number, got 'x'"),
    ]


# ----------------------------------------------------- duplicates and lengths name the path
@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["sites"].append(copy.deepcopy(d["sites"][0])),
     "sites: names must be unique, got duplicates ['s1']"),
    (lambda d: d["jobs"].append(dict(d["jobs"][0])),
     "jobs: names must be unique, got duplicates ['train']"),
    (lambda d: d["sites"][0]["pv"].append(dict(d["sites"][0]["pv"][0])),
     "sites[0].pv: names must be unique, got duplicates ['pv']"),
    (lambda d: d["sites"][0]["pv"][0].update(availability_fraction=[0.5] * 25),
     "sites[0].pv[0].availability_fraction: series length must equal horizon_h=24, got 25"),
    (lambda d: d["sites"][0].update(hydro=[{"name": "h", "min_power_mw": [0.1] * 5,
                                            "max_power_mw": [3.0] * 24}]),
     "sites[0].hydro[0].min_power_mw: must have the length of max_power_mw, got 5 and 24"),
])
def test_duplicates_and_lengths(mutate, expected):
    # the message starts with the path and the rule; it may go on with a hint
    assert _err(_mut(mutate)).startswith(expected)


def test_sites_of_a_wrong_type_is_a_scenario_error():
    assert _err(_mut(lambda d: d.update(sites=float("nan")))) == "sites: must be a list, got nan"
