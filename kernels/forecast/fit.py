r"""Fit Holt–Winters smoothing parameters by minimising the one-step-ahead SSE.

This is plain Python around the compiled filter :func:`~kernels.forecast.holt_winters.hw_sse_nb`:
``scipy.optimize.minimize`` (L-BFGS-B, box [0, 1]) calls the filter a few hundred times, each
call a single pass through the training data, so fitting stays out of the hot rolling loop.

.. math:: \min_{\theta \in [0,1]^k} \; \frac{1}{n - t_0} \sum_{t=t_0}^{n-1}
          \bigl(y_t - \hat y_{t|t-1}(\theta)\bigr)^2

Initial states are not optimised; they come from :func:`initial_states` on the first cycles.

The one-step criterion is the maximum-likelihood one of the state-space model, but on hourly
data with persistent deviations (prices, building load) it drives :math:`\alpha` towards 1,
which tracks the last hour and forgets the seasons — poor at a 24–48 h horizon. Passing
``horizon`` selects the criterion of the use instead: the mean squared error over lead times
``1..H`` of rolling origins every ``step`` samples inside the training data,

.. math:: \min_\theta \; \frac{1}{|O| H} \sum_{o \in O} \sum_{h=1}^{H}
          \bigl(y_{o+h-1} - \hat y_{o+h-1|o-1}(\theta)\bigr)^2 ,

evaluated by the compiled rolling kernel (one filter pass per evaluation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from kernels.forecast.holt_winters import (
    DAILY,
    WEEKLY,
    HoltWinters,
    hw_rolling_nb,
    hw_sse_nb,
    initial_states,
)

# Starting points for the local optimiser: the SSE surface of seasonal models often has a
# flat region near zero smoothing and a second basin at fast adaptation.
_STARTS = ((0.1, 0.01, 0.05, 0.05), (0.5, 0.05, 0.2, 0.2), (0.9, 0.0, 0.0, 0.0))


def fit_holt_winters(
    y: NDArray[np.floating],
    *,
    period1: int | None = DAILY,
    period2: int | None = WEEKLY,
    trend: bool = False,
    burn_in: int | None = None,
    horizon: int | None = None,
    step: int = DAILY,
) -> HoltWinters:
    """Fit an additive Holt–Winters model on a training series.

    Parameters
    ----------
    y : numpy.ndarray, shape (n,)
        Training data only [unit of y]; pass ``y[:first_origin]`` for a leak-free evaluation.
    period1 : int or None, default 24
        Short seasonal period [samples]; None for level (and trend) only.
    period2 : int or None, default 168
        Long seasonal period [samples]; None for a single season.
    trend : bool, default False
        Include a (linear, undamped) trend.
    burn_in : int, optional
        One-step errors before this index are left out of the SSE, since they mostly measure
        the initial states; default one short period (none without a season). With
        ``horizon``, the first origin.
    horizon : int, optional
        Fit on the mean squared error of 1..``horizon``-step forecasts from rolling origins
        (see the module notes) instead of the one-step SSE [samples].
    step : int, default 24
        Distance of those training origins [samples]; used only with ``horizon``.

    Returns
    -------
    HoltWinters
        Fitted ``alpha``, ``beta``, ``gamma``, ``omega`` with the initial states used.
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.all(np.isfinite(y)):
        raise ValueError("y must be a finite 1-D series")
    level0, trend0, s1, s2 = initial_states(y, period1=period1, period2=period2, trend=trend)
    start = (period1 or 0) if burn_in is None else int(burn_in)
    free = np.array([True, trend, period1 is not None, period2 is not None])
    scale = float(np.var(y)) or 1.0  # SSE per sample relative to the variance: O(1) objective
    n_eff = max(y.size - start, 1)

    def full(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        p = np.zeros(4)
        p[free] = theta
        return p

    if horizon is None:

        def objective(theta: NDArray[np.float64]) -> float:
            return hw_sse_nb(y, full(theta), level0, trend0, s1, s2, start) / (n_eff * scale)

    else:
        origins = np.arange(max(start, 1), y.size - horizon + 1, step, dtype=np.int64)
        if origins.size == 0:
            raise ValueError(f"no training origin: n={y.size}, burn_in={start}, horizon={horizon}")
        target = y[origins[:, None] + np.arange(horizon)[None, :]]

        def objective(theta: NDArray[np.float64]) -> float:
            f = hw_rolling_nb(y, full(theta), level0, trend0, s1, s2, origins, horizon)
            return float(np.mean((target - f) ** 2)) / scale

    best = None
    for x0 in _STARTS:
        res = minimize(
            objective,
            np.asarray(x0)[free],
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * int(free.sum()),
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None  # _STARTS is not empty
    a, b, g, w = (float(v) for v in full(np.clip(best.x, 0.0, 1.0)))
    return HoltWinters(a, b, g, w, level0, trend0, s1, s2)
