"""Inputs of the formulation derived from weather and profiles.

Weather to availability (PV with pvlib, wind with a density-corrected power curve),
outdoor temperature to PUE. Forecasters for rolling horizons join this package later.
"""
from engine.forecast.cooling import pue_from_temperature
from engine.forecast.weather import air_density_kg_m3, pv_power_mw, wind_power_mw

__all__ = ["air_density_kg_m3", "pue_from_temperature", "pv_power_mw", "wind_power_mw"]
