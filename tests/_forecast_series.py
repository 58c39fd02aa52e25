"""Synthetic hourly series shared by the forecast tests (no outputs of our own code)."""

from __future__ import annotations

import numpy as np


def hourly_series(n: int, seed: int = 0, *, trend: float = 0.0, noise: float = 0.5) -> np.ndarray:
    """Daily sine, a weekend dip, a slow random walk, white noise and an optional trend."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    daily = 3.0 * np.sin(2 * np.pi * t / 24) + 1.0 * np.cos(4 * np.pi * t / 24)
    weekly = np.where((t // 24) % 7 >= 5, -2.0, 0.5)
    walk = 0.1 * np.cumsum(rng.normal(0.0, 1.0, n))
    return 20.0 + trend * t + daily + weekly + walk + rng.normal(0.0, noise, n)
