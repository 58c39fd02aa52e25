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
    # announced 24 h ahead: the hours before are fixed to the plan without the event
    assert t["announced_h"] == t["start_h"] - 24
    assert res.kpis["dr_notice_fixed_columns"] > 0
    assert res.tables["leases"].iloc[0]["peak_soc_mwh"] <= 6.0 + 1e-6


@pytest.mark.slow
def test_example_backends_agree(solved):
    sc, res = solved
    other = engine.optimize(sc, backend="pyomo")
    assert other.objective == pytest.approx(res.objective, rel=1e-8, abs=1e-6)


def test_example_round_trips():
    sc = engine.load_scenario(PATH)
    assert engine.Scenario.from_dict(sc.to_dict(), base_dir=PATH.parent) == sc


def test_example_car_sessions_replay_the_measured_dundee_days():
    """The example's car sessions are the shipped Dundee extract, not a drawn shape: each
    weekday's arrivals per hour equal Monday 4 June 2018's measured plug-ins per hour (floored),
    each weekend day's Sunday 3 June's, and the energy asked is the measured energy."""
    import numpy as np
    import pandas as pd

    df = pd.read_csv(EXAMPLES / "data" / "ev" / "dundee_sessions_2018-06-03_04.csv",
                     parse_dates=["start", "end"])
    assert len(df) == 329 and (df["end"] >= df["start"]).all()
    sc = engine.load_scenario(PATH)
    cars = [s for s in sc.sites[0].ev_charging.sessions if s.name.startswith("car_")]
    arr = np.array([s.arrival_h for s in cars])
    for day in range(7):
        src = df[df["start"].dt.day == (3 if day >= 5 else 4)]
        want = np.bincount(src["start"].dt.hour, minlength=24)
        got = np.bincount(arr[(arr >= 24 * day) & (arr < 24 * day + 24)] - 24 * day,
                          minlength=24)
        assert (got == want).all(), day
    week_kwh = 5 * df[df["start"].dt.day == 4]["energy_kwh"].sum() \
        + 2 * df[df["start"].dt.day == 3]["energy_kwh"].sum()
    assert sum(s.energy_mwh for s in cars) * 1000 == pytest.approx(week_kwh, rel=1e-6)
