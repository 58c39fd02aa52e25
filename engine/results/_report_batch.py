"""The comparison page of a batch store: KPIs across the sweep, cost against green share, the
Pareto front.

Written against a summary table with one row per scenario: ``id``, ``status``,
``objective``, KPI and cost columns (``total_cost``, ``green_share``, ...; a ``kpi.`` /
``kpis.`` / ``cost.`` / ``costs.`` prefix is accepted) and the swept values, whose columns
are the dotted paths into the scenario (``sites[0].batteries[0].energy_mwh``,
``policy.carbon_price_per_t``). :func:`read_store` reads such a table from a store
directory (``summary/`` dataset or ``summary.parquet``, else every Parquet file in it).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.results import _report_charts as charts
from engine.results._report_html import esc, page, table

__all__ = ["batch_report", "pareto_front", "read_store", "swept_columns"]

#: Column prefixes of metrics (not swept values) in a store's summary.
METRIC_PREFIXES = ("kpi.", "kpis.", "cost.", "costs.", "timing.", "timings.", "time.")
#: Columns shown first in the KPI table, when present.
SHOWN = ("total_cost", "green_share", "cfe_score", "emissions_t", "pue", "cost_per_gpu_hour",
         "grid_import_mwh", "peak_import_mw", "unserved_mwh", "job_completion")


def read_store(d: str | Path) -> Any:
    """The summary table of a batch store directory: a store written by :mod:`engine.batch`
    (``_batch/manifest.json``; its manifest goes to ``frame.attrs["batch"]``), else a
    ``summary`` dataset or ``summary.parquet``, else every Parquet file in the directory."""
    import pandas as pd

    d = Path(d)
    manifest = d / "_batch" / "manifest.json"
    if manifest.is_file():
        from engine.batch.store import read_store as read_batch_store

        frame = read_batch_store(d)
        frame.attrs["batch"] = json.loads(manifest.read_text())
        return frame
    for cand in (d / "summary", d / "summary.parquet"):
        if cand.exists():
            return pd.read_parquet(cand)
    files = sorted(p for p in d.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{d}: no batch store here (no summary dataset, no Parquet "
                                "files)")
    return pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)


def _metric(df: Any, name: str) -> str | None:
    for c in (name, *(p + name for p in METRIC_PREFIXES)):
        if c in df:
            return c
    return None


def swept_columns(df: Any) -> list[str]:
    """Columns that hold swept values: dotted paths into the scenario (``a.b``, ``a[0].b``),
    not metric columns; a ``swept.``/``param.`` prefix also marks one."""
    return [c for c in df.columns if isinstance(c, str) and ("." in c or "[" in c)
            and not c.startswith(METRIC_PREFIXES)]


def pareto_front(cost: np.ndarray, green: np.ndarray) -> np.ndarray:
    """Boolean mask of the points not dominated for (minimum cost, maximum green share):
    no other point is at most as costly and at least as green, and better in one (equal
    points, to 1e-9 relative, are all on the front)."""
    cost = np.asarray(cost, float)
    green = np.asarray(green, float)
    ok = np.isfinite(cost) & np.isfinite(green)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((-green[idx], cost[idx]))]  # cost up, then greener first
    front = np.zeros(len(cost), bool)
    best, at = -np.inf, np.nan
    for i in order:
        if green[i] > best or (np.isclose(green[i], best, rtol=1e-9, atol=0)
                               and np.isclose(cost[i], at, rtol=1e-9, atol=0)):
            front[i] = True
            best, at = green[i], cost[i]
    return front


def batch_report(store: Any, path: str | Path, swept: list[str] | None = None,
                 currency: str = "currency") -> Path:
    """Write the comparison page of a batch.

    Parameters
    ----------
    store : path or pandas.DataFrame
        A store directory (read by :func:`read_store`) or its summary table.
    path : path
        The HTML file to write.
    swept : list of str, optional
        The swept-value columns (default :func:`swept_columns`).
    currency : str

    Returns
    -------
    Path of the file written.
    """
    import pandas as pd

    src = store if isinstance(store, pd.DataFrame) else read_store(store)
    meta = src.attrs.get("batch", {})
    df = src.reset_index(drop=True)
    name = ("batch " + str(meta.get("name") or (Path(store).name if not isinstance(
        store, pd.DataFrame) else ""))).strip()
    if swept is None:
        swept = [p for p in meta.get("paths", []) if p in df] or swept_columns(df)
    swept = list(swept)
    id_col = "id" if "id" in df else "scenario_id" if "scenario_id" in df else None
    status = df["status"].astype(str) if "status" in df else pd.Series("optimal", index=df.index)
    counts = status.value_counts()
    body = [f"<header><h1>{esc(name)}</h1><p class='facts'><b>scenarios</b> {len(df):,} "
            + "".join(f"&middot; <b>{esc(k)}</b> {v:,} " for k, v in counts.items())
            + (f"&middot; <b>swept</b> {esc(', '.join(swept))}" if swept else "")
            + "</p></header>"]
    nav = [("front", "Pareto front"), ("kpis", "KPIs across the sweep")]
    cost_col = _metric(df, "total_cost") or ("objective" if "objective" in df else None)
    green_col = _metric(df, "green_share")
    solved = status.isin(["optimal", "time_limit"]).to_numpy()
    body.append("<section id='front'><h2>Cost against green share</h2>")
    front = np.zeros(len(df), bool)
    if cost_col and green_col and solved.any():
        cost = pd.to_numeric(df[cost_col], errors="coerce").to_numpy(float, copy=True)
        green = pd.to_numeric(df[green_col], errors="coerce").to_numpy(float, copy=True)
        cost[~solved] = np.nan
        front = pareto_front(cost, green)
        ok = np.isfinite(cost) & np.isfinite(green)
        numeric = [c for c in swept if pd.api.types.is_numeric_dtype(df[c])
                   and df[c].nunique() > 1]
        colour = df[numeric[0]].to_numpy(float)[ok] if numeric else None
        fig = charts.pareto_scatter(cost[ok], green[ok], front[ok], colour,
                                    numeric[0] if numeric else None, currency)
        body.append(f"<figure class='chart narrow'>{charts.svg(fig)}</figure>")
        if (~ok).any():
            body.append(f"<p class='note'>{int((~ok).sum())} scenario(s) without a solution or "
                        "without these figures are not plotted.</p>")
        shown = [c for c in (id_col, *swept, cost_col, green_col) if c in df]
        fr = df.loc[front, shown].sort_values(green_col).rename(
            columns={cost_col: "total cost", green_col: "green share"})
        body.append(f"<h3>Pareto front: {len(fr)} non-dominated scenario(s)</h3>"
                    + table(fr))
    else:
        body.append("<p class='note'>No scatter: the store has no solved scenario with "
                    "total_cost (or objective) and green_share.</p>")
    body.append("</section>")

    metrics = [c for k in SHOWN if (c := _metric(df, k)) is not None and c != cost_col]
    cols = [c for c in (id_col, "status", *swept, "objective", *([cost_col] if cost_col
            and cost_col != "objective" else []), *metrics, "error") if c in df]
    # further KPIs and cost terms, then the time per scenario
    rest = [c for c in df.columns if c not in cols and c not in swept
            and pd.api.types.is_numeric_dtype(df[c])
            and (c.startswith(METRIC_PREFIXES[:4]) or c in SHOWN or c == "total_s")]
    view = df[cols + rest]
    order = df.sort_values(cost_col, na_position="last").index if cost_col else df.index
    short = {c: c.split(".", 1)[1] for c in view.columns if c.startswith(("kpi.", "kpis."))}
    if len(set(short.values()) | (set(view.columns) - set(short))) == len(view.columns):
        view = view.rename(columns=short)  # kpi.green_share -> green_share when unambiguous
    body.append("<section id='kpis'><h2>KPIs across the sweep</h2>"
                "<p class='note'>Sorted by cost; Pareto-front rows highlighted.</p>"
                + table(view.loc[order], highlight=front[order], max_rows=1000)
                + "</section>")
    return page(name, body, Path(path), nav)
