"""The annual Xining example: both backends, invariants, the park's reported figures."""
from __future__ import annotations

import pytest
from conftest import EXAMPLES, check_invariants

import engine


@pytest.fixture(scope="module")
def xining():
    return engine.load_scenario(EXAMPLES / "xining_park.yaml")


@pytest.fixture(scope="module")
def solved(xining):
    return engine.optimize(xining)


@pytest.mark.slow
def test_annual_example_invariants_and_kpis(xining, solved):
    check_invariants(xining, solved)
    k = solved.kpis
    # the parks near Xining report an annual PUE at or below 1.2 thanks to free cooling
    assert 1.15 <= k["pue"] <= 1.2
    assert k["green_share"] >= 0.8 - 1e-9
    assert k["job_completion"] == pytest.approx(1.0)
    assert k["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert 0.0 <= k["cfe_score"] <= 1.0


@pytest.mark.slow
def test_annual_example_same_optimum_with_pyomo(xining, solved):
    res = engine.optimize(xining, backend="pyomo")
    assert res.status == engine.Status.OPTIMAL
    assert res.objective == pytest.approx(solved.objective, rel=1e-6)
