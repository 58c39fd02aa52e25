"""The scenario container: time axis, sites, policy, and the fields of every component.

:func:`make_schema` assembles the ``Site`` and ``Scenario`` models from a list of
components (:data:`engine.components.COMPONENTS` for :class:`Scenario`): each component
adds its own input field, and its own cross-field check. Hour indices (``release_h``,
``deadline_h``, ``outage_hours``) count from 0 at ``start``; a deadline is exclusive.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, Field, ValidationError, create_model, model_validator

from engine.components import COMPONENTS
from engine.components.outages import Outages
from engine.errors import ScenarioError, format_path
from engine.scenario.base import (
    Cost,
    Fraction,
    Integer,
    Model,
    deep_equal,
    to_scenario_error,
)
from engine.scenario.io import _iter_series, _resolve_case_paths, _resolve_file_forms
from engine.scenario.series import align_data, align_models, describe_start_error, hourly_index
from engine.scenario.site import SiteBase

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Policy", "Scenario", "ScenarioBase", "Site", "load_scenario", "make_schema",
           "read_scenario_file"]

#: The number of hours of a scenario (up to ten leap years).
Horizon = Annotated[Integer, Field(ge=1, le=10 * 8784)]
_START = Field(description="first hour, ISO 8601 local time, e.g. '2023-01-01 00:00'")


class _TimeAxis(Model):
    """The time-axis fields alone, checked before anything that depends on them.

    The file forms of series (``{daily: ...}``, ``{weekly: ...}``, CSV with timestamps)
    are resolved against ``start``, ``timezone`` and ``horizon_h`` before the scenario is
    validated; a wrong value there must be blamed on the field itself, not on the first
    profile that happens to need it.
    """

    model_config = ConfigDict(extra="ignore")

    start: str = _START
    timezone: str = "UTC"
    horizon_h: Horizon


class Policy(Model):
    """Operating policy: green-power floor, carbon price and penalties.

    ``green_share_min_fraction`` (alpha) bounds fossil energy:
    annual ``sum fossil <= (1 - alpha) * sum facility`` or, with ``green_matching="hourly"``
    (24/7 matching), ``fossil[t] <= (1 - alpha) * facility[t]`` in every hour.
    ``carbon_basis``: the grid emission factor the carbon price applies to (``average``, or
    ``marginal``: each grid's ``marginal_emission_factor_kg_per_mwh``).
    ``outages``: outage scenarios with their islanded dispatch, expected unserved cost and
    survival rule (:mod:`engine.components.outages`).
    """

    green_share_min_fraction: Fraction = 0.0
    green_matching: Literal["annual", "hourly"] = "annual"
    carbon_price_per_t: Cost = 0.0
    carbon_basis: Literal["average", "marginal"] = "average"
    value_of_lost_load_per_mwh: Cost = 10_000.0
    curtailment_penalty_per_mwh: Cost = 0.0
    outages: Outages | None = None


class ScenarioBase(Model):
    """A complete optimization scenario (the fields every schema has).

    Build it from Python objects, from a dict (:meth:`from_dict`) or from a YAML/JSON file
    (:func:`load_scenario`); write it back with :meth:`to_dict` / :meth:`to_yaml` /
    :meth:`to_json` without loss.
    """

    #: The components of this schema, in build order (set by :func:`make_schema`).
    components: ClassVar[tuple[Any, ...]] = ()
    #: The schema's site model.
    Site: ClassVar[type[SiteBase]] = SiteBase

    name: str = "scenario"
    start: str = _START
    timezone: str = "UTC"
    horizon_h: Horizon
    currency: str = "CNY"

    # ---- validation across fields
    @model_validator(mode="before")
    @classmethod
    def _align(cls, data: Any) -> Any:
        """Select the scenario's hours from timestamped series (pandas objects, CSV files
        with a ``time`` column) before the models that hold them are validated."""
        if not isinstance(data, Mapping):
            return data
        start, tz, T = data.get("start"), data.get("timezone", "UTC"), data.get("horizon_h")
        if not (isinstance(start, str) and isinstance(tz, str) and type(T) is int and T >= 1):
            return data  # the field checks say what is wrong
        try:
            index = hourly_index(start, tz, T)
        except Exception:  # noqa: BLE001  (reported by _check, with the other errors)
            return data
        return align_data(data, index)

    @model_validator(mode="after")
    def _check(self) -> Any:
        try:
            index = hourly_index(self.start, self.timezone, self.horizon_h)
        except Exception as exc:  # noqa: BLE001  (pandas raises several types here)
            raise ValueError(describe_start_error(self.start, self.timezone, exc)) from None
        # timestamped series of models built before the scenario (Grid(...) etc.)
        align_models(self, index)
        T = self.horizon_h
        for path, value in _iter_series(self, ()):
            if isinstance(value, np.ndarray) and len(value) != T:
                raise ValueError(
                    f"{format_path(path)}: series length must equal horizon_h={T}, got "
                    f"{len(value)} (a series without timestamps is read by position from "
                    f"start; give it a time column, or a DatetimeIndex, to select the "
                    f"scenario's hours from a longer series)"
                )
        sites = self.sites  # type: ignore[attr-defined]
        names = [s.name for s in sites]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"sites: names must be unique, got duplicates {sorted(dup)}")
        seen: dict[tuple[str, str], int] = {}
        for i, site in enumerate(sites):
            for kind, assets in site.asset_lists():
                for k, asset in enumerate(assets):
                    key = (kind, asset.name)
                    if key in seen and seen[key] != i:
                        raise ValueError(
                            f"sites[{i}].{kind}[{k}].name: {asset.name!r} is used at another site "
                            f"too; asset names must be unique across sites"
                        )
                    seen[key] = i
        for c in type(self).components:
            if c.check is not None:
                c.check(self)
        return self

    # ---- derived quantities
    @property
    def index(self) -> pd.DatetimeIndex:
        """The hourly, tz-aware time index of the horizon."""
        return hourly_index(self.start, self.timezone, self.horizon_h)

    def job_site(self, job: Any) -> Any:
        """The one site a job runs at (see :func:`engine.components.jobs.job_site`)."""
        from engine.components.jobs import job_site

        return job_site(self, job)

    def job_energy_mwh(self, job: Any) -> float:
        """IT energy of a job [MWh] (see :func:`engine.components.jobs.job_energy_mwh`)."""
        from engine.components.jobs import job_energy_mwh

        return job_energy_mwh(self, job)

    def job_max_power_mw(self, job: Any) -> float:
        """Largest IT power a job may draw [MW]."""
        from engine.components.jobs import job_max_power_mw

        return job_max_power_mw(self, job)

    # ---- I/O
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: str | Path | None = None) -> Any:
        """Validate a scenario from plain data (as read from YAML/JSON).

        Parameters
        ----------
        data : mapping
            The scenario; series may use the file forms ``{daily: ...}``, ``{weekly: ...}``,
            ``{csv: ..., column: ...}``.
        base_dir : path, optional
            Directory that relative CSV paths are resolved against (default: the working
            directory).

        Raises
        ------
        ScenarioError
            On any invalid field, naming its path and value.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"scenario must be a mapping, got {type(data).__name__}")
        try:  # the time axis first: the file forms of series are resolved against it
            _TimeAxis.model_validate(data)
        except ValidationError as exc:
            raise to_scenario_error(exc) from None
        resolved = _resolve_file_forms(dict(data), Path(base_dir or "."))
        if isinstance(resolved.get("sites"), list):  # anything else: pydantic says what is wrong
            _resolve_case_paths(resolved, Path(base_dir or "."))
        try:
            return cls.model_validate(resolved)
        except ValidationError as exc:
            raise to_scenario_error(exc) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, floats, strings) that :meth:`from_dict` reads back to an equal scenario."""
        align_models(self, self.index)  # a timestamped series assigned after validation
        return self.model_dump(mode="python", exclude_none=True)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Write the scenario as YAML (to ``path`` if given) and return the text."""
        import yaml

        text = yaml.dump(self.to_dict(), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                         sort_keys=False, default_flow_style=None, width=120)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path: str | Path | None = None) -> str:
        """Write the scenario as JSON (to ``path`` if given) and return the text."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    def __eq__(self, other: object) -> bool:  # arrays need elementwise comparison
        if not isinstance(other, ScenarioBase):
            return NotImplemented
        return deep_equal(self.to_dict(), other.to_dict())

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value


def make_schema(components: Sequence[Any] = COMPONENTS, *, module: str | None = None
                ) -> type[ScenarioBase]:
    """The ``Scenario`` model of a list of components (and its ``Site`` as ``.Site``).

    Parameters
    ----------
    components : sequence of Component
        In build order; the built-in :data:`engine.components.COMPONENTS` plus any of a
        user's own. Each adds its field to the site or the scenario.
    module : str, optional
        Module the classes claim to live in (for pickling, store the result there under the
        name ``Scenario``); default this module.

    Returns
    -------
    type
        A subclass of :class:`ScenarioBase`; ``optimize`` builds every scenario of it with
        exactly these components. Nothing global changes: :class:`Scenario` stays as it is.
    """
    components = tuple(components)
    names = [c.name for c in components]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"components: names must be unique, got duplicates {sorted(dup)}")
    module = module or __name__

    def fields(level: str) -> dict[str, Any]:
        return {c.field: (c.schema, c.default) for c in components
                if c.field is not None and c.level == level}

    site = create_model("Site", __base__=SiteBase, __module__=module, **fields("site"))
    site.components = components
    scenario = create_model(
        "Scenario", __base__=ScenarioBase, __module__=module,
        sites=(list[site], Field(min_length=1)),  # type: ignore[valid-type]
        **fields("scenario"),
        policy=(Policy, Field(default_factory=Policy)),
    )
    scenario.components = components
    scenario.Site = site
    return scenario


#: The scenario of the built-in components.
Scenario = make_schema(COMPONENTS)
#: Its site.
Site = Scenario.Site


def load_scenario(path: str | Path, schema: type[ScenarioBase] | None = None) -> Any:
    """Read and validate a scenario from a YAML (``.yaml``/``.yml``) or JSON file.

    Relative CSV paths inside the file are resolved against the file's directory.

    Parameters
    ----------
    path : path
        The file.
    schema : type, optional
        The scenario model (from :func:`make_schema`); default :class:`Scenario`.

    Raises
    ------
    ScenarioError
        If the file cannot be read or any field is invalid.
    """
    path = Path(path)
    return (schema or Scenario).from_dict(read_scenario_file(path), base_dir=path.parent)


def read_scenario_file(path: str | Path) -> Any:
    """The raw content (not validated) of a YAML or JSON scenario file.

    Raises
    ------
    ScenarioError
        If the file does not exist or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"scenario file {str(path)!r} does not exist")
    try:
        text = path.read_text()
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml

        # libyaml's C loader parses the example ~10x faster than the pure-Python one
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:
        raise ScenarioError(f"cannot parse scenario file {str(path)!r}: {exc}") from None
