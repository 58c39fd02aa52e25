"""What a component is, and the context its result extraction writes into.

A component is one module of ``engine/components/`` that ends with a :class:`Component`
record: the input field it adds to a site (or to the scenario) and its pydantic model, the
arrays it derives from the inputs (``prepare``), its equations (``add``) and its result
columns and KPIs (``extract``). The registry (:data:`engine.components.COMPONENTS`) is
one list of these records; the scenario schema, the data preparation, the model build and
the results all read it, so a new component is one new file and one line in that list.
Components never import each other: they meet at the bus balance and the policy
collectors of :class:`~engine.model.formulation.Formulation`, and in :class:`Extraction`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from engine.model.data import ScenarioData
    from engine.model.formulation import Formulation

__all__ = ["Component", "Extraction", "full"]


def full(value: Any, T: int) -> np.ndarray:
    """A scalar or length-T series as a float64 array of length T."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (T,)).astype(np.float64, copy=True)


@dataclass(frozen=True)
class Component:
    """One component: its input field, arrays, equations and results.

    Attributes
    ----------
    name : str
        Short name, also the prefix of its hourly result columns (``battery.<unit>/...``).
    field : str, optional
        Name of the input field it adds to each site (``level="site"``) or to the scenario
        (``level="scenario"``); None for a component without inputs of its own.
    level : {"site", "scenario"}
        Where the field lives.
    schema : type annotation
        The field's type, e.g. ``list[Battery]`` or ``Grid | None``.
    default : Any
        The field's default (a value or a ``pydantic.Field``); ``...`` makes it required.
    weather : callable, optional
        ``weather(value) -> {what: [column, ...]}``: the weather columns each input asset
        needs (checked when the site is validated: a missing column is an error naming the
        site, the column and the asset).
    check : callable, optional
        ``check(scenario)``: cross-field validation once the whole scenario is read; raises
        ``ValueError`` with the field path first.
    prepare : callable, optional
        ``prepare(site, weather, index) -> dict`` of arrays stored on the site's
        :class:`~engine.model.data.SiteData` (``weather`` maps pvlib column names to
        length-T arrays; columns the site does not give are absent; ``index`` is the
        scenario's tz-aware hourly ``pandas.DatetimeIndex``).
    prepare_scenario : callable, optional
        ``prepare_scenario(data) -> dict`` of scenario-level arrays stored on
        :class:`~engine.model.data.ScenarioData` (e.g. the jobs).
    add : callable, optional
        ``add(f)``: its variable and constraint groups, bus injections, costs, fossil energy.
    after_balance : callable, optional
        ``after_balance(f)``: equations that need the bus balance's variables.
    extract : callable, optional
        ``extract(r)``: its hourly columns, sources for traceability and KPIs
        (``r`` is an :class:`Extraction`).
    """

    name: str
    field: str | None = None
    level: Literal["site", "scenario"] = "site"
    schema: Any = None
    default: Any = None
    weather: Callable[[Any], dict[str, list[str]]] | None = None
    check: Callable[[Any], None] | None = None
    prepare: Callable[..., dict[str, Any]] | None = None
    prepare_scenario: Callable[[ScenarioData], dict[str, Any]] | None = None
    add: Callable[[Formulation], None] | None = None
    after_balance: Callable[[Formulation], None] | None = None
    extract: Callable[[Extraction], None] | None = None


@dataclass
class Extraction:
    """What components write while results are read from a solution.

    Attributes
    ----------
    f : Formulation
        The built model (groups, ``meta``, data).
    x : numpy.ndarray
        Primal values.
    columns : dict
        Hourly result columns by name (``<kind>.<name>/<quantity>_<unit>``), in order.
    supply : dict
        Per traceability source (``pv``, ``wind``, ``hydro``, ``grid_clean``,
        ``grid_fossil``, ``unserved``, ...) the energy it brings to each site bus, ``(S, T)``
        MW; the battery is traced as a mixing tank through :attr:`storage`.
    clean : set
        Sources that are carbon-free (for the CFE score).
    storage : list of dict
        Per storage group: ``site`` (n,), ``charge``, ``discharge`` (n, T) MW, ``soc0_mwh``,
        ``charge_efficiency``, ``discharge_efficiency``, ``self_discharge_per_h`` (n,).
    it_mw, flexible_it_mw, facility_mw, pue : numpy.ndarray
        ``(S, T)`` IT and facility load per site (written by the data-center components).
    kpis : dict
        Component KPIs by name (the results add the common ones).
    tables : dict
        Further tables (``jobs``, ``job_power``) as pandas DataFrames.
    want_tables : bool
        Whether the report tables are wanted (False for a batch's summary row: components
        then skip the tables that feed no cost or KPI, e.g. the per-job tables).
    """

    f: Formulation
    x: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    supply: dict[str, np.ndarray] = field(default_factory=dict)
    clean: set[str] = field(default_factory=set)
    storage: list[dict[str, np.ndarray]] = field(default_factory=list)
    kpis: dict[str, float] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    it_mw: np.ndarray = field(default=None)  # type: ignore[assignment]
    flexible_it_mw: np.ndarray = field(default=None)  # type: ignore[assignment]
    facility_mw: np.ndarray = field(default=None)  # type: ignore[assignment]
    want_tables: bool = True

    def __post_init__(self) -> None:
        S, T = self.f.S, self.f.T
        for name in ("it_mw", "flexible_it_mw", "facility_mw"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros((S, T)))

    @property
    def site_names(self) -> list[str]:
        return [sd.site.name for sd in self.f.data.sites]

    def val(self, name: str) -> np.ndarray | None:
        """A variable group's values as a view of ``x`` (None if the group does not exist)."""
        g = self.f.model.var_groups.get(name)
        return None if g is None else self.x[g.start:g.start + g.size].reshape(g.shape)

    def add_supply(self, source: str, site_of: np.ndarray, values: np.ndarray, *,
                   clean: bool, t_of: np.ndarray | None = None) -> None:
        """Add ``values`` (``(n, T)`` with ``site_of`` (n,), or flat with ``t_of``) to the
        energy that ``source`` brings to the site buses."""
        arr = self.supply.get(source)
        if arr is None:
            arr = self.supply[source] = np.zeros((self.f.S, self.f.T))
        if t_of is None:
            np.add.at(arr, np.asarray(site_of), values)
        else:
            np.add.at(arr, (np.asarray(site_of), np.asarray(t_of)), values)
        if clean:
            self.clean.add(source)
