"""Results: hourly flows, cost terms, KPIs, traceability, Parquet and plots.

Hourly columns are named ``<kind>.<name>/<quantity>_<unit>``: ``pv.<plant>/power_mw``,
``battery.<unit>/soc_mwh``, ``grid.<site>/import_mw``, ``datacenter.<site>/facility_mw``,
``datacenter.<site>/flexible_it_mw``, ``bus.<site>/unserved_mw``, ``trace.<site>/<source>_mw`` ...
All numbers are MW (= MWh per hour), MWh, currency, t CO2. Per-job power is a long table
(``Result.job_power``: job, time, power_mw, one row per hour inside the job's window).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.status import Status

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()

__all__ = ["Result", "Status", "empty_result"]


@dataclass
class Result:
    """Outcome of :func:`engine.optimize`.

    Attributes
    ----------
    status : Status
        ``optimal``, ``infeasible``, ``unbounded``, ``time_limit`` or ``error``.
    objective : float
        Objective value (currency); NaN without a solution.
    costs : pandas.Series
        Cost terms (currency), summing to ``objective``.
    kpis : pandas.Series
        Key figures (see :meth:`summary`).
    hourly : pandas.DataFrame
        One column per flow on the scenario's tz-aware hourly index.
    jobs : pandas.DataFrame
        Per job: site, window, energy required and delivered, mean import price.
    job_power : pandas.DataFrame
        Long table of job power: ``job``, ``time``, ``power_mw`` for every hour inside each
        job's window (see :meth:`job_power_mw` for one job as an hourly series).
    demand_charges : pandas.DataFrame
        One row per (site, month) of the sites with a demand charge: ``site``, ``month``
        (``"YYYY-MM"``), ``hours_in_horizon``, ``hours_in_month``, ``factor`` (the share of
        the monthly rate paid: hours_in_horizon / hours_in_month when pro-rated, else 1),
        ``rate_per_mw_month``, ``peak_mw`` and ``charge`` (rate x factor x peak; the rows
        sum to ``costs["demand_charge"]``). Empty without a demand charge.
    placement : pandas.DataFrame
        Jobs placed across sites: one row per (job, site) with ``share``, ``it_energy_mwh``,
        ``data_moved_gb``, ``checkpoint_moved_gb`` (moved in by migrations)
        (:mod:`engine.components.placement`).
    tenants : pandas.DataFrame
        The per-tenant green-power report: consumption, clean MWh, CFE score, emissions,
        CO2 avoided against the grid average, energy cost, MWh by source and
        ``via_battery_mwh`` (the part a battery discharged; :mod:`engine.results.ledger`);
        ``tenant == ""`` is load no tenant owns.
    certificates : pandas.DataFrame
        Hourly granular certificates, one per (tenant, site, hour, source) with MWh (and
        ``via_storage_mwh``, the part of it a battery discharged); they sum to each
        tenant's hourly consumption.
    outages : pandas.DataFrame
        With ``policy.outages``: one row per (site, start, duration) scenario: ``site``,
        ``start_h``, ``time``, ``duration_h``, ``probability`` (start weight x duration
        probability), ``unserved_critical_mwh``, ``unserved_sheddable_mwh``, ``genset_mwh``,
        ``cost`` (unserved at each tier's value of lost load + fuel) and ``survival_h`` (how
        long the critical load lasts from that start; see
        :mod:`engine.components.outages`). Empty without outage scenarios.
    tables : dict of pandas.DataFrame
        Further per-component tables by name (``ev_sessions``, ``leases``, ``dr_events``,
        ...; see each component's ``extract``).
    investment : pandas.DataFrame
        With assets that carry an ``investment``: one row per capacity (asset, quantity
        ``mw``/``mwh``, existing and chosen size, capex, annualised capex, fixed O&M and
        annualised cost per year; see :mod:`engine.components.finance`). Empty otherwise.
        Shared-storage leases, sized by the LP but an operating expense (no capex), have
        their companion table ``tables["lease_sizing"]`` (leased MWh and MW, mean and max
        over the offer's periods, cost over the horizon and per year).
    timings : dict
        Seconds: ``prepare_s``, ``build_s``, ``solve_s``, ``extract_s``, ``total_s``.
    mip_gap : float
        Relative MIP gap (0 for LPs).
    lp_relaxation : float
        A MILP's LP relaxation objective (the root bound before cuts) where the solve ran it
        (``mip_start`` ``"auto"``/``"lp"`` on the ``highs`` backend), else NaN; with the
        objective it gives the root gap :attr:`root_gap`.
    diagnosis : str
        For an infeasible model: the constraint groups and hours in conflict. For a solve
        stopped by a limit (status ``time_limit``) or a solver error: what happened and what
        to try.
    network_check : NetworkCheck, dict or None
        AC check of this dispatch on the site's feeder (with ``optimize(network_rounds=N)``);
        a dict by site position when several sites have a network.
    network_rounds : pandas.DataFrame or None
        One row per solve of the network rounds: objective, violations, margins.
    """

    status: Status
    objective: float
    costs: pd.Series
    kpis: pd.Series
    hourly: pd.DataFrame
    jobs: pd.DataFrame
    timings: dict[str, float]
    job_power: pd.DataFrame = field(default_factory=_empty_frame)
    demand_charges: pd.DataFrame = field(default_factory=_empty_frame)
    outages: pd.DataFrame = field(default_factory=_empty_frame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    investment: pd.DataFrame = field(default_factory=_empty_frame)
    placement: pd.DataFrame = field(default_factory=_empty_frame)
    tenants: pd.DataFrame = field(default_factory=_empty_frame)
    certificates: pd.DataFrame = field(default_factory=_empty_frame)
    mip_gap: float = 0.0
    lp_relaxation: float = float("nan")
    backend: str = "highs"
    solver_status: str = ""
    iterations: int = 0
    diagnosis: str = ""
    scenario_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    network_check: Any = None
    network_rounds: pd.DataFrame | None = None

    @property
    def has_solution(self) -> bool:
        """Whether primal values came back: optimal, or a feasible point at a time limit (a
        time limit reached before any feasible point has none)."""
        return self.status.has_solution and not self.hourly.empty

    @property
    def root_gap(self) -> float:
        """``(objective - lp_relaxation) / |objective|``: how far the LP relaxation lies
        below the MILP's solution (0 for a tight formulation; NaN without a relaxation)."""
        if not (np.isfinite(self.lp_relaxation) and np.isfinite(self.objective)):
            return float("nan")
        return (self.objective - self.lp_relaxation) / max(abs(self.objective), 1e-12)

    # ------------------------------------------------------------------ output
    def job_power_mw(self, job: str) -> pd.Series:
        """Hourly IT power of one job [MW] on the full index (zero outside its window)."""
        import pandas as pd

        if job not in set(self.jobs.get("job", [])):
            raise KeyError(f"no job named {job!r}")
        rows = self.job_power[self.job_power["job"] == job]
        out = pd.Series(0.0, index=self.hourly.index, name=job)
        out.loc[pd.DatetimeIndex(rows["time"])] = rows["power_mw"].to_numpy()
        return out

    def summary(self) -> str:
        """A short text: status, objective, cost terms and KPIs."""
        lines = [f"scenario {self.scenario_name!r}: {self.status} (backend {self.backend})"]
        if self.diagnosis:
            lines.append(f"  diagnosis: {self.diagnosis}")
        if not self.has_solution:
            return "\n".join(lines)
        lines.append(f"  objective     {self.objective:,.2f}")
        if self.mip_gap:
            lines.append(f"  mip gap       {self.mip_gap:.2e}")
        if np.isfinite(self.root_gap):
            lines.append(f"  LP relaxation {self.lp_relaxation:,.2f} (root gap {self.root_gap:.2%})")
        lines.append("  cost terms:")
        for k, v in self.costs.items():
            lines.append(f"    {k:<22}{v:>18,.2f}")
        lines.append("  KPIs:")
        for k, v in self.kpis.items():
            lines.append(f"    {k:<22}{v:>18,.4f}")
        if len(self.demand_charges):
            lines.append("  demand charges (rate x hours in horizon / hours in month x peak):")
            for row in self.demand_charges.itertuples(index=False):
                lines.append(
                    f"    {row.site} {row.month}  {row.hours_in_horizon:>4d}/{row.hours_in_month:<4d}"
                    f" h  factor {row.factor:.4f}  peak {row.peak_mw:,.3f} MW  "
                    f"charge {row.charge:,.2f}")
        for row in self.tables.get("lease_sizing", _empty_frame()).itertuples(index=False):
            lines.append(f"  lease {row.plant}/{row.tenant}: {row.max_leased_energy_mwh:,.3f} MWh"
                         f" {row.max_leased_power_mw:,.3f} MW (max over {row.periods} "
                         f"{row.period}s), {row.annual_cost:,.2f} a year")
        t = self.timings
        lines.append(
            "  times [s]: " + ", ".join(f"{k[:-2]} {v:.3f}" for k, v in t.items())
        )
        if self.network_rounds is not None:
            lines.append("  network rounds:")
            lines.extend("    " + ln for ln in self.network_rounds.to_string(
                index=False, float_format=lambda v: f"{v:,.4f}").splitlines())
        checks = self.network_check
        if checks is not None:
            for c in (checks.values() if isinstance(checks, dict) else [checks]):
                lines.append("  " + c.summary().replace("\n", "\n  "))
        return "\n".join(lines)

    def summary_dict(self) -> dict[str, Any]:
        """Everything but the hourly table, as JSON-ready data."""
        nan_none = lambda v: None if isinstance(v, float) and np.isnan(v) else v
        return {
            "scenario": self.scenario_name,
            "status": str(self.status),
            "backend": self.backend,
            "solver_status": self.solver_status,
            "objective": nan_none(float(self.objective)),
            "mip_gap": nan_none(float(self.mip_gap)),
            "lp_relaxation": nan_none(float(self.lp_relaxation)),
            "iterations": int(self.iterations),
            "diagnosis": self.diagnosis,
            "costs": {k: float(v) for k, v in self.costs.items()},
            "kpis": {k: nan_none(float(v)) for k, v in self.kpis.items()},
            "timings": {k: float(v) for k, v in self.timings.items()},
            "jobs": json.loads(self.jobs.to_json(orient="records")) if len(self.jobs) else [],
            "demand_charges": (json.loads(self.demand_charges.to_json(orient="records"))
                               if len(self.demand_charges) else []),
            **({"outages": json.loads(self.outages.drop(columns="time").to_json(
                orient="records"))} if len(self.outages) else {}),
            **({"investment": json.loads(self.investment.to_json(orient="records"))}
               if len(self.investment) else {}),
            **({"lease_sizing": json.loads(self.tables["lease_sizing"].to_json(
                orient="records"))} if "lease_sizing" in self.tables else {}),
            **({"network_rounds": json.loads(self.network_rounds.to_json(orient="records"))}
               if self.network_rounds is not None else {}),
            **({"network_check": {c.site: {"passed": c.passed, "violations": c.counts()}
                                  for c in (self.network_check.values()
                                            if isinstance(self.network_check, dict)
                                            else [self.network_check])}}
               if self.network_check is not None else {}),
        }

    def to_parquet(self, directory: str | Path) -> Path:
        """Write ``hourly.parquet``, ``jobs.parquet``, ``job_power.parquet``, ``outages.parquet``
        (with outage scenarios) and ``summary.json`` into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.hourly.to_parquet(out / "hourly.parquet")
        if len(self.jobs):
            self.jobs.to_parquet(out / "jobs.parquet")
            self.job_power.to_parquet(out / "job_power.parquet")
        if len(self.outages):
            self.outages.to_parquet(out / "outages.parquet")
        for name in ("placement", "tenants", "certificates"):
            if len(getattr(self, name)):
                getattr(self, name).to_parquet(out / f"{name}.parquet")
        (out / "summary.json").write_text(json.dumps(self.summary_dict(), indent=1))
        return out

    def plot(self, path: str | Path | None = None, start_h: int = 0, hours: int = 168,
             site: str | None = None):
        """Dispatch plot of one site (``site``, required when there are several) for ``hours``
        hours from ``start_h``: supply stack vs facility load, battery state of charge, grid
        import price. Returns the matplotlib figure; a window outside the horizon or an
        unknown site raises ``ValueError`` (see :func:`engine.results.plotting.plot_dispatch`)."""
        from engine.results.plotting import plot_dispatch

        return plot_dispatch(self, path=path, start_h=start_h, hours=hours, site=site)

    def to_html(self, path: str | Path, week_start_h: int | None = None,
                site: str | None = None) -> Path:
        """Write one offline HTML report (KPIs, cost terms, per site a week of dispatch, the
        horizon as daily energy, SOC and CFE heatmaps; job schedule, tenant ledger and
        network check where present); see :mod:`engine.results.report`. Returns the path."""
        from engine.results._report_render import render_result

        return render_result(self, path, week_start_h=week_start_h, site=site)


def empty_result(status: Status, scenario_name: str, backend: str, timings: dict,
                 diagnosis: str = "", solver_status: str = "", iterations: int = 0) -> Result:
    """A result without a solution (infeasible, unbounded, error)."""
    import pandas as pd

    return Result(
        status=status, objective=float("nan"), costs=pd.Series(dtype=float),
        kpis=pd.Series(dtype=float), hourly=pd.DataFrame(), jobs=pd.DataFrame(),
        timings=timings, backend=backend, diagnosis=diagnosis, solver_status=solver_status,
        iterations=iterations, scenario_name=scenario_name,
        mip_gap=float("nan"),  # no solution: no gap (0 would read as a proven optimum)
    )
