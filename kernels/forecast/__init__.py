"""Forecast kernels: the recursive loops of forecasting, compiled with Numba.

Every kernel takes and returns plain NumPy arrays, has a plain NumPy reference next to it
(``*_reference``) and imports nothing from :mod:`engine`. Rolling-origin functions forecast
``y[o : o + H]`` from ``y[:o]`` for each origin ``o`` in one compiled call.

=========================  ====================================================
``seasonal_naive_rolling``  persistence (period 1), daily (24), weekly (168)
``hw_rolling``              additive Holt–Winters, optional trend, 1 or 2 seasons
``fit_holt_winters``        smoothing parameters by one-step SSE (scipy.optimize)
``ar_rolling``              AR(p) / sparse-lag AR refitted by least squares
``hw_scenarios``            HW sample paths with AR(1) one-step errors
``bootstrap_scenarios``     block bootstrap of past H-step error paths
``anchor``, ``fit_anchor``  HW re-anchored on the latest one-step error (AR(1))
``warm_up``                 compile / load every kernel before the first request
=========================  ====================================================
"""

from kernels.forecast._origins import rolling_origins
from kernels.forecast._warmup import warm_up
from kernels.forecast.anchor import anchor, fit_anchor
from kernels.forecast.ar import ar_forecast, ar_rolling
from kernels.forecast.fit import fit_holt_winters
from kernels.forecast.holt_winters import (
    DAILY,
    WEEKLY,
    HoltWinters,
    hw_fitted,
    hw_forecast,
    hw_rolling,
    initial_states,
)
from kernels.forecast.naive import seasonal_naive_rolling
from kernels.forecast.scenarios import (
    bootstrap_scenarios,
    hw_scenarios,
    pinball_loss,
    scenario_quantiles,
)

__all__ = [
    "DAILY",
    "WEEKLY",
    "HoltWinters",
    "anchor",
    "ar_forecast",
    "ar_rolling",
    "bootstrap_scenarios",
    "fit_anchor",
    "fit_holt_winters",
    "hw_fitted",
    "hw_forecast",
    "hw_rolling",
    "hw_scenarios",
    "initial_states",
    "pinball_loss",
    "rolling_origins",
    "scenario_quantiles",
    "seasonal_naive_rolling",
    "warm_up",
]
