"""Reading a solution: each component's columns, then traceability, costs and KPIs.

Every component writes its own hourly columns, traceability sources and KPIs into an
:class:`~engine.components.base.Extraction` (in registry order); this module adds what
belongs to no single component: unserved energy, the hourly traceability (the battery as a
mixing tank of what it stored, :func:`kernels.trace.trace_mix`), the cost terms priced
with the model's own cost records, and the KPIs that combine components.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.components.base import Extraction
from engine.model import balance
from engine.model.formulation import COST_TERMS, Formulation

__all__ = ["CLEAN_SOURCES", "KPI_DEFAULTS", "TRACE_SOURCES", "extract", "summarize"]

#: Original sources of the hourly traceability of the built-in components, in column order
#: (a component may add a source of its own; it comes after these).
TRACE_SOURCES = ("pv", "wind", "hydro", "grid_clean", "grid_fossil", "storage_initial", "unserved")
#: Built-in sources that count as carbon-free for the 24/7 CFE score.
CLEAN_SOURCES = ("pv", "wind", "hydro", "grid_clean")
#: KPIs of components, with their value when the component is absent.
KPI_DEFAULTS = {
    "emissions_t": 0.0, "renewable_generation_mwh": 0.0, "curtailment_mwh": 0.0,
    "grid_import_mwh": 0.0, "grid_export_mwh": 0.0, "unserved_mwh": 0.0,
    "peak_import_mw": 0.0, "battery_cycles": 0.0, "job_completion": 1.0,
}


def extract(f: Formulation, x: np.ndarray) -> dict[str, Any]:
    """Hourly table, costs, KPIs and job tables from a primal solution, all vectorised."""
    import pandas as pd

    r, clean_facility, mixes = _read(f, x)
    tenants = _ledger(r, mixes)

    # one (columns, hours) block filled column by column while the dict lets go of each
    # array: pandas takes the block as it is, so the table is never held twice
    cols = r.columns
    col_names = list(cols)
    block = np.empty((len(col_names), f.T))
    for j, name in enumerate(col_names):
        block[j] = cols.pop(name)
    hourly = pd.DataFrame(block.T, index=f.data.index, columns=col_names, copy=False)
    hourly.index.name = "time"

    costs = _costs(f, x)
    kpis = _kpis(r, costs, clean_facility)
    return {"hourly": hourly, "costs": costs, "kpis": kpis, "jobs": r.tables["jobs"],
            "job_power": r.tables["job_power"],
            "demand_charges": r.tables.get("demand_charges", pd.DataFrame()),
            "outages": r.tables.get("outages", pd.DataFrame()),
            "investment": r.tables.get("investment", pd.DataFrame()),
            "placement": r.tables.get("placement", pd.DataFrame()), **tenants,
            "tables": {k: v for k, v in r.tables.items() if isinstance(v, pd.DataFrame)
                       and k not in ("jobs", "job_power", "demand_charges", "outages",
                                     "investment", "placement")}}


def _ledger(r: Extraction, mixes: tuple) -> dict[str, Any]:
    """Tenants' ledger and certificates (:mod:`engine.results.ledger`) when the scenario
    has tenants or placed jobs; empty tables otherwise."""
    import pandas as pd

    sc = r.f.data.scenario
    if not getattr(sc, "tenants", None) and r.f.data.extra.get("placement") is None:
        return {"tenants": pd.DataFrame(), "certificates": pd.DataFrame()}
    from engine.results.ledger import ledger

    sources, mix, clean, storage = mixes
    sink = r.facility_mw + r.tables.get("transfer_mw", 0.0)
    return ledger(r, sources, mix, clean, sink, storage)


def summarize(f: Formulation, x: np.ndarray) -> dict[str, Any]:
    """The costs and KPIs of :func:`extract` without the hourly table (a batch's summary row).

    Returns
    -------
    dict
        ``costs`` and ``kpis`` (pandas Series), equal to :func:`extract`'s.
    """
    # no report tables (the per-job tables in pandas were ~15 % of a mapped scenario)
    r, clean_facility, _ = _read(f, x, tables=False)
    costs = _costs(f, x)
    return {"costs": costs, "kpis": _kpis(r, costs, clean_facility)}


def _read(f: Formulation, x: np.ndarray, tables: bool = True
          ) -> tuple[Extraction, np.ndarray, tuple]:
    """Every component's extraction, the balance's and the traceability (the clean part of
    each site's facility load and the source mixes, see :func:`_trace`); ``tables`` False:
    without the report tables that feed no cost or KPI."""
    r = Extraction(f, x, want_tables=tables)
    for c in f.data.components:
        if c.extract is not None:
            c.extract(r)
    balance.extract(r)
    names = r.site_names
    unserved = r.supply["unserved"]
    for s, sd in enumerate(f.data.sites):
        if sd.site.datacenter is not None:
            r.columns[f"bus.{names[s]}/unserved_mw"] = unserved[s]
    clean_facility, mixes = _trace(r)
    return r, clean_facility, mixes


def _costs(f: Formulation, x: np.ndarray) -> Any:
    import pandas as pd

    terms = list(COST_TERMS) + [t for t in f.costs if t not in COST_TERMS]
    costs = dict.fromkeys(terms, 0.0)
    for term, parts in f.costs.items():
        costs[term] = sum(float(np.sum(x[c] * coef)) + const for c, coef, const in parts)
    return pd.Series(costs, dtype=float)


def _trace(r: Extraction) -> tuple[np.ndarray, tuple]:
    """``trace.<site>/<source>_mw`` columns at sites with a data center; returns the clean
    part of each site's facility load ``(S, T)`` and ``(sources, mix (S, T, K), clean,
    storage)``, ``storage[s]`` the tank kernel's inputs at a site with storage (else None),
    for the per-consumer attribution of the ledger."""
    from kernels.trace import trace_mix

    f = r.f
    S, T = f.S, f.T
    extra = [s for s in r.supply if s not in TRACE_SOURCES]
    sources = list(TRACE_SOURCES) + extra
    clean = [k for k, src in enumerate(sources) if src in CLEAN_SOURCES or src in r.clean]
    K = len(sources)
    k_init = sources.index("storage_initial")
    zero = np.zeros(T)
    clean_facility = np.zeros((S, T))
    mixes = np.zeros((S, T, K))
    storage: list = [None] * S
    facility = r.facility_mw
    for s, name in enumerate(r.site_names):
        direct = np.stack([r.supply[src][s] if src in r.supply else zero for src in sources],
                          axis=1)
        ch = [g["charge"][g["site"] == s] for g in r.storage]
        sel = [np.flatnonzero(g["site"] == s) for g in r.storage]
        n = sum(i.size for i in sel)
        if n:
            cat = lambda key: np.concatenate([g[key][i] for g, i in zip(r.storage, sel)])
            dis = np.concatenate([g["discharge"][i] for g, i in zip(r.storage, sel)])
            init = np.zeros((n, K))
            init[:, k_init] = 1.0
            storage[s] = (direct, dis.T, np.concatenate(ch).T, cat("soc0_mwh"),
                          cat("charge_efficiency"), cat("discharge_efficiency"),
                          cat("self_discharge_per_h"), init)
            mix, _ = trace_mix(*storage[s])
            dis_total = dis.sum(axis=0)
        else:
            den = direct.sum(axis=1, keepdims=True)
            mix = np.divide(direct, den, out=np.zeros_like(direct), where=den > 1e-12)
        mixes[s] = mix
        attributed = mix * facility[s][:, None]
        if f.data.sites[s].site.datacenter is not None:
            for k, src in enumerate(sources):
                r.columns[f"trace.{name}/{src}_mw"] = attributed[:, k]
            if n:
                into = direct.sum(1) + dis_total
                r.columns[f"trace.{name}/via_battery_mw"] = facility[s] * np.divide(
                    dis_total, into, out=np.zeros(T), where=into > 1e-12)
        clean_facility[s] = attributed[:, clean].sum(1)
        del direct, mix, attributed  # (T, sources) each: not kept while the table is built
    return clean_facility, (sources, mixes, clean, storage)


def _kpis(r: Extraction, costs: Any, clean_facility: np.ndarray) -> Any:
    import pandas as pd

    k = {**KPI_DEFAULTS, **r.kpis}
    it_mwh = float(r.it_mw.sum())
    fac_mwh = float(r.facility_mw.sum())
    # shed load is not green: the share is of the facility's demand, as the floor's is
    fossil = sum(float(v.sum()) for src, v in r.supply.items()
                 if src not in CLEAN_SOURCES and src not in r.clean)
    total = float(costs.sum())
    gpu_h = k.pop("gpu_hours", 0.0)
    div = lambda a, b: a / b if b else float("nan")
    out = {
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
        # renewable energy factor (ISO/IEC 30134-3), matched over the horizon: clean supply
        # (on-site renewables, grid clean share) over all supply the site buses received
        "ref": div(sum(float(v.sum()) for src, v in r.supply.items()
                       if src in CLEAN_SOURCES or src in r.clean),
                   sum(float(v.sum()) for v in r.supply.values())),
        "emissions_t": k.pop("emissions_t"),
        "cue_kg_per_kwh": div(r.kpis.get("emissions_t", 0.0), it_mwh),
    }
    for name in ("renewable_generation_mwh", "curtailment_mwh", "grid_import_mwh",
                 "grid_export_mwh", "unserved_mwh", "peak_import_mw", "battery_cycles"):
        out[name] = k.pop(name)
    out["cost_per_gpu_hour"] = div(total, gpu_h)
    out["cost_per_mwh_it"] = div(total, it_mwh)
    out["job_completion"] = k.pop("job_completion")
    out.update(k)  # KPIs of further components
    return pd.Series(out)
