"""GPU power capping: a job's throughput as a concave piecewise-linear function of its power.

A capped job runs ``G`` GPUs whose full (uncapped) power is ``Pg`` kW each, so at full power
it draws ``P_full = G * Pg / 1000`` MW and does ``G`` GPU-hours of work per hour. Capped at a
fraction ``x`` of full power per GPU it draws ``x * P_full`` and works at ``f(x)`` of full
speed, with ``f`` concave, increasing, ``f(1) = 1``, defined from the cap floor ``x_min``
(the lowest cap the GPUs accept) to 1.

Work is counted in *MWh at full power* (``v = GPU-hours * Pg / 1000``): the energy the same
work takes uncapped, so energy saved is simply ``work - energy``. Within an hour a
preemptible job may also run part of the hour (or pause), which time-shares between "off"
(the origin) and a cap: the work an hour can do at average power ``p`` is therefore
``P_full * h(p / P_full)``, with ``h`` the upper concave hull of the origin and the curve's
points. Below the most efficient cap ``x* = argmax f(x)/x`` the hull is the chord
``h(x) = x * f(x*)/x*`` (run at ``x*`` for part of the hour); the curve's points below ``x*``
drop out of the hull, which is how the floor is honoured without a binary. With hull
vertices ``(x_k, y_k)`` the segments are ``y <= a_k + b_k x`` (``b_k`` the slope, ``a_k =
y_k - b_k x_k``, the first through the origin), and since ``h`` is concave it is the minimum
of its segments::

    work[j, t] <= a_k * P_full_j + b_k * p[j, t]      for every segment k (an LP)

Default curve (:data:`DEFAULT_POWER_FRACTION`, :data:`DEFAULT_THROUGHPUT_FRACTION`)::

    power per GPU [fraction of full]   0.50  0.60  0.70  0.80  1.00
    throughput   [fraction of full]    0.68  0.83  0.94  0.98  1.00

This is a *representative shape*, written by us to follow what two studies report, not a
measurement of any particular GPU or model, and not of the user's GPUs: Zeus (You, Chung and
Chowdhury, "Zeus: Understanding and Optimizing GPU Energy Consumption of DNN Training",
USENIX NSDI 2023) sweeps GPU power limits for DNN training and finds throughput close to
full well below the maximum power limit, with the energy-optimal limit usually below the
maximum; Perseus (Chung et al., "Perseus: Reducing Energy Bloat in Large Model Training",
ACM SOSP 2024) removes up to ~30 % of training energy by slowing computations that are not on
the critical path. The points above give ~94 % of full throughput at 70 % power, ~98 % at
80 %, and a most efficient cap of 60 % (83 % throughput: 1.383 units of work per unit of
energy, i.e. 27.7 % less energy than at full power). The 50 % floor is a modelling choice
(below half power throughput falls off steeply and the shape above is not meant to cover it;
A100/H100 accept lower limits). Measure your own workload (e.g. with Zeus's power-limit
optimiser) and give its points in ``power_cap``.
"""
from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from engine.scenario.base import Model, Number

__all__ = ["DEFAULT_POWER_FRACTION", "DEFAULT_THROUGHPUT_FRACTION", "PowerCap", "hull_segments"]

#: Default power per GPU [fraction of full power]; the first point is the cap floor.
DEFAULT_POWER_FRACTION = (0.5, 0.6, 0.7, 0.8, 1.0)
#: Default throughput at those caps [fraction of full speed] (a representative shape, see the
#: module docstring for its source).
DEFAULT_THROUGHPUT_FRACTION = (0.68, 0.83, 0.94, 0.98, 1.0)

_Frac = Annotated[Number, Field(gt=0, le=1)]
_TOL = 1e-9


class PowerCap(Model):
    """A job's throughput as a concave piecewise-linear function of its power per GPU.

    ``power_fraction`` (increasing, ending at 1) are caps as fractions of the full power per
    GPU, the first being the floor (the lowest cap allowed); ``throughput_fraction`` the
    speed at each cap as a fraction of full speed (ending at 1, non-decreasing, concave).
    ``power_cap: {}`` takes the default curve (a representative shape after the Zeus and
    Perseus studies, see :mod:`engine.components._gpu_power`; not a measurement of your GPUs).
    """

    power_fraction: list[_Frac] = Field(default_factory=lambda: list(DEFAULT_POWER_FRACTION))
    throughput_fraction: list[_Frac] = Field(
        default_factory=lambda: list(DEFAULT_THROUGHPUT_FRACTION))

    @model_validator(mode="after")
    def _check(self) -> PowerCap:
        x = np.asarray(self.power_fraction, dtype=np.float64)
        y = np.asarray(self.throughput_fraction, dtype=np.float64)
        if x.size != y.size:
            raise ValueError(
                f"throughput_fraction: needs one value per power_fraction point ({x.size}), "
                f"got {y.size}")
        if x.size < 2:
            raise ValueError(f"power_fraction: needs at least 2 points (a floor and 1.0), got "
                             f"{list(x)}")
        if np.any(np.diff(x) <= 0):
            raise ValueError(f"power_fraction must be strictly increasing, got {list(x)}")
        if abs(x[-1] - 1.0) > _TOL or abs(y[-1] - 1.0) > _TOL:
            raise ValueError(
                "power_fraction/throughput_fraction: the last point must be full power at full "
                f"speed (1.0, 1.0), got ({x[-1]}, {y[-1]})")
        if np.any(np.diff(y) < -_TOL):
            raise ValueError(f"throughput_fraction must not decrease with power, got {list(y)}")
        slopes = np.diff(y) / np.diff(x)
        if np.any(np.diff(slopes) > 1e-7):
            k = int(np.flatnonzero(np.diff(slopes) > 1e-7)[0])
            raise ValueError(
                "throughput_fraction must be concave in power_fraction (slopes not increasing), "
                f"but the slope rises from {slopes[k]:.4g} to {slopes[k + 1]:.4g} at "
                f"power_fraction={x[k + 1]}")
        return self

    @property
    def floor_fraction(self) -> float:
        """The lowest cap allowed [fraction of full power per GPU]."""
        return float(self.power_fraction[0])


def hull_segments(cap: PowerCap) -> tuple[np.ndarray, np.ndarray, float]:
    """Segments ``y <= a_k + b_k x`` of the upper concave hull of the origin and the curve.

    Returns
    -------
    a, b : numpy.ndarray
        Intercepts and slopes of the hull's segments, left to right (``a[0] = 0``).
    x_best : float
        The most efficient cap ``argmax f(x)/x`` (the hull's first vertex after the origin).
    """
    pts = [(0.0, 0.0)] + list(zip(cap.power_fraction, cap.throughput_fraction))
    hull: list[tuple[float, float]] = []
    for p in pts:  # Andrew's monotone chain, upper hull (points are sorted by x)
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= -1e-12:
                hull.pop()  # hull[-1] lies on or below the chord from hull[-2] to p
            else:
                break
        hull.append(p)
    xs = np.array([h[0] for h in hull])
    ys = np.array([h[1] for h in hull])
    b = np.diff(ys) / np.diff(xs)
    a = ys[:-1] - b * xs[:-1]
    a[0] = 0.0
    return a, b, float(xs[1])


def hull_value(cap: PowerCap, x: np.ndarray) -> np.ndarray:
    """The hull ``h(x) = min_k (a_k + b_k x)`` for ``0 <= x <= 1``."""
    a, b, _ = hull_segments(cap)
    x = np.asarray(x, dtype=np.float64)
    return np.min(a[:, None] + b[:, None] * x.reshape(1, -1), axis=0).reshape(x.shape)
