"""Tenants' hourly green-power ledger and granular certificates.

Every hour each consumer at a site bus takes the bus's traced mix ``m[s, t, k]`` (sources
``k``, the battery a mixing tank of what charged it). At a site with storage the Cython tank
:func:`kernels.trace.trace_consumers` attributes the hour's pool to the consumers (tenants)
directly, the batteries' mixed-source discharge ``d[s, t, k]`` (by the sources that charged
them) pro rata with the rest, so every consumer of the hour gets the same shares and its
part of the discharge::

    V[n, s, t, k] = d[s, t, k] * C[n, s, t] / sum_k pool[s, t, k]   (``via_storage_mwh``)

A
tenant's consumption at site ``s`` in hour ``t`` is the facility energy of its jobs and
inference (``PUE x IT``) plus the transfer energy its jobs' data drew there::

    E[n, s, t, k] = m[s, t, k] * C[n, s, t]                       (certificates, MWh)
    sum_k E[n, s, t, k] = C[n, s, t]          (sum_k m = 1 in every hour with supply)
    CFE[n, t] = sum_{s, k clean} E / sum_{s, k} E,   score = sum clean / sum C
    emissions_avg[n] = sum_{s,t} (E[grid_clean] + E[grid_fossil]) ef_avg[s, t] / 1000  [t]
    (and likewise with the marginal factor: emissions_marginal[n])
    avoided[n] = sum C ef_avg / 1000 - emissions_avg[n]      (against all-grid supply)

The load no tenant owns is ledgered under ``tenant = ""``, so the certificates of a site
and hour also sum to what its sources delivered to the facility and the transfers.
Certificates follow EnergyTag's granular-certificate fields (production device and energy
source, production start/end of the hour, consumption site, volume in MWh, the account
holder as the tenant).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.components.base import Extraction
from kernels.trace import trace_consumers

__all__ = ["ledger"]

#: EnergyTag energy-source names of the traced sources.
_SOURCE = {"pv": "solar", "wind": "wind", "hydro": "hydro", "grid_clean": "grid_clean",
           "grid_fossil": "grid_fossil", "genset": "fossil_diesel", "unserved": "unserved",
           "storage_initial": "storage_initial"}


def _consumers(r: Extraction) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """``(tenant, site, t, MWh)`` of every owned load: one-site jobs (their facility energy)
    and what the placement listed (placed jobs, inference, transfers)."""
    f = r.f
    out = list(r.tables.get("consumers", []))
    meta = f.meta.get("job")
    if meta is not None:
        owner = {j.name: j.tenant for j in f.data.scenario.jobs}
        tenant = np.array([owner.get(n) or "" for n in meta["names"]], dtype=object)
        p = r.val("job/power_mw") * meta["pue"]
        ten = tenant[meta["job_of"]]
        for name in set(ten):
            if name:
                sel = ten == name
                out.append((name, meta["site"][sel], meta["t_of"][sel], p[sel]))
    return out


def ledger(r: Extraction, sources: list[str], mixes: np.ndarray, clean: list[int],
           sink_mw: np.ndarray, storage: list | None = None) -> dict[str, Any]:
    """Certificates, the per-tenant report and hourly CFE columns.

    Parameters
    ----------
    r : Extraction
        After every component and the traceability.
    sources : list of str
        Traced sources (axis ``k``).
    mixes : (S, T, K) array
        Source shares of what each site bus delivered in each hour.
    clean : list of int
        Positions of the carbon-free sources.
    sink_mw : (S, T) array
        Facility load plus transfer energy of each site (what the ledger attributes).
    storage : list, optional
        Per site, the tank kernel's inputs (sites with storage) or None: the consumers'
        energy there comes from :func:`kernels.trace.trace_consumers` with the part the
        batteries discharged (``via_storage_mwh``); elsewhere it is ``mix x C``.

    Returns
    -------
    dict
        ``certificates`` and ``tenants`` DataFrames; adds ``tenant.<name>/consumption_mw``,
        ``tenant.<name>/cfe`` and ``site.<site>/cfe`` columns to ``r.columns``.
    """
    import pandas as pd

    f = r.f
    S, T, K = mixes.shape
    cons = _consumers(r)
    names = sorted({c[0] for c in cons})
    N = len(names) + 1  # the last: load no tenant owns
    C = np.zeros((N, S, T))
    for name, site, t, mwh in cons:
        np.add.at(C[names.index(name)], (site, t), mwh)
    C[-1] = np.maximum(sink_mw - C[:-1].sum(axis=0), 0.0)
    E_all, V_all = _attribute(mixes, C, storage)
    grid = f.meta.get("grid")
    ef, ef_m = np.zeros((S, T)), np.zeros((S, T))
    price = np.zeros((S, T))
    if grid is not None:
        ef[grid["site"]] = grid["emission_kg_per_mwh"]
        ef_m[grid["site"]] = grid["marginal_kg_per_mwh"]
        price[grid["site"]] = grid["import_price"]
    k_grid = [k for k, s in enumerate(sources) if s in ("grid_clean", "grid_fossil")]
    rows, report = [], []
    index = f.data.index
    hour = pd.Timedelta(hours=1)
    site_names = r.site_names
    device = np.array([[f"{s}/{k}" for k in sources] for s in site_names], dtype=object)
    for n, tenant in enumerate([*names, ""]):
        E, V = E_all[n], V_all[n]  # (S, T, K)
        total = C[n].sum(axis=0)
        clean_t = E[:, :, clean].sum(axis=(0, 2))
        if tenant:
            r.columns[f"tenant.{tenant}/consumption_mw"] = total
            r.columns[f"tenant.{tenant}/cfe"] = np.divide(clean_t, total, out=np.zeros(T),
                                                          where=total > 1e-12)
        s_i, t_i, k_i = np.nonzero(E > 0)
        rows.append(pd.DataFrame({
            "tenant": tenant, "consumption_site": np.array(site_names, dtype=object)[s_i],
            "production_start": index[t_i], "production_end": index[t_i] + hour,
            "source": np.array(sources, dtype=object)[k_i],
            "energy_source": np.array([_SOURCE.get(s, s) for s in sources], dtype=object)[k_i],
            "production_device": device[s_i, k_i],
            "clean": np.isin(k_i, clean), "mwh": E[s_i, t_i, k_i],
            "via_storage_mwh": V[s_i, t_i, k_i]}))
        from_grid = E[:, :, k_grid].sum(axis=2)
        emis = float((from_grid * ef).sum() / 1000.0)
        by_src = E.sum(axis=(0, 1))
        report.append({
            "tenant": tenant, "consumption_mwh": float(total.sum()),
            "clean_mwh": float(clean_t.sum()),
            "cfe_score": float(clean_t.sum() / total.sum()) if total.sum() > 0 else np.nan,
            "emissions_t": emis,
            "emissions_marginal_t": float((from_grid * ef_m).sum() / 1000.0),
            "co2_avoided_t": float((C[n] * ef).sum() / 1000.0) - emis,
            "energy_cost": float((C[n] * price).sum()),
            "via_battery_mwh": float(V.sum()),
            **{f"{src}_mwh": float(by_src[k]) for k, src in enumerate(sources)}})
    for s, name in enumerate(site_names):
        if f.data.sites[s].site.datacenter is not None:
            tot = sink_mw[s]
            r.columns[f"site.{name}/cfe"] = np.divide(mixes[s][:, clean].sum(1) * tot, tot,
                                                       out=np.zeros(T), where=tot > 1e-12)
    certs = pd.concat(rows, ignore_index=True)
    certs.insert(0, "certificate_id", np.arange(len(certs), dtype=np.int64))
    return {"certificates": certs, "tenants": pd.DataFrame(report)}


def _attribute(mixes: np.ndarray, C: np.ndarray, storage: list | None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(N, S, T, K)`` energy of each consumer by source, and the part of it the batteries
    discharged: the tank kernel at sites with storage, ``mix x C`` elsewhere."""
    N, S, T = C.shape
    E = mixes[None, :, :, :] * C[:, :, :, None]
    V = np.zeros_like(E)
    for s, args in enumerate(storage or []):
        if args is None or not C[:, s].any():
            continue
        _, _, by, via = trace_consumers(*args, np.ascontiguousarray(C[:, s].T))
        E[:, s] = by.transpose(1, 0, 2)
        V[:, s] = via.transpose(1, 0, 2)
    return E, V
