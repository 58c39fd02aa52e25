"""Scenario generators and fitting: reference equality, determinism, exact cases."""

from __future__ import annotations

import numpy as np
import pytest
from _forecast_series import hourly_series

from kernels.forecast import (
    HoltWinters,
    bootstrap_scenarios,
    fit_holt_winters,
    hw_rolling,
    hw_scenarios,
    initial_states,
    pinball_loss,
    rolling_origins,
    scenario_quantiles,
)
from kernels.forecast.holt_winters import hw_sse_nb
from kernels.forecast.scenarios import (
    bootstrap_scenarios_nb,
    bootstrap_scenarios_reference,
    hw_scenarios_nb,
    hw_scenarios_reference,
)


def model_for(y, period2=168, trend=True):
    l0, b0, s1, s2 = initial_states(y[:336], period2=period2, trend=trend)
    return HoltWinters(0.3, 0.05, 0.2, 0.1 if period2 else 0.0, l0, b0, s1, s2)


def test_hw_scenarios_match_reference():
    y = hourly_series(500, seed=20)
    m = model_for(y)
    origins = np.array([60, 200, 401])
    z = np.random.default_rng(1).standard_normal((3, 4, 30))
    got = hw_scenarios_nb(y, m.params, m.level0, m.trend0, m.season1, m.season2, origins, 30, z, 24)
    np.testing.assert_allclose(got, hw_scenarios_reference(y, m, origins, 30, z, 24), rtol=1e-10)


def test_hw_scenarios_seeded_and_leak_free():
    y = hourly_series(900, seed=21)
    m = model_for(y)
    origins = rolling_origins(900, 336, 24, 48)
    a = hw_scenarios(y, m, origins, 48, 50, seed=7)
    np.testing.assert_array_equal(a, hw_scenarios(y, m, origins, 48, 50, seed=7))
    assert not np.allclose(a, hw_scenarios(y, m, origins, 48, 50, seed=8))
    y2 = y.copy()
    y2[origins[5] :] *= 2.0
    b = hw_scenarios(y2, m, origins, 48, 50, seed=7)
    np.testing.assert_array_equal(a[:6], b[:6])
    assert not np.allclose(a[6:], b[6:])


def test_hw_scenarios_collapse_on_a_perfect_fit():
    """Zero one-step errors give sigma = 0: every scenario is the point forecast."""
    t = np.arange(600)
    s1 = np.cos(2 * np.pi * np.arange(24) / 24)
    y = 10.0 + s1[t % 24]
    m = HoltWinters(0.4, 0.0, 0.3, 0.0, 10.0, 0.0, s1, np.zeros(1))
    origins = np.array([100, 300])
    sc = hw_scenarios(y, m, origins, 48, 5, seed=0)
    np.testing.assert_allclose(
        sc, np.broadcast_to(hw_rolling(y, m, origins, 48)[:, None], sc.shape)
    )


def test_hw_scenarios_spread_grows_with_lead_time():
    y = hourly_series(24 * 60, seed=22)
    m = model_for(y, period2=None, trend=False)
    sc = hw_scenarios(y, m, np.array([24 * 50]), 48, 2000, seed=3)[0]
    sd = sc.std(axis=0)
    # a random walk in the data: the error variance of a level model grows with h
    assert sd[-1] > 1.5 * sd[0]


def test_bootstrap_matches_reference_and_keeps_cross_series_structure():
    y = hourly_series(1200, seed=23)
    Y = np.stack([y, 3.0 * y - 5.0])
    m = model_for(y)
    origins = rolling_origins(1200, 336, 24, 48)
    F = hw_rolling(
        Y,
        [m, HoltWinters(*m.params, 3 * m.level0 - 5, 3 * m.trend0, 3 * m.season1, 3 * m.season2)],
        origins,
        48,
    )
    u = np.random.default_rng(0).random((origins.size, 9))
    got = bootstrap_scenarios_nb(Y, F, origins, u, 3)
    want = bootstrap_scenarios_reference(Y, F, origins, u, 3)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the affine copy of the series gets the affine copy of each scenario: same day drawn
    np.testing.assert_allclose(got[1], 3.0 * got[0] - 5.0, rtol=1e-9, atol=1e-9)


def test_bootstrap_history_rule_and_seed():
    y = hourly_series(1200, seed=24)
    origins = rolling_origins(1200, 336, 24, 48)
    F = hw_rolling(y, model_for(y), origins, 48)
    sc = bootstrap_scenarios(y, F, origins, 20, seed=1, min_paths=5)
    # origin k has k - 1 complete past paths (o_j + 48 <= o_k with 24-h steps)
    first_ok = 6
    assert np.isnan(sc[:first_ok]).all() and np.isfinite(sc[first_ok:]).all()
    np.testing.assert_array_equal(sc, bootstrap_scenarios(y, F, origins, 20, seed=1, min_paths=5))
    # a perfect forecaster has zero past errors: scenarios are the forecast
    idx = origins[:, None] + np.arange(48)
    perfect = bootstrap_scenarios(y, y[idx], origins, 4, seed=1, min_paths=1)
    np.testing.assert_allclose(perfect[2:], np.broadcast_to(y[idx][2:, None], perfect[2:].shape))


def test_quantiles_and_pinball():
    sc = np.random.default_rng(0).normal(size=(3, 1000, 24))
    q = scenario_quantiles(sc, [0.1, 0.5, 0.9])
    assert q.shape == (3, 3, 24) and np.all(q[0] < q[1]) and np.all(q[1] < q[2])
    actual = np.zeros((3, 24))
    assert np.all(pinball_loss(actual, np.zeros((3, 3, 24)), [0.1, 0.5, 0.9]) == 0.0)
    np.testing.assert_allclose(pinball_loss(actual, np.ones((1, 3, 24)), [0.25]), 0.75)


def test_fit_recovers_simulated_parameters():
    """Data simulated from the model itself: the fitted smoothing is near the truth."""
    rng = np.random.default_rng(30)
    alpha, gamma = 0.3, 0.2
    s = np.sin(2 * np.pi * np.arange(24) / 24) * 5
    lvl, y = 50.0, np.empty(24 * 7 * 30)
    d = s.copy()
    for t in range(y.size):
        e = rng.normal()
        y[t] = lvl + d[t % 24] + e
        lvl += alpha * e
        d[t % 24] += gamma * e
    m = fit_holt_winters(y, period2=None)
    assert abs(m.alpha - alpha) < 0.05 and abs(m.gamma - gamma) < 0.05
    assert m.beta == 0.0 and m.omega == 0.0


def test_fit_is_a_local_optimum():
    y = hourly_series(24 * 7 * 8, seed=31)
    m = fit_holt_winters(y, trend=True)
    sse = hw_sse_nb(y, m.params, m.level0, m.trend0, m.season1, m.season2, 24)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = np.clip(m.params + rng.normal(0, 0.02, 4), 0, 1)
        assert hw_sse_nb(y, p, m.level0, m.trend0, m.season1, m.season2, 24) >= sse * (1 - 1e-9)


def test_fit_rejects_nan():
    y = hourly_series(400)
    y[3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_holt_winters(y)


def test_fit_without_season():
    """Simple exponential smoothing of a random walk plus noise: alpha well inside (0, 1)."""
    rng = np.random.default_rng(32)
    y = np.cumsum(rng.normal(0, 1, 3000)) + rng.normal(0, 1, 3000)
    m = fit_holt_winters(y, period1=None, period2=None)
    # local-level model with q = 1: optimal alpha = (sqrt(q^2 + 4q) - q) / 2 = 0.618
    assert abs(m.alpha - 0.618) < 0.08
    assert m.gamma == 0.0 and m.season1.tolist() == [0.0]


def test_horizon_fit_beats_one_step_fit_on_its_own_criterion():
    y = hourly_series(24 * 7 * 6, seed=33)
    origins = np.arange(336, y.size - 48 + 1, 24)
    target = y[origins[:, None] + np.arange(48)]

    def mse(m):
        return np.mean((target - hw_rolling(y, m, origins, 48)) ** 2)

    m1 = fit_holt_winters(y)
    mh = fit_holt_winters(y, horizon=48, step=24, burn_in=336)
    assert mse(mh) <= mse(m1) * (1 + 1e-9)


def test_warm_up_reaches_every_kernel():
    from kernels.forecast import warm_up
    from kernels.forecast.ar import ar_rolling_batch_nb, ar_rolling_batch_serial_nb
    from kernels.forecast.holt_winters import hw_rolling_batch_nb, hw_rolling_nb
    from kernels.forecast.naive import seasonal_naive_rolling_nb

    times = warm_up()
    assert all(t >= 0.0 for t in times.values())
    for kernel in (
        hw_rolling_nb,
        hw_rolling_batch_nb,
        hw_sse_nb,
        ar_rolling_batch_nb,
        ar_rolling_batch_serial_nb,
        seasonal_naive_rolling_nb,
        hw_scenarios_nb,
        bootstrap_scenarios_nb,
    ):
        assert kernel.signatures, kernel  # compiled for at least one signature
