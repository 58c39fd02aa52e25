"""Cooling model: PUE of each hour from the outdoor temperature."""
from __future__ import annotations

import numpy as np


def pue_from_temperature(
    temp_air_c: np.ndarray,
    free_cooling_below_c: float,
    pue_free_cooling: float,
    pue_slope_per_c: float,
    pue_max: float,
) -> np.ndarray:
    """Hourly power usage effectiveness from outdoor temperature.

    ``pue = min(pue_max, pue_free_cooling + pue_slope_per_c * max(0, temp_air_c -
    free_cooling_below_c))``: free (air-side / water-side economiser) cooling carries the
    load below the threshold, mechanical cooling adds power in proportion to the degrees
    above it.

    Parameters
    ----------
    temp_air_c : array [degrees C]
        Outdoor dry-bulb temperature.
    free_cooling_below_c : float [degrees C]
    pue_free_cooling : float [-]
    pue_slope_per_c : float [1/degree C]
    pue_max : float [-]

    Returns
    -------
    numpy.ndarray [-]
        PUE of each hour, ``>= 1``.
    """
    temp = np.asarray(temp_air_c, dtype=np.float64)
    excess = np.maximum(temp - free_cooling_below_c, 0.0)
    return np.minimum(pue_free_cooling + pue_slope_per_c * excess, pue_max)
