"""Dispatch plots (matplotlib, imported only when a plot is made): one site per figure."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_dispatch", "plot_window", "site_columns"]

#: Supply kinds stacked first, in this order, with their labels.
_STACK = (("hydro", "hydro"), ("wind", "wind"), ("pv", "PV"))


def plot_window(n_hours: int, start_h: Any, hours: Any) -> tuple[int, int]:
    """Check a plot window against the horizon; returns ``(start_h, hours)`` clipped at its end.

    Raises
    ------
    ValueError
        If ``start_h`` is not an hour of the horizon or ``hours`` is not a positive integer.
    """
    for name, value in (("start_h", start_h), ("hours", hours)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 0 <= start_h < n_hours:
        raise ValueError(f"start_h must be an hour of the horizon, 0..{n_hours - 1}, got {start_h}")
    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    return int(start_h), int(min(hours, n_hours - start_h))


def site_columns(result: Any, site: str) -> list[str]:
    """The hourly columns of one site: its own (``grid.<site>/...``) and its assets'."""
    scenario = result.extra.get("scenario")
    names = {site}
    if scenario is not None:
        for s in scenario.sites:
            if s.name == site:
                names |= {a.name for _, assets in s.asset_lists() for a in assets}
    return [c for c in result.hourly.columns if c.split("/")[0].split(".", 1)[-1] in names]


def _sites(result: Any) -> list[str]:
    scenario = result.extra.get("scenario")
    if scenario is not None:
        return [s.name for s in scenario.sites]
    return sorted({c.split("/")[0].split(".", 1)[1] for c in result.hourly.columns
                   if c.startswith(("grid.", "datacenter.", "bus."))})


def plot_dispatch(result: Any, path: str | Path | None = None, start_h: int = 0,
                  hours: int = 168, site: str | None = None) -> Any:
    """Three panels for one site: supply stack vs facility load, battery SOC, import price.

    Parameters
    ----------
    result : Result
    path : path, optional
        Where to save a PNG (the figure is returned either way).
    start_h, hours : int
        The window to show: ``start_h`` must be an hour of the horizon; the window is cut at
        the horizon's end.
    site : str, optional
        The site to show; required when the scenario has several sites.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For a window outside the horizon, an unknown site, or a result without a solution.
    """
    # a Figure of its own, not pyplot's: no GUI backend is chosen and the caller's pyplot
    # state (e.g. a notebook's inline backend) is left alone; savefig renders with Agg
    from matplotlib.figure import Figure

    if result.hourly.empty:
        raise ValueError(f"nothing to plot: the result has no solution ({result.status})")
    start_h, hours = plot_window(len(result.hourly), start_h, hours)
    sites = _sites(result)
    if site is None:
        if len(sites) != 1:
            raise ValueError(f"the scenario has sites {sites}: choose one with site=")
        site = sites[0]
    elif site not in sites:
        raise ValueError(f"site {site!r} is not in the scenario; its sites are {sites}")
    h = result.hourly.iloc[start_h:start_h + hours][site_columns(result, site)]
    scenario = result.extra.get("scenario")
    currency = getattr(scenario, "currency", "currency")

    def cols(prefix: str, suffix: str) -> list[str]:
        return [k for k in h.columns if k.startswith(prefix) and k.endswith(suffix)]

    fig = Figure(figsize=(12, 8))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 1.2]})
    ax = axes[0]
    stack, labels = [], []
    known = [kind for kind, _ in _STACK]
    others = sorted({k.split(".", 1)[0] for k in h.columns if k.endswith("/power_mw")}
                    - set(known))
    for kind, label in [*_STACK, *((k, k) for k in others)]:
        c = cols(f"{kind}.", "/power_mw")
        if c:
            stack.append(h[c].sum(axis=1).to_numpy())
            labels.append(label)
    for c, label, always in ((cols("battery.", "/discharge_mw"), "battery discharge", True),
                             (cols("grid.", "/import_mw"), "grid import", True),
                             (cols("bus.", "/unserved_mw"), "unserved", False)):
        if c and (always or h[c].to_numpy().sum() > 1e-6):
            stack.append(h[c].sum(axis=1).to_numpy())
            labels.append(label)
    x = h.index
    if stack:
        ax.stackplot(x, np.array(stack), labels=labels, step="post", alpha=0.85)
    fac = cols("datacenter.", "/facility_mw")
    if fac:
        ax.step(x, h[fac].sum(axis=1), where="post", color="k", lw=1.5, label="facility load")
    out = cols("battery.", "/charge_mw") + cols("grid.", "/export_mw")
    if out:
        ax.step(x, h[out].sum(axis=1) + (h[fac].sum(axis=1) if fac else 0), where="post",
                color="k", lw=0.8, ls="--", label="load + charge + export")
    ax.set_ylabel("MW")
    ax.legend(loc="upper left", ncol=4, fontsize=8)
    ax.set_title(f"{result.scenario_name}: dispatch at site {site}")
    soc = cols("battery.", "/soc_mwh")
    if soc:
        axes[1].plot(x, h[soc].sum(axis=1), color="tab:purple")
    axes[1].set_ylabel("SOC [MWh]")
    price = cols("grid.", "/import_price_per_mwh")
    if price:
        axes[2].step(x, h[price[0]], where="post", color="tab:red")
    axes[2].set_ylabel(f"import price\n[{currency}/MWh]")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
