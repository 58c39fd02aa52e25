"""The PV-storage-charging example: it solves, its invariants hold, its DR event settles."""
from __future__ import annotations

import pytest
from conftest import EXAMPLES, check_invariants

import engine

PATH = EXAMPLES / "pv_storage_charging.yaml"


@pytest.fixture(scope="module")
def solved():
    sc = engine.load_scenario(PATH)
    return sc, engine.optimize(sc, backend="highs")


def test_example_solves_and_closes(solved):
    sc, res = solved
    check_invariants(sc, res)
    ev = res.tables["ev_sessions"]
    assert len(ev) == len(sc.sites[0].ev_charging.sessions)
    # every session's energy is delivered or priced as unmet, never more than asked
    assert ((ev["delivered_mwh"] + ev["unmet_mwh"] - ev["energy_mwh"]).abs() < 1e-6).all()
    t = res.tables["dr_events"].iloc[0]
    assert t["revenue"] == pytest.approx(3000.0 * t["delivered_mwh"], rel=1e-9)
    assert res.tables["leases"].iloc[0]["peak_soc_mwh"] <= 6.0 + 1e-6


@pytest.mark.slow
def test_example_backends_agree(solved):
    sc, res = solved
    other = engine.optimize(sc, backend="pyomo")
    assert other.objective == pytest.approx(res.objective, rel=1e-8, abs=1e-6)


def test_example_round_trips():
    sc = engine.load_scenario(PATH)
    assert engine.Scenario.from_dict(sc.to_dict(), base_dir=PATH.parent) == sc
