"""Holt–Winters kernels against the NumPy reference, hand-made cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from _forecast_series import hourly_series
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.forecast import (
    HoltWinters,
    hw_fitted,
    hw_forecast,
    hw_rolling,
    initial_states,
    rolling_origins,
)
from kernels.forecast.holt_winters import (
    hw_fitted_reference,
    hw_forecast_reference,
    hw_rolling_reference,
)

RTOL = 1e-10
ATOL = 1e-9

CASES = {
    "daily": {"period2": None, "trend": False, "p": (0.3, 0.0, 0.2, 0.0)},
    "daily+trend": {"period2": None, "trend": True, "p": (0.3, 0.1, 0.2, 0.0)},
    "daily+weekly": {"period2": 168, "trend": False, "p": (0.2, 0.0, 0.15, 0.1)},
    "daily+weekly+trend": {"period2": 168, "trend": True, "p": (0.2, 0.05, 0.15, 0.1)},
}


def make_model(y, period2, trend, p):
    l0, b0, s1, s2 = initial_states(y[:336], period2=period2, trend=trend)
    return HoltWinters(*p, l0, b0, s1, s2)


@pytest.mark.parametrize("case", CASES)
def test_rolling_matches_reference(case):
    y = hourly_series(900, seed=1, trend=0.01)
    model = make_model(y, **CASES[case])
    # origins off the daily grid, horizon longer than the daily period
    origins = np.array([1, 25, 170, 331, 500, 777, 850])
    got = hw_rolling(y, model, origins, 50)
    want = hw_rolling_reference(y, model, origins, 50)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", CASES)
def test_fitted_and_forecast_match_reference(case):
    y = hourly_series(700, seed=2)
    model = make_model(y, **CASES[case])
    np.testing.assert_allclose(hw_fitted(y, model), hw_fitted_reference(y, model), rtol=RTOL)
    np.testing.assert_allclose(
        hw_forecast(y, model, 200), hw_forecast_reference(y, model, 200), rtol=RTOL
    )


def test_batch_equals_series_by_series():
    Y = np.stack([hourly_series(800, seed=s, trend=0.002 * s) for s in range(5)])
    models = [
        make_model(Y[s], period2=168, trend=True, p=(0.1 + 0.1 * s, 0.05, 0.1, 0.05 * s))
        for s in range(5)
    ]
    origins = rolling_origins(800, 336, 24, 48)
    batch = hw_rolling(Y, models, origins, 48)
    assert batch.shape == (5, origins.size, 48)
    for s in range(5):
        np.testing.assert_array_equal(batch[s], hw_rolling(Y[s], models[s], origins, 48))
    for parallel in (True, False):
        np.testing.assert_array_equal(hw_rolling(Y, models, origins, 48, parallel=parallel), batch)


def test_no_leakage():
    """Changing y at or after an origin never changes that origin's forecast."""
    y = hourly_series(1000, seed=3)
    model = make_model(y, period2=168, trend=True, p=(0.3, 0.1, 0.2, 0.1))
    origins = rolling_origins(1000, 336, 24, 48)
    base = hw_rolling(y, model, origins, 48)
    rng = np.random.default_rng(0)
    for cut in (origins[0], origins[5], origins[5] + 7, origins[-1]):
        y2 = y.copy()
        y2[cut:] += rng.normal(0.0, 10.0, y.size - cut)
        new = hw_rolling(y2, model, origins, 48)
        before = origins <= cut
        np.testing.assert_array_equal(new[before], base[before])
        if (~before).any():  # the test must be able to fail: later origins do move
            assert not np.allclose(new[~before], base[~before])


def taylor_forecast(y, alpha, delta, omega_t, level0, s1, s2, horizon):
    """Taylor (2003) additive double-seasonal form: seasons updated with the *new* level."""
    m1, m2 = len(s1), len(s2)
    lvl = level0
    d = list(s1)
    w = list(s2)
    for t, yt in enumerate(y):
        d_old, w_old = d[t], w[t]
        lvl = alpha * (yt - d_old - w_old) + (1 - alpha) * lvl
        d.append(delta * (yt - lvl - w_old) + (1 - delta) * d_old)
        w.append(omega_t * (yt - lvl - d_old) + (1 - omega_t) * w_old)
    n = len(y)
    # list index m + k holds the season of time k; the target n - 1 + h reads its phase's
    # latest estimate, ceil(h / m) periods back
    return np.array(
        [
            lvl
            + d[m1 + n - 1 + h - m1 * ((h - 1) // m1 + 1)]
            + w[m2 + n - 1 + h - m2 * ((h - 1) // m2 + 1)]
            for h in range(1, horizon + 1)
        ]
    )


def test_taylor_parametrisation():
    """gamma = delta (1 - alpha) and omega = omega_Taylor (1 - alpha) give Taylor's method."""
    y = hourly_series(600, seed=4)
    l0, _, s1, s2 = initial_states(y[:336], period2=168)
    alpha, delta, omega_t = 0.25, 0.3, 0.2
    ours = HoltWinters(alpha, 0.0, delta * (1 - alpha), omega_t * (1 - alpha), l0, 0.0, s1, s2)
    np.testing.assert_allclose(
        hw_forecast(y, ours, 200),
        taylor_forecast(y, alpha, delta, omega_t, l0, s1, s2, 200),
        rtol=RTOL,
    )


unit = st.floats(0.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(c=st.floats(-1e3, 1e3), a=unit, b=unit, g=unit, w=unit, n=st.integers(1, 400))
def test_constant_series_forecasts_constant(c, a, b, g, w, n):
    y = np.full(n, c)
    model = HoltWinters(a, b, g, w, c, 0.0, np.zeros(24), np.zeros(168))
    np.testing.assert_allclose(hw_forecast(y, model, 60), c, atol=1e-9 * (1 + abs(c)))


@settings(max_examples=40, deadline=None)
@given(
    pattern=st.lists(st.floats(-100, 100), min_size=24, max_size=24),
    weekly=st.booleans(),
    level=st.floats(-100, 100),
    n=st.integers(0, 500),
    seed=st.integers(0, 2**16),
)
def test_pure_seasonal_pattern_is_reproduced(pattern, weekly, level, n, seed):
    """alpha = gamma = omega = 0 with the true states forecasts the pattern exactly."""
    s1 = np.asarray(pattern)
    s2 = np.random.default_rng(seed).normal(0, 5, 168) if weekly else np.zeros(1)
    t = np.arange(n + 200)
    truth = level + s1[t % 24] + s2[t % s2.size]
    model = HoltWinters(0.0, 0.0, 0.0, 0.0, level, 0.0, s1, s2)
    np.testing.assert_allclose(hw_forecast(truth[:n], model, 200), truth[n:], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(a=unit, b=unit, slope=st.floats(-5, 5), n=st.integers(1, 300))
def test_linear_trend_is_extrapolated(a, b, slope, n):
    """A noise-free line gives zero one-step errors, so any smoothing keeps the line."""
    t = np.arange(n + 48)
    truth = 7.0 + slope * (t + 1)  # level0 sits at t = -1
    model = HoltWinters(a, b, 0.3, 0.0, 7.0, slope, np.zeros(24), np.zeros(1))
    np.testing.assert_allclose(hw_forecast(truth[:n], model, 48), truth[n:], atol=1e-8)


def test_initial_states_recover_a_noise_free_decomposition():
    t = np.arange(2 * 168)
    s1 = np.sin(2 * np.pi * np.arange(24) / 24)
    s2 = np.repeat([1.0, 1.0, 1.0, 1.0, 1.0, -2.5, -2.5], 24)
    s2 = s2 - s2.mean()
    y = 50.0 + s1[t % 24] + s2[t % 168]
    l0, b0, e1, e2 = initial_states(y, period2=168)
    assert b0 == 0.0
    np.testing.assert_allclose(l0, 50.0, atol=1e-12)
    np.testing.assert_allclose(e1, s1 - s1.mean(), atol=1e-12)
    np.testing.assert_allclose(e1[t % 24] + e2[t % 168], s1[t % 24] + s2[t % 168], atol=1e-12)


def test_bad_input_is_rejected():
    y = hourly_series(400)
    model = make_model(y, period2=None, trend=False, p=(0.3, 0.0, 0.2, 0.0))
    y_nan = y.copy()
    y_nan[10] = np.nan
    with pytest.raises(ValueError, match="finite"):
        hw_rolling(y_nan, model, np.array([100]), 24)
    with pytest.raises(ValueError, match="increasing"):
        hw_rolling(y, model, np.array([200, 100]), 24)
    with pytest.raises(ValueError, match="origins must lie"):
        hw_rolling(y, model, np.array([401]), 24)
    with pytest.raises(ValueError, match="gamma must be in"):
        HoltWinters(0.3, 0.0, 1.5, 0.0, 1.0, 0.0, np.zeros(24), np.zeros(1))
    with pytest.raises(ValueError, match="season2 must be"):
        HoltWinters(0.3, 0.0, 0.5, 0.0, 1.0, 0.0, np.zeros(24), np.zeros(0))


def test_sse_kernel_matches_reference_errors():
    from kernels.forecast.holt_winters import hw_sse_nb

    y = hourly_series(800, seed=9, trend=0.01)
    m = make_model(y, **CASES["daily+weekly+trend"])
    e = y - hw_fitted_reference(y, m)
    got = hw_sse_nb(y, m.params, m.level0, m.trend0, m.season1, m.season2, 50)
    np.testing.assert_allclose(got, np.sum(e[50:] ** 2), rtol=1e-10)
