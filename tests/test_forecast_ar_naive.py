"""AR(p) and seasonal naive kernels against their NumPy references and exact cases."""

from __future__ import annotations

import numpy as np
import pytest
from _forecast_series import hourly_series
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.forecast import ar_forecast, ar_rolling, rolling_origins, seasonal_naive_rolling
from kernels.forecast.ar import ar_rolling_reference
from kernels.forecast.naive import seasonal_naive_reference

RTOL = 1e-9


@pytest.mark.parametrize("lags", [1, 3, 24, [1, 2, 24, 48]])
def test_ar_rolling_matches_reference(lags):
    y = hourly_series(600, seed=10)
    origins = np.array([150, 151, 200, 333, 552])
    np.testing.assert_allclose(
        ar_rolling(y, lags, origins, 48), ar_rolling_reference(y, lags, origins, 48), rtol=RTOL
    )


def test_ar_batch_equals_series_by_series():
    Y = np.stack([hourly_series(500, seed=s) for s in range(4)])
    origins = rolling_origins(500, 100, 24, 48)
    batch = ar_rolling(Y, 3, origins, 48)
    for s in range(4):
        np.testing.assert_allclose(batch[s], ar_rolling(Y[s], 3, origins, 48), rtol=1e-12)
    for parallel in (True, False):
        np.testing.assert_array_equal(ar_rolling(Y, 3, origins, 48, parallel=parallel), batch)


def test_ar2_continues_a_sinusoid_exactly():
    """y_t = 2 cos(w) y_{t-1} - y_{t-2} is an exact AR(2); the forecast is the sine itself."""
    w = 2 * np.pi / 24
    t = np.arange(300)
    y = 5.0 + 3.0 * np.sin(w * t + 0.4)
    np.testing.assert_allclose(ar_forecast(y[:200], 2, 100), y[200:], atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(c=st.floats(-1e4, 1e4), p=st.integers(1, 10))
def test_ar_constant_series(c, p):
    y = np.full(200, c)
    np.testing.assert_allclose(ar_forecast(y, p, 30), c, atol=1e-9 * (1 + abs(c)))


def test_ar_no_leakage():
    y = hourly_series(800, seed=11)
    origins = rolling_origins(800, 200, 24, 48)
    base = ar_rolling(y, [1, 2, 24], origins, 48)
    cut = origins[10]
    y2 = y.copy()
    y2[cut:] = -y2[cut:] * 3
    new = ar_rolling(y2, [1, 2, 24], origins, 48)
    np.testing.assert_array_equal(new[origins <= cut], base[origins <= cut])
    assert not np.allclose(new[origins > cut], base[origins > cut])


def test_ar_rejects_too_early_origin():
    with pytest.raises(ValueError, match="origins must lie"):
        ar_rolling(hourly_series(300), 24, np.array([40]), 10)


@pytest.mark.parametrize("period", [1, 24, 168])
def test_naive_matches_reference(period):
    Y = np.stack([hourly_series(1000, seed=s) for s in range(3)])
    origins = np.array([168, 169, 500, 951, 1000])
    got = seasonal_naive_rolling(Y, origins, period, 60)
    for s in range(3):
        np.testing.assert_array_equal(got[s], seasonal_naive_reference(Y[s], origins, period, 60))


def test_naive_by_hand():
    y = np.arange(100.0)
    np.testing.assert_array_equal(seasonal_naive_rolling(y, np.array([50]), 1, 3), [[49, 49, 49]])
    # daily: the last day repeated, h >= 24 wraps onto the same observed day
    f = seasonal_naive_rolling(y, np.array([48]), 24, 30)[0]
    np.testing.assert_array_equal(f, np.r_[np.arange(24.0, 48.0), np.arange(24.0, 30.0)])


@settings(max_examples=30, deadline=None)
@given(pattern=st.lists(st.floats(-1e3, 1e3), min_size=24, max_size=24), n=st.integers(24, 300))
def test_naive_reproduces_periodic_series(pattern, n):
    t = np.arange(n + 72)
    y = np.asarray(pattern)[t % 24]
    np.testing.assert_array_equal(seasonal_naive_rolling(y, np.array([n]), 24, 72)[0], y[n:])


def test_naive_no_leakage_and_bounds():
    y = hourly_series(500, seed=12)
    origins = rolling_origins(500, 168, 24, 48)
    base = seasonal_naive_rolling(y, origins, 168, 48)
    y2 = y.copy()
    y2[origins[3] :] += 100.0
    new = seasonal_naive_rolling(y2, origins, 168, 48)
    np.testing.assert_array_equal(new[:4], base[:4])
    assert not np.allclose(new[4:], base[4:])
    with pytest.raises(ValueError, match="origins must lie"):
        seasonal_naive_rolling(y, np.array([100]), 168, 48)
