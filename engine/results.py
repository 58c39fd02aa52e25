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

from engine.formulation import COST_TERMS, Formulation
from engine.status import Status

# pandas (0.4-0.6 s to import) is imported inside the functions that build frames, so
# that the path to the solve does not wait for it (see engine/_background.py)
if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()

__all__ = ["CLEAN_SOURCES", "TRACE_SOURCES", "Result", "Status"]

#: Original sources of the hourly traceability, in column order.
TRACE_SOURCES = ("pv", "wind", "hydro", "grid_clean", "grid_fossil", "storage_initial", "unserved")
#: Sources that count as carbon-free for the 24/7 CFE score.
CLEAN_SOURCES = ("pv", "wind", "hydro", "grid_clean")


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
    timings : dict
        Seconds: ``prepare_s``, ``build_s``, ``solve_s``, ``extract_s``, ``total_s``.
    mip_gap : float
        Relative MIP gap (0 for LPs).
    diagnosis : str
        For an infeasible model: the constraint groups and hours in conflict.
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
    mip_gap: float = 0.0
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
        lines.append("  cost terms:")
        for k, v in self.costs.items():
            lines.append(f"    {k:<22}{v:>18,.2f}")
        lines.append("  KPIs:")
        for k, v in self.kpis.items():
            lines.append(f"    {k:<22}{v:>18,.4f}")
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
            "mip_gap": float(self.mip_gap),
            "iterations": int(self.iterations),
            "diagnosis": self.diagnosis,
            "costs": {k: float(v) for k, v in self.costs.items()},
            "kpis": {k: nan_none(float(v)) for k, v in self.kpis.items()},
            "timings": {k: float(v) for k, v in self.timings.items()},
            "jobs": json.loads(self.jobs.to_json(orient="records")) if len(self.jobs) else [],
            **({"network_rounds": json.loads(self.network_rounds.to_json(orient="records"))}
               if self.network_rounds is not None else {}),
            **({"network_check": {c.site: {"passed": c.passed, "violations": c.counts()}
                                  for c in (self.network_check.values()
                                            if isinstance(self.network_check, dict)
                                            else [self.network_check])}}
               if self.network_check is not None else {}),
        }

    def to_parquet(self, directory: str | Path) -> Path:
        """Write ``hourly.parquet``, ``jobs.parquet``, ``job_power.parquet`` and ``summary.json``
        into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.hourly.to_parquet(out / "hourly.parquet")
        if len(self.jobs):
            self.jobs.to_parquet(out / "jobs.parquet")
            self.job_power.to_parquet(out / "job_power.parquet")
        (out / "summary.json").write_text(json.dumps(self.summary_dict(), indent=1))
        return out

    def plot(self, path: str | Path | None = None, start_h: int = 0, hours: int = 168,
             site: str | None = None):
        """Dispatch plot of ``hours`` hours from ``start_h``: supply stack vs facility load,
        battery state of charge, grid import price. Returns the matplotlib figure."""
        from engine.plotting import plot_dispatch

        return plot_dispatch(self, path=path, start_h=start_h, hours=hours, site=site)


# ---------------------------------------------------------------------- extraction
def extract(f: Formulation, x: np.ndarray) -> dict[str, Any]:
    """Hourly table, costs, KPIs and jobs from a primal solution, all vectorised."""
    import pandas as pd

    from kernels.trace import trace_mix

    data = f.data
    T, S = f.T, f.S
    vg = f.model.var_groups

    def val(name: str) -> np.ndarray | None:
        """A group's values as a view of ``x`` (groups are consecutive columns)."""
        g = vg.get(name)
        return None if g is None else x[g.start:g.start + g.size].reshape(g.shape)

    cols: dict[str, np.ndarray] = {}
    site_names = [sd.site.name for sd in data.sites]

    # per-site totals used by traceability and KPIs
    tot = {k: np.zeros((S, T)) for k in ("pv", "wind", "hydro", "dis", "ch", "imp", "exp",
                                           "grid_clean", "grid_fossil", "unserved", "flex_it")}
    avail_total = 0.0
    for kind in ("pv", "wind", "hydro"):
        v = val(f"{kind}/power_mw")
        if v is None:
            continue
        meta = f.meta[kind]
        for i, name in enumerate(meta["names"]):
            cols[f"{kind}.{name}/power_mw"] = v[i]
            if kind != "hydro":
                cols[f"{kind}.{name}/curtailed_mw"] = meta["avail_mw"][i] - v[i]
        np.add.at(tot[kind], meta["site"], v)
        if kind != "hydro":
            avail_total += float(meta["avail_mw"].sum())
    bmeta = f.meta.get("battery")
    if bmeta is not None:
        ch, dis, soc = val("battery/charge_mw"), val("battery/discharge_mw"), val("battery/soc_mwh")
        for i, name in enumerate(bmeta["names"]):
            cols[f"battery.{name}/charge_mw"] = ch[i]
            cols[f"battery.{name}/discharge_mw"] = dis[i]
            cols[f"battery.{name}/soc_mwh"] = soc[i]
        np.add.at(tot["ch"], bmeta["site"], ch)
        np.add.at(tot["dis"], bmeta["site"], dis)
    gmeta = f.meta.get("grid")
    peak_import = 0.0
    emissions_t = 0.0
    if gmeta is not None:
        imp = val("grid/import_mw")
        exp = val("grid/export_mw")
        exp = np.zeros_like(imp) if exp is None else exp
        for i, s in enumerate(gmeta["site"]):
            cols[f"grid.{site_names[s]}/import_mw"] = imp[i]
            cols[f"grid.{site_names[s]}/export_mw"] = exp[i]
            cols[f"grid.{site_names[s]}/import_price_per_mwh"] = gmeta["import_price"][i]
        np.add.at(tot["imp"], gmeta["site"], imp)
        np.add.at(tot["exp"], gmeta["site"], exp)
        np.add.at(tot["grid_clean"], gmeta["site"], imp * gmeta["clean_share"])
        np.add.at(tot["grid_fossil"], gmeta["site"], imp * (1.0 - gmeta["clean_share"]))
        # coincident peak of all sites' imports (one site: that site's peak)
        peak_import = float(imp.sum(axis=0).max()) if imp.size else 0.0
        emissions_t = float((imp * gmeta["emission_kg_per_mwh"]).sum() / 1000.0)
    jmeta = f.meta.get("job")
    jobs_df = pd.DataFrame()
    job_power = pd.DataFrame({"job": pd.Series(dtype=str), "time": pd.Series(dtype=object),
                              "power_mw": pd.Series(dtype=float)})
    if jmeta is not None:
        flex = val("job/power_mw")
        job_of, t_of = jmeta["job_of"], jmeta["t_of"]
        J = len(jmeta["names"])
        np.add.at(tot["flex_it"], (jmeta["site"], t_of), flex)
        jd = data.jobs
        delivered = np.bincount(job_of, weights=flex, minlength=J)
        prices = np.array([sd.grid_import_price if sd.grid_import_price.size else np.zeros(T)
                           for sd in data.sites])
        paid = np.bincount(job_of, weights=flex * prices[jmeta["site"], t_of], minlength=J)
        jobs_df = pd.DataFrame({
            "job": jd.names,
            "site": [site_names[s] for s in jd.site],
            "release_h": jd.release,
            "deadline_h": jd.deadline,
            "energy_mwh": jd.energy_mwh,
            "delivered_mwh": delivered,
            "max_power_mw": jd.max_power_mw,
            # energy-weighted grid import price over the job's hours (a diagnostic)
            "mean_price_per_mwh": np.divide(paid, delivered, out=np.full(J, np.nan),
                                            where=delivered > 0),
        })
        # long format: one row per in-window hour (a wide table would hold J x T mostly zeros)
        job_power = pd.DataFrame({
            "job": pd.Categorical.from_codes(job_of, categories=list(jmeta["names"])),
            "time": data.index[t_of],
            "power_mw": flex,
        })
    tot["unserved"] = val("bus/unserved_mw")

    pue = np.array([sd.pue for sd in data.sites])
    inflex = np.array([sd.inflexible_it_mw for sd in data.sites])
    it = inflex + tot["flex_it"]
    facility = pue * it
    for s, name in enumerate(site_names):
        if data.sites[s].site.datacenter is None:
            continue
        cols[f"datacenter.{name}/it_mw"] = it[s]
        cols[f"datacenter.{name}/flexible_it_mw"] = tot["flex_it"][s]
        cols[f"datacenter.{name}/facility_mw"] = facility[s]
        cols[f"datacenter.{name}/pue"] = pue[s]
        cols[f"bus.{name}/unserved_mw"] = tot["unserved"][s]

    # traceability: battery as a mixing tank of what it stored, per site
    clean_facility = np.zeros((S, T))
    K = len(TRACE_SOURCES)
    for s, name in enumerate(site_names):
        direct = np.stack([tot["pv"][s], tot["wind"][s], tot["hydro"][s], tot["grid_clean"][s],
                           tot["grid_fossil"][s], np.zeros(T), tot["unserved"][s]], axis=1)
        sel = np.flatnonzero(bmeta["site"] == s) if bmeta is not None else np.zeros(0, int)
        if sel.size:
            init = np.zeros((sel.size, K))
            init[:, TRACE_SOURCES.index("storage_initial")] = 1.0
            mix, _ = trace_mix(direct, dis[sel].T, ch[sel].T, bmeta["soc0_mwh"][sel],
                               bmeta["charge_efficiency"][sel], bmeta["discharge_efficiency"][sel],
                               bmeta["self_discharge_per_h"][sel], init)
        else:
            den = direct.sum(axis=1, keepdims=True)
            mix = np.divide(direct, den, out=np.zeros_like(direct), where=den > 1e-12)
        attributed = mix * facility[s][:, None]
        if data.sites[s].site.datacenter is not None:
            for k, src in enumerate(TRACE_SOURCES):
                cols[f"trace.{name}/{src}_mw"] = attributed[:, k]
            if sel.size:
                via = facility[s] * np.divide(tot["dis"][s], direct.sum(1) + tot["dis"][s],
                                              out=np.zeros(T), where=direct.sum(1) + tot["dis"][s] > 1e-12)
                cols[f"trace.{name}/via_battery_mw"] = via
        clean_facility[s] = attributed[:, [TRACE_SOURCES.index(c) for c in CLEAN_SOURCES]].sum(1)
        del direct, mix, attributed  # (T, sources) each: not kept while the table is built

    lmeta = f.meta.get("network_losses")
    if lmeta is not None:
        for i, s in enumerate(lmeta["site"]):
            cols[f"network.{site_names[s]}/losses_mw"] = val("network/losses_mw")[i]
    # one (columns, hours) block filled column by column while the dict lets go of each
    # array: pandas takes the block as it is, so the table is never held twice
    names = list(cols)
    block = np.empty((len(names), T))
    for j, name in enumerate(names):
        block[j] = cols.pop(name)
    hourly = pd.DataFrame(block.T, index=data.index, columns=names, copy=False)
    hourly.index.name = "time"

    # costs
    costs = pd.Series({t: 0.0 for t in COST_TERMS}, dtype=float)
    for term, parts in f.costs.items():
        costs[term] = sum(float(np.sum(x[c] * coef)) + const for c, coef, const in parts)

    # KPIs
    it_mwh = float(it.sum())
    fac_mwh = float(facility.sum())
    # shed load is not green: the share is of the facility's demand, as the floor's is
    fossil = float(tot["grid_fossil"].sum() + tot["unserved"].sum())
    total = float(costs.sum())
    gpu_h = 0.0
    for s, sd in enumerate(data.sites):
        dc = sd.site.datacenter
        if dc is not None:
            gpu_h += float(it[s].sum()) * 1000.0 / dc.it_power_per_gpu_kw
    caps = bmeta["energy_mwh"].sum() if bmeta is not None else 0.0
    renew = float(tot["pv"].sum() + tot["wind"].sum())
    div = lambda a, b: a / b if b else float("nan")
    kpis = pd.Series({
        "total_cost": total,
        "energy_cost": costs["energy"],
        "export_revenue": -costs["export_revenue"],
        "demand_charge": costs["demand_charge"],
        "degradation_cost": costs["degradation"],
        "carbon_cost": costs["carbon"],
        "curtailment_cost": costs["curtailment"],
        "unserved_cost": costs["unserved"],
        "it_energy_mwh": it_mwh,
        "facility_energy_mwh": fac_mwh,
        "pue": div(fac_mwh, it_mwh),
        "green_share": 1.0 - div(fossil, fac_mwh) if fac_mwh else float("nan"),
        "cfe_score": div(float(clean_facility.sum()), fac_mwh),
        "emissions_t": emissions_t,
        "cue_kg_per_kwh": div(emissions_t, it_mwh),
        "renewable_generation_mwh": renew,
        "curtailment_mwh": avail_total - renew,
        "grid_import_mwh": float(tot["imp"].sum()),
        "grid_export_mwh": float(tot["exp"].sum()),
        "unserved_mwh": float(tot["unserved"].sum()),
        "peak_import_mw": peak_import,
        "battery_cycles": div(float(tot["dis"].sum()), float(caps)) if caps else 0.0,
        "cost_per_gpu_hour": div(total, gpu_h),
        "cost_per_mwh_it": div(total, it_mwh),
        "job_completion": float(jobs_df["delivered_mwh"].sum() / jobs_df["energy_mwh"].sum())
        if len(jobs_df) and jobs_df["energy_mwh"].sum() > 0 else 1.0,
    })
    return {"hourly": hourly, "costs": costs, "kpis": kpis, "jobs": jobs_df,
            "job_power": job_power}


def empty_result(status: Status, scenario_name: str, backend: str, timings: dict,
                 diagnosis: str = "", solver_status: str = "", iterations: int = 0) -> Result:
    """A result without a solution (infeasible, unbounded, error)."""
    import pandas as pd

    return Result(
        status=status, objective=float("nan"), costs=pd.Series(dtype=float),
        kpis=pd.Series(dtype=float), hourly=pd.DataFrame(), jobs=pd.DataFrame(),
        timings=timings, backend=backend, diagnosis=diagnosis, solver_status=solver_status,
        iterations=iterations, scenario_name=scenario_name,
    )
