"""Dispatch plots (matplotlib, imported only when a plot is made)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_dispatch(result, path: str | Path | None = None, start_h: int = 0, hours: int = 168,
                  site: str | None = None):
    """Three panels: supply stack vs facility load, battery SOC, import price.

    Parameters
    ----------
    result : Result
    path : path, optional
        Where to save a PNG (the figure is returned either way).
    start_h, hours : int
        The window to show.
    site : str, optional
        Site name (default: the first site with a data center).
    """
    # a Figure of its own, not pyplot's: no GUI backend is chosen and the caller's pyplot
    # state (e.g. a notebook's inline backend) is left alone; savefig renders with Agg
    from matplotlib.figure import Figure

    h = result.hourly.iloc[start_h:start_h + hours]
    if h.empty:
        raise ValueError("nothing to plot: the result has no hourly data in that window")
    sites = [c.split("/")[0].split(".", 1)[1] for c in h.columns if c.startswith("datacenter.")
             and c.endswith("/facility_mw")]
    site = site or (sites[0] if sites else None)
    fig = Figure(figsize=(12, 8))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 1.2]})
    ax = axes[0]
    stack, labels = [], []
    for prefix, label in (("hydro.", "hydro"), ("wind.", "wind"), ("pv.", "PV")):
        c = [k for k in h.columns if k.startswith(prefix) and k.endswith("/power_mw")]
        if c:
            stack.append(h[c].sum(axis=1).to_numpy())
            labels.append(label)
    dis = [k for k in h.columns if k.startswith("battery.") and k.endswith("/discharge_mw")]
    if dis:
        stack.append(h[dis].sum(axis=1).to_numpy())
        labels.append("battery discharge")
    imp = [k for k in h.columns if k.startswith("grid.") and k.endswith("/import_mw")]
    if imp:
        stack.append(h[imp].sum(axis=1).to_numpy())
        labels.append("grid import")
    uns = [k for k in h.columns if k.startswith("bus.") and k.endswith("/unserved_mw")]
    if uns and h[uns].to_numpy().sum() > 1e-6:
        stack.append(h[uns].sum(axis=1).to_numpy())
        labels.append("unserved")
    x = h.index
    if stack:
        ax.stackplot(x, np.array(stack), labels=labels, step="post", alpha=0.85)
    fac = [k for k in h.columns if k.startswith("datacenter.") and k.endswith("/facility_mw")]
    if fac:
        ax.step(x, h[fac].sum(axis=1), where="post", color="k", lw=1.5, label="facility load")
    ch = [k for k in h.columns if k.startswith("battery.") and k.endswith("/charge_mw")]
    exp = [k for k in h.columns if k.startswith("grid.") and k.endswith("/export_mw")]
    if ch or exp:
        ax.step(x, h[ch + exp].sum(axis=1) + (h[fac].sum(axis=1) if fac else 0), where="post",
                color="k", lw=0.8, ls="--", label="load + charge + export")
    ax.set_ylabel("MW")
    ax.legend(loc="upper left", ncol=4, fontsize=8)
    ax.set_title(f"{result.scenario_name}: dispatch" + (f" at {site}" if site else ""))
    soc = [k for k in h.columns if k.startswith("battery.") and k.endswith("/soc_mwh")]
    if soc:
        axes[1].plot(x, h[soc].sum(axis=1), color="tab:purple")
    axes[1].set_ylabel("SOC [MWh]")
    price = [k for k in h.columns if k.endswith("/import_price_per_mwh")]
    if price:
        axes[2].step(x, h[price[0]], where="post", color="tab:red")
    axes[2].set_ylabel("import price\n[per MWh]")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
