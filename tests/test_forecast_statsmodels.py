"""External reference: statsmodels' ExponentialSmoothing and AutoReg, computed independently.

statsmodels <= 0.15 forecasts the lead times ``h = k * m`` (a whole number of seasons) with
the *previous* season's factor instead of the one estimated at the last observation
(statsmodels#9538, fixed by statsmodels#10230). At those lead times we compare with the
textbook forecast built from statsmodels' own final states, ``level[-1] + h * trend[-1] +
season[-1]``, so the test holds on both sides of that fix.
"""

from __future__ import annotations

import numpy as np
import pytest
from _forecast_series import hourly_series

from kernels.forecast import (
    HoltWinters,
    ar_forecast,
    ar_rolling,
    hw_fitted,
    hw_forecast,
    hw_rolling,
    initial_states,
    rolling_origins,
)

sm_hw = pytest.importorskip("statsmodels.tsa.holtwinters")
sm_ar = pytest.importorskip("statsmodels.tsa.ar_model")

RTOL = 1e-8
ATOL = 1e-8
M = 24
H = 100  # more than four seasons, so h = 24, 48, 72, 96 are all exercised


def sm_forecast_checked(res, horizon):
    """statsmodels forecast with lead times k*m taken from its final states (see module doc)."""
    f = np.array(res.forecast(horizon), dtype=float)
    h = np.arange(1, horizon + 1)
    whole = h % M == 0
    trend = res.trend[-1] if res.trend is not None else 0.0
    f_whole = res.level[-1] + h[whole] * trend + res.season[-1]
    return f, whole, f_whole


@pytest.mark.parametrize("trend", [False, True])
@pytest.mark.parametrize("params", [(0.3, 0.1, 0.2), (0.05, 0.01, 0.6), (0.9, 0.5, 0.0)])
def test_known_initial_states(trend, params):
    y = hourly_series(24 * 30, seed=5, trend=0.01 if trend else 0.0)
    l0, b0, s1, _ = initial_states(y, period2=None, trend=trend)
    a, b, g = params
    res = sm_hw.ExponentialSmoothing(
        y,
        trend="add" if trend else None,
        seasonal="add",
        seasonal_periods=M,
        initialization_method="known",
        initial_level=l0,
        initial_trend=b0 if trend else None,
        initial_seasonal=s1,
    ).fit(
        smoothing_level=a,
        smoothing_trend=b if trend else None,
        smoothing_seasonal=g,
        optimized=False,
    )
    ours = HoltWinters(a, b if trend else 0.0, g, 0.0, l0, b0, s1, np.zeros(1))
    np.testing.assert_allclose(hw_fitted(y, ours), res.fittedvalues, rtol=RTOL, atol=ATOL)
    f_sm, whole, f_whole = sm_forecast_checked(res, H)
    f_ours = hw_forecast(y, ours, H)
    np.testing.assert_allclose(f_ours[~whole], f_sm[~whole], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(f_ours[whole], f_whole, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("trend", [False, True])
def test_estimated_initial_states(trend):
    """statsmodels estimates the initial states; we take them over and match its forecasts."""
    y = hourly_series(24 * 20, seed=6, trend=0.02 if trend else 0.0)
    res = sm_hw.ExponentialSmoothing(
        y,
        trend="add" if trend else None,
        seasonal="add",
        seasonal_periods=M,
        initialization_method="estimated",
    ).fit(
        smoothing_level=0.2,
        smoothing_trend=0.05 if trend else None,
        smoothing_seasonal=0.3,
        optimized=False,
    )
    p = res.params
    ours = HoltWinters(
        0.2,
        0.05 if trend else 0.0,
        0.3,
        0.0,
        float(p["initial_level"]),
        float(p["initial_trend"]) if trend else 0.0,
        np.asarray(p["initial_seasons"], dtype=float),
        np.zeros(1),
    )
    f_sm, whole, f_whole = sm_forecast_checked(res, H)
    f_ours = hw_forecast(y, ours, H)
    np.testing.assert_allclose(f_ours[~whole], f_sm[~whole], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(f_ours[whole], f_whole, rtol=RTOL, atol=ATOL)


def test_rolling_origins_match_statsmodels_refits():
    """Each row of the one-pass rolling kernel equals statsmodels run on y[:o]."""
    y = hourly_series(24 * 14, seed=7)
    l0, _, s1, _ = initial_states(y[: 2 * M], period2=None)
    model = HoltWinters(0.25, 0.0, 0.15, 0.0, l0, 0.0, s1, np.zeros(1))
    origins = rolling_origins(y.size, 3 * M + 5, 40, 30)
    rolled = hw_rolling(y, model, origins, 30)
    for k, o in enumerate(origins):
        res = sm_hw.ExponentialSmoothing(
            y[:o],
            seasonal="add",
            seasonal_periods=M,
            initialization_method="known",
            initial_level=l0,
            initial_seasonal=s1,
        ).fit(smoothing_level=0.25, smoothing_seasonal=0.15, optimized=False)
        f_sm, whole, f_whole = sm_forecast_checked(res, 30)
        np.testing.assert_allclose(rolled[k, ~whole], f_sm[~whole], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(rolled[k, whole], f_whole, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("lags", [2, 5, [1, 2, 24]])
def test_ar_matches_autoreg(lags):
    y = hourly_series(24 * 20, seed=8)
    res = sm_ar.AutoReg(y, lags=lags, trend="c").fit()
    want = res.predict(start=y.size, end=y.size + 47)
    np.testing.assert_allclose(ar_forecast(y, lags, 48), want, rtol=1e-8, atol=1e-8)
    o = np.array([300, 400])
    rolled = ar_rolling(y, lags, o, 48)
    for k, origin in enumerate(o):
        r = sm_ar.AutoReg(y[:origin], lags=lags, trend="c").fit()
        np.testing.assert_allclose(
            rolled[k], r.predict(start=origin, end=origin + 47), rtol=1e-8, atol=1e-8
        )
