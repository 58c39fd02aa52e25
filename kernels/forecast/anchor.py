r"""Level re-anchoring of Holt–Winters forecasts on the latest observation.

A Holt–Winters model fitted on 1..48-step errors smooths its level slowly (a small
:math:`\alpha`): good for tomorrow, poor for the next few hours, where the latest
observation says most. Re-anchoring adds the latest one-step error, decaying
geometrically with the lead time:

.. math::

    r_o = y_{o-1} - \hat y_{o-1|o-2}, \qquad
    \tilde y_{o+h|o-1} = \hat y_{o+h|o-1} + \varphi^{h+1} r_o, \quad h = 0, \dots, H-1

(an AR(1) model of the Holt–Winters errors, as in Taylor's (2003) double-seasonal method
with an AR(1) error adjustment). :math:`\varphi \in [0, 1)` is fitted on the training
data by least squares over rolling origins (a grid search, since the objective is one
smooth function of :math:`\varphi`); :math:`\varphi = 0` is plain Holt–Winters, so the fit
never does worse than it on the training data.

References
----------
Taylor, J.W. (2003). Short-term electricity demand forecasting using double seasonal
exponential smoothing. *Journal of the Operational Research Society* 54, 799–805, §4.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kernels.forecast.holt_winters import HoltWinters, hw_fitted, hw_rolling

#: Candidate values of phi of the grid search.
PHI_GRID = np.linspace(0.0, 0.99, 100)


def anchor(forecasts: NDArray[np.floating], y: NDArray[np.floating],
           fitted: NDArray[np.floating], origins: NDArray[np.integer],
           phi: float) -> NDArray[np.float64]:
    """Re-anchor forecasts ``(O, H)`` made at ``origins`` on the latest one-step error.

    ``fitted[t]`` is the one-step forecast of ``y[t]`` (:func:`hw_fitted`); only
    ``y[o - 1]`` and ``fitted[o - 1]`` are read for origin ``o`` (no later data). An origin
    0 has no observation and is left as it is.
    """
    f = np.array(forecasts, dtype=np.float64, copy=True)
    o = np.asarray(origins, dtype=np.int64)
    if phi == 0.0 or f.size == 0:
        return f
    last = np.maximum(o - 1, 0)
    r = np.where(o > 0, np.asarray(y, np.float64)[last] - np.asarray(fitted, np.float64)[last],
                 0.0)
    f += r[:, None] * phi ** (np.arange(f.shape[1]) + 1.0)[None, :]
    return f


def fit_anchor(y: NDArray[np.floating], model: HoltWinters, horizon: int,
               start: int | None = None, weights: NDArray[np.floating] | None = None) -> float:
    """Fit :math:`\\varphi` on a training series ``y`` (data before the first real origin).

    Least squares over every hourly origin from ``start`` (default two days) to
    ``len(y) - horizon``; ``weights`` (length ``horizon``) weight the lead times (default
    equal). Returns 0 when there is no training origin.
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    start = 48 if start is None else int(start)
    origins = np.arange(max(start, 1), y.size - horizon + 1, dtype=np.int64)
    if origins.size == 0:
        return 0.0
    f = hw_rolling(y, model, origins, horizon)
    fit1 = hw_fitted(y, model)
    r = y[origins - 1] - fit1[origins - 1]
    err = y[origins[:, None] + np.arange(horizon)[None, :]] - f  # (O, H)
    w = np.ones(horizon) if weights is None else np.asarray(weights, np.float64)
    lead = np.arange(horizon) + 1.0
    best_phi, best = 0.0, np.inf
    for phi in PHI_GRID:
        e = err - r[:, None] * phi ** lead[None, :]
        sse = float(((e * e) * w[None, :]).sum())
        if sse < best:
            best_phi, best = float(phi), sse
    return best_phi
