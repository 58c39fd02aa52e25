"""Forecast-aware rolling windows (``scenarios=K``) and the real-time battery policy."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import check_invariants
from test_rolling import RTOL_OBJ, _assert_no_leak, rolling_dict, scenario

import engine


def test_bad_scenarios_are_clear_errors():
    sc = scenario(rolling_dict(72))
    for bad in (0, -2, 1.5, "3", True):
        with pytest.raises(ValueError, match="scenarios must be an integer >= 1"):
            engine.rolling_optimize(sc, 48, 24, "persistence", scenarios=bad)


def test_one_scenario_is_the_deterministic_window_exactly():
    sc = scenario(rolling_dict(168, seed=2))
    a = engine.rolling_optimize(sc, 48, 24, "seasonal_naive")
    b = engine.rolling_optimize(sc, 48, 24, "seasonal_naive", scenarios=1)
    assert b.settings["scenarios"] == 1
    assert a.objective == b.objective
    np.testing.assert_array_equal(a.hourly.to_numpy(), b.hourly.to_numpy())
    np.testing.assert_array_equal(a.windows["objective"].to_numpy(),
                                  b.windows["objective"].to_numpy())


def test_scenario_windows_with_perfect_forecasts_are_the_deterministic_ones():
    # perfect forecasts have no errors: every bootstrap scenario is the point forecast, the K
    # copies are identical, and the two-stage window has the deterministic optimum
    sc = scenario(rolling_dict(120, seed=1))
    a = engine.rolling_optimize(sc, 48, 24, "perfect")
    b = engine.rolling_optimize(sc, 48, 24, "perfect", scenarios=3)
    np.testing.assert_allclose(b.windows["objective"], a.windows["objective"], rtol=RTOL_OBJ)
    np.testing.assert_allclose(b.objective, a.objective, rtol=RTOL_OBJ)


def test_scenario_windows_under_forecast_error_obey_the_physics():
    # 21 days: Holt-Winters forecasts from hour 336; bootstrap scenarios need 10 complete
    # past error paths (from hour 336 + 48 + 9 * 24 = 600): use seasonal naive (warm-up 24 h)
    sc = scenario(rolling_dict(24 * 16, seed=3, green_share_min_fraction=0.5))
    r = engine.rolling_optimize(sc, 48, 24, "seasonal_naive", scenarios=4, verify_every=1)
    check_invariants(sc, r)
    assert (r.windows["status"] == "optimal").all()
    assert np.all(r.windows["rebuild_objective_diff"] <= RTOL_OBJ)
    d = engine.rolling_optimize(sc, 48, 24, "seasonal_naive")
    # the scenario windows really differ from the deterministic ones once errors are known
    assert not np.allclose(r.windows["objective"].iloc[-3:], d.windows["objective"].iloc[-3:])


def test_scenario_forecasts_use_only_complete_past_error_paths():
    from engine.operations.scenarios import scenario_forecasts

    T, W = 400, 48
    rng = np.random.default_rng(0)
    Y = rng.uniform(0, 1, (2, T))
    origins = np.arange(0, T, 24)
    fc = rng.uniform(0, 1, (2, origins.size, W))
    out = scenario_forecasts(Y, fc, origins, 24, 3, np.full(2, -np.inf), np.full(2, np.inf))
    assert out.shape == (2, origins.size, 3, W)
    np.testing.assert_array_equal(out[:, :, 0], fc)  # scenario 0: the point forecast
    for k, o in enumerate(origins.tolist()):
        past = [j for j, oj in enumerate(origins.tolist()) if oj >= 24 and oj + W <= o]
        if len(past) < 10:
            np.testing.assert_array_equal(out[:, k, 1], fc[:, k])
            continue
        # each scenario is fc + the error path of one complete earlier origin
        for s in (1, 2):
            errs = [Y[:, origins[j]:origins[j] + W] - fc[:, j] for j in past]
            assert any(np.allclose(out[:, k, s], fc[:, k] + e) for e in errs)


def test_no_leakage_through_scenarios():
    _assert_no_leak(rolling_dict(24 * 16, seed=2), 24 * 14, "seasonal_naive")


def test_no_leakage_through_scenarios_k3():
    import test_rolling

    d = rolling_dict(24 * 16, seed=2)
    a = engine.rolling_optimize(scenario(d), 48, 24, "seasonal_naive", scenarios=3)
    b = engine.rolling_optimize(scenario(test_rolling._changed_after(d, 336, seed=7)), 48, 24,
                                "seasonal_naive", scenarios=3)
    for col in a.hourly.columns:
        assert np.array_equal(a.hourly[col].to_numpy()[:336], b.hourly[col].to_numpy()[:336])
    assert not np.array_equal(a.hourly.to_numpy()[336:], b.hourly.to_numpy()[336:])


def test_cli_scenarios_flag(tmp_path, capsys):
    import yaml

    from engine.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(rolling_dict(96)))
    assert main(["run", str(path), "--rolling", "48/24", "--forecaster", "seasonal_naive",
                 "--scenarios", "2", "--no-plot", "--no-progress"]) == 0
    assert main(["run", str(path), "--rolling", "48/24", "--scenarios", "0",
                 "--forecaster", "perfect", "--no-plot", "--no-progress"]) == 2
    assert "scenarios must be an integer >= 1" in capsys.readouterr().err


def _run_with(sc, forecaster, value_policy: bool, realtime_jobs: bool = True):
    """A rolling run with the real-time policies switched as given (run attributes)."""
    import engine.operations.controller as ctl

    orig = ctl._RollingRun.__init__

    def init(self, *a, **k):
        orig(self, *a, **k)
        self.value_policy, self.realtime_jobs = value_policy, realtime_jobs

    ctl._RollingRun.__init__ = init
    try:
        return engine.rolling_optimize(sc, 48, 24, forecaster)
    finally:
        ctl._RollingRun.__init__ = orig


def test_real_time_policy_keeps_the_schedule_with_perfect_forecasts():
    # no surprise, no deviation: the policies act only on actual minus forecast
    sc = scenario(rolling_dict(120, seed=6, green_share_min_fraction=0.5))
    on = _run_with(sc, "perfect", True)
    off = _run_with(sc, "perfect", False)
    # (the re-dispatch recomputes the SOC: equal to rounding)
    np.testing.assert_allclose(on.hourly.to_numpy(), off.hourly.to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(on.objective, off.objective, rtol=1e-12)


def test_real_time_policy_under_forecast_error_obeys_the_physics_and_acts():
    sc = scenario(rolling_dict(24 * 8, seed=6, green_share_min_fraction=0.5))
    on = _run_with(sc, "persistence", True)
    off = _run_with(sc, "persistence", False)
    check_invariants(sc, on)
    assert on.kpis["job_shortfall_mwh"] <= 1e-6
    # it does act (else the test would prove nothing) ...
    assert not np.allclose(on.hourly.to_numpy(), off.hourly.to_numpy(), atol=1e-6)
