"""Weather to available power: PV through pvlib, wind through a power curve.

PV physics (solar position, transposition, cell temperature, PVWatts DC and inverter)
comes from pvlib and is computed once per site; it is not re-implemented here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Standard sea-level air density of power curves (IEC 61400-12-1) [kg/m^3].
RHO_STANDARD = 1.225
_R_DRY_AIR = 287.05  # J/(kg K)


def air_density_kg_m3(altitude_m: float, temp_air_c: np.ndarray) -> np.ndarray:
    """Air density from altitude (standard-atmosphere pressure) and temperature.

    ``p = 101325 * (1 - 2.25577e-5 * h) ** 5.25588`` Pa (ISO 2533 troposphere) and
    ``rho = p / (R_d * (T + 273.15))``. At Xining (2,275 m, 5 C) this gives about
    0.96 kg/m^3, ~21 % below the 1.225 kg/m^3 of power curves.
    """
    pressure = 101_325.0 * (1.0 - 2.25577e-5 * altitude_m) ** 5.25588
    return pressure / (_R_DRY_AIR * (np.asarray(temp_air_c, dtype=np.float64) + 273.15))


def wind_power_mw(wind, weather, altitude_m: float) -> np.ndarray:
    """Hourly available wind power [MW] of a :class:`~engine.scenario.Wind` farm.

    Hub-height speed by the power law ``v_hub = v * (h_hub / h_meas) ** shear_exponent``;
    density correction of the curve by ``v_eq = v_hub * (rho / 1.225) ** (1/3)``
    (IEC 61400-12-1 for pitch-regulated turbines); then the curve, the capacity and losses.
    """
    ws = np.asarray(weather.wind_speed, dtype=np.float64)
    v_hub = ws * (wind.hub_height_m / weather.wind_height_m) ** wind.shear_exponent
    rho = air_density_kg_m3(altitude_m, weather.temp_air)
    v_eq = v_hub * (rho / RHO_STANDARD) ** (1.0 / 3.0)
    frac = np.interp(v_eq, wind.curve_wind_speed_m_s, wind.curve_power_fraction, right=0.0)
    power = frac * wind.capacity_mw * (1.0 - wind.losses_fraction)
    # a constant wind speed with an hourly temperature (or the reverse) is hourly
    return np.broadcast_to(power, np.broadcast_shapes(ws.shape, np.shape(power))).copy()


def pv_power_mw(pv, weather, site, index: pd.DatetimeIndex) -> np.ndarray:
    """Hourly available AC power [MW] of a :class:`~engine.scenario.PV` plant, with pvlib.

    Steps: solar position at mid-hour (weather values are hour averages labelled by the
    start of the hour; NREL SPA in NumPy), plane-of-array irradiance (Hay–Davies
    transposition with extraterrestrial DNI), SAPM cell temperature (open-rack
    glass/polymer), PVWatts DC (``gamma_pdc_per_c``), system losses, PVWatts inverter
    clipped at ``inverter_capacity_mw``.
    """
    import pandas as pd
    import pvlib

    T = len(index)
    mid = index + pd.Timedelta(minutes=30)
    ghi, dni, dhi, temp, ws = (
        np.broadcast_to(np.asarray(v, dtype=np.float64), (T,))
        for v in (weather.ghi, weather.dni, weather.dhi, weather.temp_air, weather.wind_speed)
    )
    solpos = pvlib.solarposition.get_solarposition(
        mid, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m,
        method="nrel_numpy", temperature=temp,
    )
    dni_extra = pvlib.irradiance.get_extra_radiation(mid).to_numpy()
    poa = pvlib.irradiance.get_total_irradiance(
        pv.tilt_deg, pv.azimuth_deg,
        solpos["apparent_zenith"].to_numpy(), solpos["azimuth"].to_numpy(),
        dni, ghi, dhi, dni_extra=dni_extra, model="haydavies", albedo=pv.albedo,
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64), nan=0.0)
    poa_global = np.maximum(poa_global, 0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    t_cell = pvlib.temperature.sapm_cell(poa_global, temp, ws, **params)
    pdc = pvlib.pvsystem.pvwatts_dc(poa_global, t_cell, pv.capacity_mw, pv.gamma_pdc_per_c)
    pdc = np.maximum(np.asarray(pdc, dtype=np.float64), 0.0) * (1.0 - pv.losses_fraction)
    ac_cap = pv.inverter_capacity_mw if pv.inverter_capacity_mw is not None else pv.capacity_mw / 1.2
    if ac_cap <= 0:
        return np.zeros(T)
    pac = pvlib.inverter.pvwatts(pdc, ac_cap / pv.inverter_efficiency, eta_inv_nom=pv.inverter_efficiency)
    return np.clip(np.nan_to_num(np.asarray(pac, dtype=np.float64)), 0.0, ac_cap)
