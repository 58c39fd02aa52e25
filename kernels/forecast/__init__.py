"""Forecast kernels: the recursive loops of forecasting, compiled with Numba.

Every kernel takes and returns plain NumPy arrays, has a plain NumPy reference next to it
(``*_reference``) and imports nothing from :mod:`engine`.
"""

from kernels.forecast._origins import rolling_origins
from kernels.forecast.holt_winters import (
    DAILY,
    WEEKLY,
    HoltWinters,
    hw_fitted,
    hw_forecast,
    hw_rolling,
    initial_states,
)

__all__ = [
    "DAILY",
    "WEEKLY",
    "HoltWinters",
    "hw_fitted",
    "hw_forecast",
    "hw_rolling",
    "initial_states",
    "rolling_origins",
]
