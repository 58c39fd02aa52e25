"""A site: location, weather and the assets its components add.

The asset fields of a site (``pv``, ``wind``, ``hydro``, ``batteries``, ``grid``,
``datacenter``, ``network``, ...) are not written here: each component declares its own
field, and :func:`engine.scenario.container.make_schema` adds them to :class:`SiteBase`.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, model_validator

from engine.scenario.base import Model, Number, Positive
from engine.scenario.series import Series, SignedSeries

__all__ = ["SiteBase", "Weather"]


class Weather(Model):
    """Hourly weather at a site, with pvlib's column names.

    A column is required when an asset of the site needs it (PV from weather: ``ghi``,
    ``dni``, ``dhi``, ``temp_air``, ``wind_speed``; wind from weather: ``wind_speed``,
    ``temp_air``; the cooling model: ``temp_air``); a column that nothing needs may be left
    out. Nothing is assumed for a missing column.

    Attributes
    ----------
    ghi, dni, dhi : series [W/m^2]
        Global horizontal, direct normal and diffuse horizontal irradiance.
    temp_air : series [degrees C]
        Outdoor dry-bulb temperature (also drives the cooling model).
    wind_speed : series [m/s]
        Wind speed measured at ``wind_height_m``.
    wind_height_m : float [m]
        Measurement height of ``wind_speed`` (10 m for most weather files).
    """

    ghi: Series | None = None
    dni: Series | None = None
    dhi: Series | None = None
    temp_air: SignedSeries | None = None
    wind_speed: Series | None = None
    wind_height_m: Positive = 10.0


class SiteBase(Model):
    """A site: location, weather and its assets on one bus (fields of the components)."""

    #: The components whose site-level fields this schema holds (set by ``make_schema``).
    components: ClassVar[tuple[Any, ...]] = ()

    name: str
    latitude_deg: Annotated[Number, Field(ge=-90.0, le=90.0)]
    longitude_deg: Annotated[Number, Field(ge=-180.0, le=180.0)]
    altitude_m: Annotated[Number, Field(ge=-500.0, le=9000.0)] = 0.0
    weather: Weather | None = None

    @model_validator(mode="after")
    def _check(self) -> Any:
        for name, value in self.asset_lists():
            names = [a.name for a in value]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(f"{name}: names must be unique, got duplicates {sorted(dup)}")
        for c in type(self).components:
            if c.weather is None or c.level != "site":
                continue
            for asset, columns in c.weather(getattr(self, c.field)).items():
                missing = [col for col in columns
                           if self.weather is None or getattr(self.weather, col) is None]
                if missing:
                    where = "weather" if self.weather is None else f"weather.{missing[0]}"
                    raise ValueError(
                        f"{where}: site {self.name!r} gives no {', '.join(missing)}, which "
                        f"{asset} needs (give the weather column, or the asset's "
                        f"availability/PUE directly)"
                    )
        return self

    def asset_lists(self) -> list[tuple[str, list[Any]]]:
        """``(field, assets)`` of every component field holding a list of named assets."""
        out = []
        for c in type(self).components:
            if c.level != "site" or c.field is None:
                continue
            value = getattr(self, c.field)
            if isinstance(value, list) and value and isinstance(value[0], BaseModel) \
                    and "name" in type(value[0]).model_fields:
                out.append((c.field, value))
        return out
