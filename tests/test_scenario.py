"""The scenario model: validation errors name the field and the value; files round-trip."""
from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import EXAMPLES, base_dict

import engine
from engine.scenario import Battery


def _err(d) -> str:
    with pytest.raises(engine.ScenarioError) as exc:
        engine.Scenario.from_dict(d)
    return str(exc.value)


def test_valid_small_scenario_builds(small_dict):
    sc = engine.Scenario.from_dict(small_dict)
    assert sc.horizon_h == 24
    assert len(sc.index) == 24 and str(sc.index.tz) == "Asia/Shanghai"
    # the daily TOU profile was tiled from local midnight
    price = sc.sites[0].grid.import_price_per_mwh
    assert price.shape == (24,) and price[7] == 60.0 and price[6] == 30.0


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["sites"][0]["batteries"][0].update(soc_min_fraction=1.3),
         "sites[0].batteries[0].soc_min_fraction: must be <= 1.0, got 1.3"),
        (lambda d: d["sites"][0]["pv"][0].update(capacity_mw=-2),
         "sites[0].pv[0].capacity_mw: must be >= 0.0, got -2"),
        (lambda d: d["sites"][0]["grid"].update(emission_factor_kg_per_mwh=[1.0] * 23),
         "sites[0].grid.emission_factor_kg_per_mwh: series length must equal horizon_h=24, got 23"),
        (lambda d: d["sites"][0]["grid"].update(emission_factor_kg_per_mwh=[1.0] * 5 + [float("nan")] + [1.0] * 18),
         "sites[0].grid.emission_factor_kg_per_mwh: must be finite, got nan at hour 5"),
        (lambda d: d["sites"][0]["grid"].update(emission_factor_kg_per_mwh=[1.0] * 3 + [-4.0] + [1.0] * 20),
         "sites[0].grid.emission_factor_kg_per_mwh: must be >= 0, got -4 at hour 3"),
        (lambda d: d["sites"][0]["grid"].update(import_max_mv=3),
         "sites[0].grid.import_max_mv: unknown field (misspelled?), got 3"),
        (lambda d: d["sites"][0]["grid"].pop("import_price_per_mwh"),
         "sites[0].grid.import_price_per_mwh: required field is missing"),
        (lambda d: d["sites"][0]["batteries"][0].update(soc_min_fraction=0.6, initial_soc_fraction=0.5),
         "sites[0].batteries[0].initial_soc_fraction: must be in [soc_min_fraction, soc_max_fraction]"),
        (lambda d: d["sites"][0]["grid"].update(outage_hours=[3, 30]),
         "sites[0].grid.outage_hours: hours must be < horizon_h=24, got 30"),
        (lambda d: d["jobs"][0].update(energy_mwh=100.0),
         "jobs[0]: job 'train' needs 100 MWh but can draw at most 2 MW x 18 h = 36 MWh"),
        (lambda d: d["sites"][0]["datacenter"].update(inflexible_utilization_fraction=0.9995),
         "jobs[0]: job 'train' needs 10 MWh but the IT capacity left by the inflexible load at "
         "site 's1' allows at most 0.036 MWh"),
        (lambda d: d["jobs"][0].update(deadline_h=2),
         "jobs[0].deadline_h: must be > release_h=2, got 2"),
        (lambda d: d["jobs"][0].update(sites=["nowhere"]),
         "jobs[0].sites: unknown site 'nowhere'"),
        (lambda d: d.update(horizon_h=0), "horizon_h: must be >= 1, got 0"),
        (lambda d: d.update(timezone="Mars/Olympus"), "start/timezone"),
        (lambda d: d["policy"].update(green_matching="weekly"), "policy.green_matching"),
        (lambda d: d["sites"][0]["pv"][0].pop("availability_fraction"),
         "sites[0].weather: site 's1' gives no ghi, dni, dhi, temp_air, wind_speed, which PV "
             "plant 'pv' needs"),
    ],
)
def test_bad_input_names_field_and_value(mutate, expected):
    d = copy.deepcopy(base_dict())
    if "weather" in expected:
        d["sites"][0].pop("weather")
    mutate(d)
    msg = _err(d)
    assert expected in msg, msg


def test_daily_profile_must_have_24_values():
    d = base_dict()
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"daily": [1.0] * 23}
    assert "sites[0].grid.import_price_per_mwh.daily: must have 24 values, got 23" in _err(d)


def test_direct_construction_raises_scenario_error():
    with pytest.raises(engine.ScenarioError, match=r"energy_mwh: must be >= 0.0, got -1"):
        Battery(name="b", energy_mwh=-1, charge_power_mw=1, discharge_power_mw=1)


def test_pandas_series_with_a_gap_is_rejected():
    d = base_dict(T=4)
    d["jobs"] = []
    idx = pd.DatetimeIndex(["2023-06-01 00:00", "2023-06-01 01:00", "2023-06-01 03:00",
                            "2023-06-01 04:00"], tz="Asia/Shanghai")
    d["sites"][0]["grid"]["import_price_per_mwh"] = pd.Series([1.0, 2, 3, 4], index=idx)
    assert ("sites[0].grid.import_price_per_mwh: the pandas Series has a gap: no value for "
            "2023-06-01 02:00+08:00 (first missing hour)") in _err(d)


def test_round_trip_yaml_and_json(small_dict, tmp_path):
    sc = engine.Scenario.from_dict(small_dict)
    again = engine.Scenario.from_dict(yaml.safe_load(sc.to_yaml()))
    assert again == sc
    sc.to_json(tmp_path / "s.json")
    assert engine.load_scenario(tmp_path / "s.json") == sc
    sc.to_yaml(tmp_path / "s.yaml")
    assert engine.load_scenario(tmp_path / "s.yaml") == sc
    # and the dict is plain data
    json.dumps(sc.to_dict())


def test_csv_series_resolved_relative_to_the_file(tmp_path):
    d = base_dict()
    pd.DataFrame({"price": np.arange(24.0)}).to_csv(tmp_path / "p.csv", index=False)
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"csv": "p.csv", "column": "price"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    sc = engine.load_scenario(tmp_path / "s.yaml")
    np.testing.assert_array_equal(sc.sites[0].grid.import_price_per_mwh, np.arange(24.0))
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"csv": "p.csv", "column": "cost"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    with pytest.raises(engine.ScenarioError, match=r"column: 'cost' is not a column"):
        engine.load_scenario(tmp_path / "s.yaml")


def test_missing_file_and_unparsable_file(tmp_path):
    with pytest.raises(engine.ScenarioError, match="does not exist"):
        engine.load_scenario(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(engine.ScenarioError, match="cannot parse"):
        engine.load_scenario(tmp_path / "bad.yaml")


def test_cross_site_job_is_placed():
    d = base_dict()
    second = copy.deepcopy(d["sites"][0])
    second["name"] = "s2"
    second["pv"][0]["name"] = "pv2"
    second["batteries"][0]["name"] = "bess2"
    d["sites"].append(second)
    d["jobs"][0]["sites"] = ["s1", "s2"]
    sc = engine.Scenario.from_dict({**d, "jobs": []})  # two independent sites are fine
    assert len(sc.sites) == 2
    # a job at two sites (no regions: no data to move) is placed by the placement
    res = engine.optimize(engine.Scenario.from_dict(d))
    assert res.status == engine.Status.OPTIMAL
    need = d["jobs"][0]["energy_mwh"]
    assert res.placement["it_energy_mwh"].sum() == pytest.approx(need, rel=1e-9)
    assert res.placement["share"].sum() == pytest.approx(1.0, abs=1e-9)


def test_two_independent_sites_solve():
    d = base_dict()
    second = copy.deepcopy(d["sites"][0])
    second["name"] = "s2"
    second["grid"]["import_price_per_mwh"] = 45.0
    second["pv"][0]["name"] = "pv2"
    second["batteries"][0]["name"] = "bess2"
    d["sites"].append(second)
    d["jobs"][0]["sites"] = ["s2"]
    sc = engine.Scenario.from_dict(d)
    res = engine.optimize(sc)
    from conftest import check_invariants

    check_invariants(sc, res)
    assert res.jobs.loc[0, "site"] == "s2"


def test_example_file_is_valid():
    sc = engine.load_scenario(EXAMPLES / "xining_park.yaml")
    assert sc.horizon_h == 8760
    assert sc.sites[0].datacenter.gpus == 10_000
    assert sc.policy.green_share_min_fraction == 0.8


def test_asset_names_unique_across_sites():
    d = base_dict()
    second = copy.deepcopy(d["sites"][0])
    second["name"] = "s2"
    d["sites"].append(second)
    assert "sites[1].pv[0].name: 'pv' is used at another site too" in _err(d)


def test_editing_a_validated_scenario_is_validated_too(small_dict):
    sc = engine.Scenario.from_dict(small_dict)
    with pytest.raises(engine.ScenarioError, match=r"energy_mwh: must be >= 0.0, got -5"):
        sc.sites[0].batteries[0].energy_mwh = -5
    with pytest.raises(engine.ScenarioError, match=r"initial_soc_fraction: must be in"):
        sc.sites[0].batteries[0].soc_min_fraction = 0.99
    # a rejected edit leaves the scenario as it was
    assert sc.sites[0].batteries[0].soc_min_fraction == 0.1
    assert sc.sites[0].batteries[0].energy_mwh == 8.0


def test_non_numeric_csv_column_and_non_preemptible_job(tmp_path):
    d = base_dict()
    pd.DataFrame({"timestamp": [f"h{i}" for i in range(24)], "ghi": np.zeros(24)}).to_csv(
        tmp_path / "w.csv", index=False)
    d["sites"][0]["weather"] = {"csv": "w.csv"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    with pytest.raises(engine.ScenarioError, match=r"column 'timestamp' .* is not numeric"):
        engine.load_scenario(tmp_path / "s.yaml")
    d = base_dict()
    d["jobs"][0]["preemptible"] = False  # 10 MWh at 2 MW: 5 contiguous hours in [2, 20)
    engine.Scenario.from_dict(d)
    d["jobs"][0]["energy_mwh"] = 37.0  # 19 hours at 2 MW do not fit the 18-hour window
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\].deadline_h: non-preemptible"):
        engine.Scenario.from_dict(d)


def test_hydro_floor_must_fit_its_budget():
    d = base_dict()
    d["sites"][0]["hydro"] = [{"name": "h", "min_power_mw": 1.0, "max_power_mw": 2.0,
                               "energy_budget_mwh": 12.0, "budget_period_h": 24}]
    assert "sites[0].hydro[0].min_power_mw: must fit the energy budget: it needs 24 MWh" in _err(d)


def test_daily_profile_follows_the_local_clock():
    """start given in UTC, scenario in Asia/Shanghai (UTC+8): hour 0 is 08:00 local."""
    d = base_dict()
    d["start"] = "2023-06-01T00:00Z"
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"daily": list(range(24))}
    sc = engine.Scenario.from_dict(d)
    assert sc.sites[0].grid.import_price_per_mwh[0] == 8.0
    assert sc.index[0].hour == 8
