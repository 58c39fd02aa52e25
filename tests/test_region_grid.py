"""Regions state grid prices and emission factors (average and marginal) for the grids of
their sites; a grid that states a value too must state the same one.

Each optimum is derived by hand in its test's comment and solved on both backends.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import engine
from engine.errors import ScenarioError

BACKENDS = ["highs", "pyomo"]
ATOL = 1e-6


def _base(job_sites=("e",), carbon=0.0, basis="average") -> dict:
    site = lambda name, lat: {
        "name": name, "latitude_deg": lat, "longitude_deg": 110.0,
        "grid": {"import_max_mw": 10.0},
        "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0}}
    return {
        "name": "regional_grid", "start": "2023-01-01 00:00", "horizon_h": 4,
        "sites": [site("e", 30.0), site("w", 36.0)],
        "regions": [
            {"name": "east", "sites": ["e"], "import_price_per_mwh": [100.0, 300.0, 100.0, 300.0],
             "emission_factor_kg_per_mwh": 600.0, "marginal_emission_factor_kg_per_mwh": 900.0},
            {"name": "west", "sites": ["w"], "import_price_per_mwh": 150.0,
             "emission_factor_kg_per_mwh": 100.0, "marginal_emission_factor_kg_per_mwh": 50.0,
             "clean_share_fraction": 0.8}],
        "jobs": [{"name": "j", "energy_mwh": 2.0, "deadline_h": 4, "max_power_mw": 1.0,
                  "sites": list(job_sites)}],
        "policy": {"carbon_price_per_t": carbon, "carbon_basis": basis},
    }


def _solve(d: dict, backend: str) -> engine.Result:
    res = engine.optimize(engine.Scenario.from_dict(d), backend=backend)
    assert res.status == engine.Status.OPTIMAL
    h = res.hourly
    for s in d["sites"]:  # the balance of every site closes
        n = s["name"]
        np.testing.assert_allclose(h[f"grid.{n}/import_mw"] + h[f"bus.{n}/unserved_mw"],
                                   h[f"datacenter.{n}/facility_mw"], atol=ATOL)
    return res


@pytest.mark.parametrize("backend", BACKENDS)
def test_site_grid_takes_its_regions_prices_and_factors(backend):
    # The job (2 MWh, <= 1 MW, PUE 1) runs at e, whose grid states neither price nor factor:
    # east's prices [100, 300, 100, 300] -> hours 0 and 2, 200. Carbon 10/t on the marginal
    # basis: 2 MWh x 900 kg/MWh = 1.8 t -> 18. Objective 218; emissions on east's average
    # factor 2 x 600 / 1000 = 1.2 t, marginal 1.8 t.
    res = _solve(_base(carbon=10.0, basis="marginal"), backend)
    assert res.objective == pytest.approx(218.0, abs=ATOL)
    np.testing.assert_allclose(res.hourly["grid.e/import_mw"], [1.0, 0.0, 1.0, 0.0], atol=ATOL)
    np.testing.assert_allclose(res.hourly["grid.e/import_price_per_mwh"],
                               [100.0, 300.0, 100.0, 300.0])
    np.testing.assert_allclose(res.hourly["grid.w/import_price_per_mwh"], 150.0)
    assert res.kpis["emissions_t"] == pytest.approx(1.2, abs=ATOL)
    assert res.kpis["emissions_marginal_t"] == pytest.approx(1.8, abs=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("carbon, site, objective", [
    # no carbon price: east's two hours at 100 (200) beat the west's 2 x 150 = 300
    (0.0, "e", 200.0),
    # 200/t on average factors: east 100 + 0.6 x 200 = 220/MWh, west 150 + 0.1 x 200 =
    # 170/MWh -> the west, 2 x 170 = 340
    (200.0, "w", 340.0),
])
def test_region_factors_decide_the_placement(backend, carbon, site, objective):
    res = _solve(_base(job_sites=("e", "w"), carbon=carbon), backend)
    assert res.objective == pytest.approx(objective, abs=ATOL)
    share = res.placement.set_index("site")["share"]
    assert share[site] == pytest.approx(1.0, abs=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stating_on_the_grid_or_the_region_is_the_same(backend):
    # the same values on the site grids and no region values: identical optimum and columns
    d = _base(job_sites=("e", "w"), carbon=200.0)
    stated = copy.deepcopy(d)
    for site, region in zip(stated["sites"], stated["regions"]):
        for key in ("import_price_per_mwh", "emission_factor_kg_per_mwh",
                    "marginal_emission_factor_kg_per_mwh", "clean_share_fraction"):
            if key in region:
                site["grid"][key] = region.pop(key)
    a, b = _solve(d, backend), _solve(stated, backend)
    assert a.objective == pytest.approx(b.objective, abs=ATOL)
    for col in ("grid.e/import_price_per_mwh", "grid.w/import_price_per_mwh", "site.w/cfe"):
        np.testing.assert_allclose(a.hourly[col], b.hourly[col], atol=ATOL)
    assert a.kpis["emissions_t"] == pytest.approx(b.kpis["emissions_t"], abs=ATOL)
    # stated at both, equal: allowed, same answer
    both = copy.deepcopy(stated)
    both["regions"] = d["regions"]
    assert _solve(both, backend).objective == pytest.approx(a.objective, abs=ATOL)


def test_round_trip_keeps_the_inherited_values():
    sc = engine.Scenario.from_dict(_base())
    d = sc.to_dict()
    # written once, on the region (a sweep of the region's value moves the grid's with it)
    assert "import_price_per_mwh" not in d["sites"][0]["grid"]
    back = engine.Scenario.from_dict(d)
    assert back == sc
    np.testing.assert_allclose(back.sites[0].grid.import_price_per_mwh,
                               [100.0, 300.0, 100.0, 300.0])


def test_a_sweep_of_a_region_price_reaches_its_sites():
    from engine.batch import Sweep

    items = Sweep(_base(), grid={"regions[1].import_price_per_mwh": [150.0, 90.0]}).expand()
    got = [float(np.asarray(i.scenario.sites[1].grid.import_price_per_mwh)) for i in items]
    assert got == [150.0, 90.0]


def test_a_grid_value_set_after_validation_is_stated():
    sc = engine.Scenario.from_dict(_base())
    sc.sites[1].grid.emission_factor_kg_per_mwh = 100.0  # equal to the region's: allowed
    assert sc.to_dict()["sites"][1]["grid"]["emission_factor_kg_per_mwh"] == 100.0
    engine.Scenario.from_dict(sc.to_dict())
    sc.sites[1].grid.emission_factor_kg_per_mwh = 90.0
    with pytest.raises(ScenarioError, match=r"sites\[1\]\.grid\.emission_factor_kg_per_mwh"):
        engine.Scenario.from_dict(sc.to_dict())


def test_a_changed_region_is_inherited_again():
    # the inherited value is not "stated": validating again takes the region as it is now
    d = _base()
    sc = engine.Scenario.from_dict(d)
    assert float(sc.sites[0].grid.emission_factor_kg_per_mwh) == 600.0
    assert "emission_factor_kg_per_mwh" not in sc.sites[0].grid.model_fields_set
    sc.regions[0].emission_factor_kg_per_mwh = 650.0
    again = engine.Scenario.model_validate(sc)
    assert float(again.sites[0].grid.emission_factor_kg_per_mwh) == 650.0


def test_a_site_outside_any_region_is_unchanged():
    d = _base()
    d["regions"] = [d["regions"][0]]
    with pytest.raises(ScenarioError, match=r"sites\[1\]\.grid\.import_price_per_mwh: required field is missing"):
        engine.Scenario.from_dict(d)
    d["sites"][1]["grid"]["import_price_per_mwh"] = 80.0
    sc = engine.Scenario.from_dict(d)
    assert sc.sites[1].grid.import_price_per_mwh == 80.0
    assert sc.sites[1].grid.emission_factor_kg_per_mwh == 0.0


@pytest.mark.parametrize("field, grid_value", [
    ("import_price_per_mwh", 120.0),
    ("emission_factor_kg_per_mwh", 500.0),
    ("marginal_emission_factor_kg_per_mwh", [900.0, 900.0, 900.0, 901.0]),
])
def test_grid_and_region_stating_different_values_is_an_error(field, grid_value):
    d = _base()
    d["sites"][0]["grid"][field] = grid_value
    with pytest.raises(ScenarioError) as err:
        engine.Scenario.from_dict(d)
    msg = str(err.value)
    assert f"sites[0].grid.{field}" in msg and f"regions[0].{field}" in msg


@pytest.mark.parametrize("field, value, match", [
    ("import_price_per_mwh", [1.0, 2.0], r"regions\[0\]\.import_price_per_mwh"),
    ("emission_factor_kg_per_mwh", -1.0, r"regions\[0\]\.emission_factor_kg_per_mwh"),
    ("clean_share_fraction", 1.5, r"regions\[0\]\.clean_share_fraction"),
    ("marginal_emission_factor_kg_per_mwh", "high",
     r"regions\[0\]\.marginal_emission_factor_kg_per_mwh"),
])
def test_bad_region_grid_values(field, value, match):
    d = _base()
    d["regions"][0][field] = value
    with pytest.raises(ScenarioError, match=match):
        engine.Scenario.from_dict(d)


def test_marginal_basis_needs_a_marginal_factor_somewhere():
    d = _base(carbon=10.0, basis="marginal")
    del d["regions"][0]["marginal_emission_factor_kg_per_mwh"]
    with pytest.raises(ScenarioError,
                       match=r"sites\[0\]\.grid\.marginal_emission_factor_kg_per_mwh"):
        engine.Scenario.from_dict(d)


def test_region_grid_values_with_no_grid_to_take_them_are_an_error():
    # east's only site has no grid: its prices and factors would go nowhere
    d = _base()
    del d["sites"][0]["grid"]
    d["sites"][0]["pv"] = [{"name": "pv", "capacity_mw": 5.0, "availability_fraction": 0.5}]
    with pytest.raises(ScenarioError, match=r"regions\[0\]\.import_price_per_mwh: stated, but "
                       r"region 'east' has no site with a grid"):
        engine.Scenario.from_dict(d)
