r"""Probabilistic forecasts: K correlated scenarios per origin, and their quantiles.

Two generators, both deterministic given a seed (the random numbers are drawn once in NumPy
from ``numpy.random.default_rng(seed)`` and handed to the kernels as arrays):

* :func:`bootstrap_scenarios` — model-agnostic block bootstrap. A *block* is a whole
  H-step error path :math:`e_{j} = y_{o_j : o_j+H} - \hat y_{j}` of an earlier origin
  :math:`o_j` whose horizon was fully observed before the current origin
  (:math:`o_j + H \le o`). Scenario :math:`k` at origin :math:`o` is
  :math:`\hat y_{o} + e_{j_k}` with :math:`j_k` uniform over those paths. Keeping whole
  paths keeps the error correlation across lead times; using the same :math:`j_k` for all
  series keeps the correlation across series (PV, load and price errors of one day).
* :func:`hw_scenarios` — Holt–Winters sample paths with AR(1) one-step errors,
  :math:`\varepsilon_t = \rho\, \varepsilon_{t-1} + \sigma \eta_t`, :math:`\eta_t \sim N(0, 1)`;
  :math:`\rho`, :math:`\sigma` are estimated at each origin from the in-sample one-step
  errors before it, and each simulated error is fed back into level, trend and seasons as
  the filter does. The scenario mean therefore carries the decaying
  :math:`\rho^h \varepsilon_{o-1}` correction of Taylor (2003) on top of the point forecast.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from kernels.forecast._origins import as_series_2d
from kernels.forecast.holt_winters import HoltWinters, hw_fitted_reference

# --------------------------------------------------------------------------------------------
# Block bootstrap of past error paths
# --------------------------------------------------------------------------------------------


def _n_complete(origins: NDArray[np.int64], horizon: int) -> NDArray[np.int64]:
    """For each origin, how many earlier origins had their whole horizon observed."""
    return np.searchsorted(origins + horizon, origins, side="right").astype(np.int64)


def bootstrap_scenarios_reference(Y, F, origins, u, min_paths):
    """NumPy reference of :func:`bootstrap_scenarios_nb`."""
    S, O, H = F.shape
    idx = origins[:, None] + np.arange(H)[None, :]
    E = Y[:, np.minimum(idx, Y.shape[1] - 1)] - F  # rows past the data are never drawn
    avail = _n_complete(origins, H)
    out = np.full((S, O, u.shape[1], H), np.nan)
    for k in range(O):
        if avail[k] >= max(min_paths, 1):
            j = np.floor(u[k] * avail[k]).astype(np.int64)
            out[:, k] = F[:, k, None, :] + E[:, j, :]
    return out


# one thread: a light loop over few series, where waking a thread pool costs more
@nb.njit(cache=True)
def bootstrap_scenarios_nb(Y, F, origins, u, min_paths):
    """Block-bootstrap scenarios (compiled).

    ``Y`` (S, N) actuals, ``F`` (S, O, H) point forecasts, ``u`` (O, K) uniforms in [0, 1);
    returns (S, O, K, H), NaN where fewer than ``min_paths`` past paths exist.
    """
    S, O, H = F.shape
    K = u.shape[1]
    out = np.full((S, O, K, H), np.nan)
    ends = origins + H
    for s in range(S):
        avail = 0
        for k in range(O):
            # paths complete before origin k: o_j + H <= o_k (origins are increasing)
            while avail < O and ends[avail] <= origins[k]:
                avail += 1
            if avail < min_paths or avail == 0:
                continue
            for r in range(K):
                j = int(u[k, r] * avail)
                if j >= avail:  # u == 1.0 guard
                    j = avail - 1
                for h in range(H):
                    e = Y[s, origins[j] + h] - F[s, j, h]
                    out[s, k, r, h] = F[s, k, h] + e
    return out


def bootstrap_scenarios(
    y: NDArray[np.floating],
    forecasts: NDArray[np.floating],
    origins: NDArray[np.integer],
    n_scenarios: int,
    seed: int,
    *,
    min_paths: int = 10,
) -> NDArray[np.float64]:
    """K scenarios per origin by resampling whole past error paths.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,) or (S, N)
        Actuals [unit of y].
    forecasts : numpy.ndarray, shape (O, H) or (S, O, H)
        Point forecasts from any rolling-origin kernel for the same ``origins``.
    origins : numpy.ndarray of int, shape (O,)
    n_scenarios : int
        K scenarios per origin.
    seed : int
        Seed of ``numpy.random.default_rng``; same seed, same scenarios.
    min_paths : int, default 10
        Origins with fewer complete past error paths get NaN scenarios rather than a
        bootstrap from a handful of days.

    Returns
    -------
    numpy.ndarray, shape (O, K, H) or (S, O, K, H)
        The same resampled day for every series, so cross-series correlation is kept.
    """
    Y, was_1d = as_series_2d(y)
    F = np.ascontiguousarray(forecasts, dtype=np.float64)
    F = F[None] if F.ndim == 2 else F
    o = np.ascontiguousarray(origins, dtype=np.int64)
    if F.shape[:2] != (Y.shape[0], o.size):
        raise ValueError(f"forecasts shape {F.shape} does not match y {Y.shape}, {o.size} origins")
    u = np.random.default_rng(seed).random((o.size, n_scenarios))
    out = bootstrap_scenarios_nb(Y, F, o, u, int(min_paths))
    return out[0] if was_1d else out


# --------------------------------------------------------------------------------------------
# Holt–Winters sample paths with AR(1) one-step errors
# --------------------------------------------------------------------------------------------


def _ar1_from_errors(e: NDArray[np.float64]) -> tuple[float, float, float]:
    """``rho``, ``sigma`` of :math:`e_t = \\rho e_{t-1} + \\sigma\\eta_t` and the last error."""
    x, z = e[:-1], e[1:]
    sxx = float(x @ x)
    rho = float(np.clip((x @ z) / sxx, -0.99, 0.99)) if sxx > 0 else 0.0
    sig = float(np.sqrt(np.mean((z - rho * x) ** 2)))
    return rho, sig, float(e[-1])


def hw_scenarios_reference(y, model: HoltWinters, origins, horizon, z, burn_in):
    """NumPy reference of :func:`hw_scenarios_nb`: re-filter each simulated path from scratch."""
    y = np.asarray(y, dtype=np.float64)
    O, K, H = z.shape
    out = np.empty((O, K, H))
    for k, o in enumerate(origins):
        e = y[:o] - hw_fitted_reference(y[:o], model)
        rho, sig, last = _ar1_from_errors(e[burn_in:])
        for r in range(K):
            path = list(y[:o])
            prev = last
            for h in range(H):
                eps = rho * prev + sig * z[k, r, h]
                # one-step forecast of the path so far: fit on path + a dummy next value
                yhat = hw_fitted_reference(np.array(path + [0.0]), model)[-1]
                path.append(yhat + eps)
                prev = eps
            out[k, r] = path[o:]
    return out


@nb.njit(cache=True)
def hw_scenarios_nb(y, params, level0, trend0, season1, season2, origins, horizon, z, burn_in):
    """Holt–Winters AR(1)-error sample paths at each origin, one filter pass (compiled).

    ``z`` (O, K, H) standard normals; returns (O, K, H). Errors ``e_t`` with
    ``t >= burn_in`` and ``t < o`` estimate :math:`\\rho`, :math:`\\sigma` at origin ``o``.
    """
    alpha, beta, gamma, omega = params[0], params[1], params[2], params[3]
    m1, m2 = season1.shape[0], season2.shape[0]
    O, K, H = z.shape
    d = season1.copy()
    w = season2.copy()
    lvl, trd = level0, trend0
    out = np.empty((O, K, H))
    # running sums of the AR(1) regression of e_t on e_{t-1}
    sxx = 0.0
    sxz = 0.0
    szz = 0.0
    npair = 0
    e_prev = 0.0
    have_prev = False
    ds = np.empty(m1)
    ws = np.empty(m2)
    k = 0
    t = 0
    while k < O:
        while k < O and origins[k] == t:
            rho = 0.0
            if sxx > 0.0:
                rho = min(max(sxz / sxx, -0.99), 0.99)
            sig = 0.0
            if npair > 0:
                sig = np.sqrt(max((szz - 2.0 * rho * sxz + rho * rho * sxx) / npair, 0.0))
            for r in range(K):
                ls, bs = lvl, trd
                ds[:] = d
                ws[:] = w
                prev = e_prev
                for h in range(H):
                    j = t + h
                    i1, i2 = j % m1, j % m2
                    eps = rho * prev + sig * z[k, r, h]
                    out[k, r, h] = ls + bs + ds[i1] + ws[i2] + eps
                    ls = ls + bs + alpha * eps
                    bs = bs + alpha * beta * eps
                    ds[i1] += gamma * eps
                    ws[i2] += omega * eps
                    prev = eps
            k += 1
        if t >= y.shape[0]:
            break
        i1, i2 = t % m1, t % m2
        e = y[t] - (lvl + trd + d[i1] + w[i2])
        if t >= burn_in:
            if have_prev:
                sxx += e_prev * e_prev
                sxz += e_prev * e
                szz += e * e
                npair += 1
            have_prev = True
        e_prev = e
        lvl = lvl + trd + alpha * e
        trd = trd + alpha * beta * e
        d[i1] += gamma * e
        w[i2] += omega * e
        t += 1
    return out


def hw_scenarios(
    y: NDArray[np.floating],
    model: HoltWinters,
    origins: NDArray[np.integer],
    horizon: int,
    n_scenarios: int,
    seed: int,
    *,
    burn_in: int | None = None,
) -> NDArray[np.float64]:
    """K Holt–Winters sample paths per origin with AR(1) one-step errors.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,)
        Series [unit of y].
    model : HoltWinters
    origins : numpy.ndarray of int, shape (O,)
        Strictly increasing, each ``> burn_in + 1`` so that the error model has data.
    horizon : int
        ``H`` [samples].
    n_scenarios : int
        ``K``.
    seed : int
        Seed of ``numpy.random.default_rng``.
    burn_in : int, optional
        Errors before this index (dominated by the initial states) are ignored; default one
        short seasonal period.

    Returns
    -------
    numpy.ndarray, shape (O, K, H) [unit of y]
    """
    arr, was_1d = as_series_2d(y)
    if not was_1d:
        raise ValueError("hw_scenarios takes one series")
    o = np.ascontiguousarray(origins, dtype=np.int64)
    b = len(model.season1) if burn_in is None else int(burn_in)
    if o.size == 0 or np.any(np.diff(o) <= 0) or o[0] < b + 2 or o[-1] > arr.shape[1]:
        raise ValueError(f"origins must be increasing in [{b + 2}, {arr.shape[1]}]")
    z = np.random.default_rng(seed).standard_normal((o.size, n_scenarios, horizon))
    return hw_scenarios_nb(
        arr[0],
        model.params,
        model.level0,
        model.trend0,
        model.season1,
        model.season2,
        o,
        horizon,
        z,
        b,
    )


def scenario_quantiles(
    scenarios: NDArray[np.floating], q: NDArray[np.floating] | list[float]
) -> NDArray[np.float64]:
    """Quantiles over the scenario axis (second to last) of ``(..., K, H)`` scenarios.

    Returns ``(len(q), ..., H)``; NaN scenarios give NaN quantiles.
    """
    return np.quantile(np.asarray(scenarios, dtype=np.float64), np.asarray(q), axis=-2)


def pinball_loss(
    actual: NDArray[np.floating], quantiles: NDArray[np.floating], q: NDArray[np.floating]
) -> NDArray[np.float64]:
    r"""Mean pinball loss per quantile level, :math:`\max(q (y - \hat y_q), (q - 1)(y - \hat y_q))`.

    ``actual`` (..., H); ``quantiles`` (len(q), ..., H). NaN forecasts are skipped.
    """
    qa = np.asarray(q, dtype=np.float64).reshape((-1,) + (1,) * np.ndim(actual))
    diff = np.asarray(actual)[None] - quantiles
    loss = np.maximum(qa * diff, (qa - 1.0) * diff)
    return np.nanmean(loss.reshape(loss.shape[0], -1), axis=1)
