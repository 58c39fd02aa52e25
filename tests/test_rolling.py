"""The rolling-horizon controller: no look-ahead, feasibility, invariants, in-place updates."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import base_dict, check_invariants

import engine

#: Relative tolerance of objective comparisons (the task's 1e-6).
RTOL_OBJ = 1e-6


def rolling_dict(T: int = 120, seed: int = 0, **policy) -> dict:
    """Small scenario with noisy (not daily-periodic) PV, load and prices, a demand charge
    and jobs whose windows span several planning windows."""
    rng = np.random.default_rng(seed)
    d = base_dict(T)
    t = np.arange(T)
    site = d["sites"][0]
    pv = np.clip(np.sin((t % 24 - 6) / 12 * np.pi), 0, None) * rng.uniform(0.3, 1.0, T)
    site["pv"][0]["availability_fraction"] = pv.round(6).tolist()
    util = 0.4 + 0.1 * np.sin(t / 24 * 2 * np.pi) + rng.uniform(-0.05, 0.05, T)
    site["datacenter"]["inflexible_utilization_fraction"] = util.round(6).tolist()
    price = np.tile([30.0] * 7 + [60.0] * 10 + [90.0] * 5 + [30.0] * 2, T // 24 + 1)[:T]
    site["grid"]["import_price_per_mwh"] = (price * rng.uniform(0.8, 1.2, T)).round(4).tolist()
    site["grid"]["demand_charge_per_mw_month"] = 50.0
    # IT headroom and import limit wide enough that a forecast error never makes a job late
    # or load unserved: those are legitimate outcomes of rolling, but not these tests' subject
    site["datacenter"]["gpus"] = 10000
    site["grid"]["import_max_mw"] = 20.0
    d["jobs"] = [
        {"name": "train", "energy_mwh": 40.0, "release_h": 5, "deadline_h": min(T, 100),
         "max_power_mw": 2.0},
        {"name": "tune", "energy_mwh": 6.0, "release_h": 30, "deadline_h": min(T, 60),
         "max_power_mw": 1.0},
        {"name": "late", "energy_mwh": 8.0, "release_h": T - 30, "deadline_h": T,
         "max_power_mw": 1.0},
    ]
    d["policy"].update(policy)
    return d


def scenario(d: dict) -> engine.Scenario:
    return engine.Scenario.from_dict(d)


def test_bad_arguments_name_the_field():
    sc = scenario(rolling_dict(48))
    with pytest.raises(ValueError, match=r"window_h must be >= step_h.*window_h=12, step_h=24"):
        engine.rolling_optimize(sc, window_h=12, step_h=24, value_of_information=False)
    with pytest.raises(ValueError, match="forecaster must be one of"):
        engine.rolling_optimize(sc, forecaster="crystal_ball", value_of_information=False)
    with pytest.raises(ValueError, match=r"'holt_winters' needs warmup_h=336 h.*horizon_h=48"):
        engine.rolling_optimize(sc, forecaster="holt_winters", value_of_information=False)
    with pytest.raises(ValueError, match=r"peak_baseline_fraction must be in \[0, 1\], got 1.5"):
        engine.rolling_optimize(sc, forecaster="perfect", peak_baseline_fraction=1.5,
                                value_of_information=False)
    with pytest.raises(ValueError, match="step_h must be a positive integer"):
        engine.rolling_optimize(sc, window_h=24, step_h=0, value_of_information=False)


def _two_sites() -> dict:
    d = rolling_dict(72)
    s2 = copy.deepcopy(d["sites"][0])
    s2["name"], s2["pv"][0]["name"], s2["batteries"][0]["name"] = "s2", "pv2", "b2"
    s2["grid"]["demand_charge_per_mw_month"] = 0.0
    d["sites"].append(s2)
    d["jobs"][1]["sites"] = ["s2"]
    d["jobs"][0]["sites"] = d["jobs"][2]["sites"] = ["s1"]
    return d


def _variant(name: str) -> dict:
    d = rolling_dict(72)
    site = d["sites"][0]
    if name == "two_sites":
        return _two_sites()
    if name == "no_battery":
        site["batteries"] = []
    elif name == "no_jobs":
        d["jobs"] = []
    elif name == "wind_hydro_equal_terminal":
        site["wind"] = [{"name": "w", "capacity_mw": 3.0, "availability_fraction": 0.4}]
        site["hydro"] = [{"name": "h", "min_power_mw": 0.2, "max_power_mw": 1.0}]
        site["batteries"][0]["terminal"] = "equal_initial"
    elif name == "hourly_green":
        d["policy"].update(green_share_min_fraction=0.3, green_matching="hourly")
    return d


@pytest.mark.parametrize("name", ["two_sites", "no_battery", "no_jobs",
                                  "wind_hydro_equal_terminal", "hourly_green"])
def test_one_window_equals_the_annual_lp_across_components(name):
    sc = scenario(_variant(name))
    opt = engine.optimize(sc)
    roll = engine.rolling_optimize(sc, 72, 72, "perfect", value_of_information=False)
    np.testing.assert_allclose(roll.objective, opt.objective, rtol=RTOL_OBJ)
    # and a rolling run of the same scenario: in place = rebuilt, physics hold
    roll = engine.rolling_optimize(sc, 48, 24, "persistence", value_of_information=False,
                                   verify_every=1)
    assert np.all(roll.windows["rebuild_objective_diff"] <= RTOL_OBJ)
    check_invariants(sc, roll)


def test_without_a_grid_a_job_runs_late_rather_than_shed_load():
    # the annual LP must finish every job, so it sheds inflexible load to power them; a
    # window may leave job energy undone at the value of lost load per MWh of IT energy,
    # which is cheaper than shedding PUE x that. Realised costs hold no term for late job
    # energy (the annual LP has none): it is reported as job_shortfall_mwh
    d = rolling_dict(72)
    d["sites"][0]["grid"] = None
    d["sites"][0]["batteries"][0]["terminal"] = "free"
    sc = scenario(d)
    opt = engine.optimize(sc)
    roll = engine.rolling_optimize(sc, 72, 72, "perfect", value_of_information=False)
    assert roll.kpis["job_shortfall_mwh"] > 1.0
    assert roll.kpis["unserved_mwh"] < opt.kpis["unserved_mwh"]


def test_one_window_over_the_horizon_is_the_annual_lp():
    # window = step = horizon with perfect forecasts: the window model must reproduce the
    # formulation's optimum (an independent check of the window physics and costs)
    d = rolling_dict(72, green_share_min_fraction=0.5)
    sc = scenario(d)
    opt = engine.optimize(sc)
    roll = engine.rolling_optimize(sc, window_h=72, step_h=72, forecaster="perfect",
                                   value_of_information=False)
    check_invariants(sc, roll)
    np.testing.assert_allclose(roll.objective, opt.objective, rtol=RTOL_OBJ)


@pytest.mark.parametrize("policy", [{}, {"green_share_min_fraction": 0.45},
                                    {"green_share_min_fraction": 0.3, "green_matching": "hourly"}])
def test_perfect_rolling_is_feasible_and_not_better_than_the_optimum(policy):
    sc = scenario(rolling_dict(120, **policy))
    opt = engine.optimize(sc)
    roll = engine.rolling_optimize(sc, 48, 24, "perfect", value_of_information=False)
    check_invariants(sc, roll)
    assert roll.kpis["job_shortfall_mwh"] <= 1e-6
    assert roll.objective >= opt.objective * (1 - RTOL_OBJ)
    if policy.get("green_matching", "annual") == "annual" and policy:
        # the last window's green row is the floor on the realised year
        assert roll.kpis["green_slack_last_window_mwh"] <= 1e-6
        assert roll.kpis["green_share"] >= policy["green_share_min_fraction"] - 1e-6


@pytest.mark.parametrize("forecaster", ["persistence", "seasonal_naive"])
def test_realised_dispatch_obeys_the_physics_under_forecast_error(forecaster):
    sc = scenario(rolling_dict(120, seed=3, green_share_min_fraction=0.5))
    roll = engine.rolling_optimize(sc, 48, 24, forecaster, value_of_information=False)
    # balance each hour, SOC bounds and dynamics, jobs inside windows and complete
    check_invariants(sc, roll)
    assert (roll.windows["status"] == "optimal").all()
    assert list(roll.windows["origin_h"]) == [0, 24, 48, 72, 96]
    assert list(roll.windows["forecast"]) == ["warmup"] + [forecaster] * 4


def test_in_place_update_equals_rebuild():
    # every window also built from scratch and solved cold: same objective
    sc = scenario(rolling_dict(144, seed=1, green_share_min_fraction=0.6))
    roll = engine.rolling_optimize(sc, 48, 24, "persistence", value_of_information=False,
                                   verify_every=1)
    diff = roll.windows["rebuild_objective_diff"].to_numpy()
    assert diff.size == 6
    assert np.all(diff <= RTOL_OBJ), diff
    # warm starts: later windows need far fewer iterations than a cold first window
    assert roll.windows["iterations"].iloc[1:].median() < roll.windows["iterations"].iloc[0]


def rolled_twice(d: dict, c: int, *args, **kw):
    """``rolling_optimize`` on ``d`` and on :func:`_changed_after` ``(d, c, seed=7)``, with
    the same arguments: the pair a no-leakage test compares before hour ``c``."""
    return (engine.rolling_optimize(scenario(d), *args, **kw),
            engine.rolling_optimize(scenario(_changed_after(d, c, seed=7)), *args, **kw))


def _changed_after(d: dict, c: int, seed: int) -> dict:
    """A copy of ``d`` whose PV, load and price differ from hour ``c`` on."""
    rng = np.random.default_rng(seed)
    d2 = copy.deepcopy(d)
    site = d2["sites"][0]
    for path in (("pv", 0, "availability_fraction"),
                 ("datacenter", "inflexible_utilization_fraction"),
                 ("grid", "import_price_per_mwh")):
        obj = site
        for key in path[:-1]:
            obj = obj[key]
        y = np.asarray(obj[path[-1]], dtype=float)
        y[c:] = np.clip(y[c:] * rng.uniform(0.2, 1.8, y.size - c), 0, 1 if path[-1].endswith(
            "fraction") else None)
        obj[path[-1]] = y.round(6).tolist()
    return d2


def _assert_no_leak(d: dict, c: int, forecaster: str, W: int = 48, step: int = 24) -> None:
    a = engine.rolling_optimize(scenario(d), W, step, forecaster, value_of_information=False)
    b = engine.rolling_optimize(scenario(_changed_after(d, c, seed=7)), W, step, forecaster,
                                value_of_information=False)
    ha, hb = a.hourly.iloc[:c], b.hourly.iloc[:c]
    # decisions (and their realisation) of every hour before c: bit-identical
    decisions = [k for k in ha.columns if k.split("/")[0].split(".")[0] in
                 ("battery", "job", "grid", "pv", "bus", "datacenter")]
    for col in decisions:
        assert np.array_equal(ha[col].to_numpy(), hb[col].to_numpy()), col
    wa = a.windows.set_index("origin_h")
    wb = b.windows.set_index("origin_h")
    before = wa.index[wa.index < c]
    assert np.array_equal(wa.loc[before, "objective"].to_numpy(),
                          wb.loc[before, "objective"].to_numpy())
    # and the change does matter after c (else the test would prove nothing)
    assert not np.array_equal(a.hourly[decisions].to_numpy()[c:],
                              b.hourly[decisions].to_numpy()[c:])


@pytest.mark.parametrize("forecaster", ["persistence", "seasonal_naive"])
def test_no_leakage_from_data_after_an_origin(forecaster):
    # c = 96 >= warm-up (24) + window (48): even the warm-up windows, planned on actuals,
    # end before c
    _assert_no_leak(rolling_dict(168, seed=2), 96, forecaster)


def test_no_leakage_holt_winters():
    # Holt-Winters fits on the first 336 h; c = 408 >= 336 + 48
    _assert_no_leak(rolling_dict(24 * 21, seed=4), 408, "holt_winters")


def test_callable_forecaster_sees_only_the_past():
    sc = scenario(rolling_dict(96))
    seen: list[int] = []

    def last_day(history: np.ndarray, horizon: int) -> np.ndarray:
        seen.append(history.shape[1])
        reps = -(-horizon // 24)
        return np.tile(history[:, -24:], reps)[:, :horizon] if history.shape[1] >= 24 else \
            np.repeat(history[:, -1:], horizon, axis=1)

    roll = engine.rolling_optimize(sc, 48, 24, last_day, value_of_information=False)
    assert seen == [24, 48, 72]  # origin 0 is the warm-up (no history)
    check_invariants(sc, roll)


def test_value_of_information_is_reported(tmp_path):
    sc = scenario(rolling_dict(96, seed=5))
    roll = engine.rolling_optimize(sc, 48, 24, "persistence", value_of_information=True)
    voi = roll.value_of_information
    assert voi["realised_cost"] == pytest.approx(roll.objective)
    assert voi["perfect_forecast_rolling_cost"] >= voi["annual_optimum_cost"] * (1 - RTOL_OBJ)
    np.testing.assert_allclose(voi["cost_of_forecast_error"] + voi["cost_of_limited_horizon"],
                               voi["realised_cost"] - voi["annual_optimum_cost"], rtol=1e-9)
    out = roll.to_parquet(tmp_path)
    assert (out / "windows.parquet").exists() and (out / "hourly.parquet").exists()


def test_unattainable_green_floor_is_reported_not_met_by_shedding_load():
    # a 57 % floor is out of reach here; shed load does not count as green, so the annual LP
    # is infeasible and says which constraint; the rolling controller's floor is soft (slack
    # at green_penalty_per_mwh < VOLL), so it serves the load and the realised year falls
    # short of the floor, visibly
    sc = scenario(rolling_dict(120, green_share_min_fraction=0.57))
    opt = engine.optimize(sc)
    assert opt.status == engine.Status.INFEASIBLE
    assert "policy/green_share" in opt.diagnosis
    roll = engine.rolling_optimize(sc, 48, 24, "perfect", value_of_information=False)
    assert roll.kpis["unserved_mwh"] == 0.0
    assert roll.kpis["green_share"] < 0.57 - 1e-3
    assert roll.kpis["green_slack_last_window_mwh"] > 1.0


def test_progress_bar_and_callback(capsys):
    sc = scenario(rolling_dict(96))
    calls: list[tuple[int, int, int]] = []
    roll = engine.rolling_optimize(sc, 48, 24, "persistence", progress=True,
                                   on_progress=lambda k, n, rec: calls.append(
                                       (k, n, rec["origin_h"])),
                                   value_of_information=False)
    assert calls == [(1, 4, 0), (2, 4, 24), (3, 4, 48), (4, 4, 72)]
    assert "4/4" in capsys.readouterr().err
    assert roll.settings["window_h"] == 48 and "rolling: window 48 h" in roll.summary()


@pytest.mark.slow
def test_xining_year_rolling_end_to_end():
    from conftest import EXAMPLES

    sc = engine.load_scenario(EXAMPLES / "xining_park.yaml")
    roll = engine.rolling_optimize(sc, 48, 24, "holt_winters", verify_every=73,
                                   value_of_information=True)
    check_invariants(sc, roll)
    assert len(roll.windows) == 365 and (roll.windows["status"] == "optimal").all()
    assert roll.windows["rebuild_objective_diff"].dropna().max() <= RTOL_OBJ
    voi = roll.value_of_information
    assert voi["perfect_forecast_rolling_cost"] >= voi["annual_optimum_cost"] * (1 - RTOL_OBJ)
    assert voi["realised_cost"] >= voi["annual_optimum_cost"] * (1 - RTOL_OBJ)


# ----------------------------------------------------------------------------- plan-guided


def test_plan_bad_arguments_are_clear_errors():
    sc = scenario(rolling_dict(48))
    with pytest.raises(ValueError, match=r"plan must be one of \['annual', 'monthly'\] or None, "
                                         r"got 'weekly'"):
        engine.rolling_optimize(sc, 24, 24, "perfect", plan="weekly")
    with pytest.raises(ValueError, match=r"replan_h must be an integer >= step_h=24.*got 12"):
        engine.rolling_optimize(sc, 48, 24, "perfect", plan="annual", replan_h=12)
    # a monthly plan from a month's last day covers one more day and the next month (at most
    # 32 days = 768 h): a 960-h window is longer than the plan
    long = scenario(base_dict(24 * 70))
    with pytest.raises(ValueError, match=r"plan='monthly' covers as little as \d+ h ahead, "
                                         r"shorter than window_h=960"):
        engine.rolling_optimize(long, 960, 24, "perfect", plan="monthly")


@pytest.mark.parametrize("plan", ["annual", "monthly"])
def test_plan_guided_window_over_the_horizon_is_the_annual_lp(plan):
    sc = scenario(rolling_dict(72, green_share_min_fraction=0.5))
    opt = engine.optimize(sc)
    roll = engine.rolling_optimize(sc, 72, 72, "perfect", plan=plan)
    check_invariants(sc, roll)
    np.testing.assert_allclose(roll.objective, opt.objective, rtol=RTOL_OBJ)
    assert len(roll.plans) == 1 and roll.plans["status"].iloc[0] == "optimal"


@pytest.mark.parametrize("policy", [{}, {"green_share_min_fraction": 0.45}])
def test_plan_guided_perfect_rolling_is_close_to_the_optimum(policy):
    sc = scenario(rolling_dict(120, **policy))
    opt = engine.optimize(sc)
    free = engine.rolling_optimize(sc, 48, 24, "perfect")
    roll = engine.rolling_optimize(sc, 48, 24, "perfect", plan="annual", replan_h=48)
    check_invariants(sc, roll)
    assert roll.kpis["job_shortfall_mwh"] <= 1e-6
    assert roll.objective >= opt.objective * (1 - RTOL_OBJ)
    # the plan closes (nearly all of) the gap of the myopic windows
    assert roll.objective - opt.objective <= 0.25 * (free.objective - opt.objective) + 1e-6
    assert roll.objective <= opt.objective * 1.01
    if policy:
        assert roll.kpis["green_share"] >= policy["green_share_min_fraction"] - 1e-6
    assert list(roll.plans["origin_h"]) == [0, 48, 96]


@pytest.mark.parametrize("forecaster,plan", [("persistence", "annual"),
                                             ("seasonal_naive", "monthly")])
def test_no_leakage_through_the_plan(forecaster, plan):
    d = rolling_dict(168, seed=2)
    c = 96
    kw = {"plan": plan, "replan_h": 24}
    a = engine.rolling_optimize(scenario(d), 48, 24, forecaster, **kw)
    b = engine.rolling_optimize(scenario(_changed_after(d, c, seed=7)), 48, 24, forecaster, **kw)
    decisions = [k for k in a.hourly.columns if k.split("/")[0].split(".")[0] in
                 ("battery", "job", "grid", "pv", "bus", "datacenter")]
    for col in decisions:
        assert np.array_equal(a.hourly[col].to_numpy()[:c], b.hourly[col].to_numpy()[:c]), col
    pa, pb = a.plans.set_index("origin_h"), b.plans.set_index("origin_h")
    before = pa.index[pa.index < c]
    assert before.size >= 3
    assert np.array_equal(pa.loc[before, "objective"].to_numpy(),
                          pb.loc[before, "objective"].to_numpy())
    assert not np.array_equal(a.hourly[decisions].to_numpy()[c:],
                              b.hourly[decisions].to_numpy()[c:])


def test_plan_guided_under_forecast_error_obeys_the_physics_and_reports_months():
    sc = scenario(rolling_dict(24 * 40, seed=3, green_share_min_fraction=0.45))
    roll = engine.rolling_optimize(sc, 48, 24, "seasonal_naive", plan="monthly", replan_h=72,
                                   value_of_information=True)
    check_invariants(sc, roll)
    assert (roll.windows["status"] == "optimal").all()
    assert roll.kpis["job_shortfall_mwh"] <= 1e-6
    m = roll.months
    assert list(m.index) == [0, 1]
    np.testing.assert_allclose(m["realised"].sum(), roll.objective, rtol=1e-9)
    assert {"plan", "annual_optimum"} <= set(m.columns)
    voi = roll.value_of_information
    assert voi["annual_optimum_cost"] <= voi["realised_cost"] * (1 + RTOL_OBJ)
    rows = voi["controllers"]
    assert {"rolling seasonal_naive, plan monthly", "rolling seasonal_naive, no plan",
            "rolling perfect, plan monthly", "annual optimum"} <= set(rows)


def test_cli_plan_flags(tmp_path, capsys):
    import yaml

    from engine.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(rolling_dict(96)))
    out = tmp_path / "roll"
    assert main(["run", str(path), "--out", str(out), "--rolling", "48/24", "--forecaster",
                 "seasonal_naive", "--plan", "annual", "--replan-h", "48", "--no-plot",
                 "--no-progress"]) == 0
    assert "plan 'annual' every 48 h" in capsys.readouterr().out
    assert (out / "plans.parquet").exists() and (out / "months.parquet").exists()
    assert main(["run", str(path), "--rolling", "48/24", "--plan", "monthly", "--replan-h", "12",
                 "--forecaster", "perfect", "--no-plot"]) == 2
    assert "replan_h must be an integer >= step_h=24" in capsys.readouterr().err
