"""The figures of the HTML report (:mod:`engine.results.report`), as inline SVG text.

Every function takes plain pandas objects (an hourly frame on a tz-naive *local* index, so
that the axes show the scenario's wall clock, not UTC) and returns a matplotlib ``Figure``;
:func:`svg` turns it into an ``<svg>`` element. Text stays text in the SVG (``svg.fonttype:
none``: small files, the browser's font) and is never parsed as mathtext (``text.parse_math:
False``), so a ``$`` in a scenario or job name is shown as written; matplotlib's SVG writer
escapes ``<``, ``>`` and ``&``.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["RC", "svg"]

#: rc parameters of every report figure.
RC = {
    "svg.fonttype": "none", "text.parse_math": False, "font.size": 9,
    "axes.titlesize": 10, "axes.titleweight": "bold", "axes.titlelocation": "left",
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "legend.frameon": False, "legend.fontsize": 8,
    "svg.hashsalt": "wattbit",  # stable ids: the same report twice is the same file
}

#: Supply kinds: (hourly column prefix, column suffix, label, colour), stacked in this order.
SUPPLY = (
    ("hydro.", "/power_mw", "hydro", "#1f77b4"),
    ("wind.", "/power_mw", "wind", "#17becf"),
    ("pv.", "/power_mw", "PV", "#f2b701"),
    ("battery.", "/discharge_mw", "battery discharge", "#9467bd"),
    ("genset.", "/power_mw", "genset", "#8c564b"),
    ("grid.", "/import_mw", "grid import", "#7f7f7f"),
    ("bus.", "/unserved_mw", "unserved", "#d62728"),
)
_OTHER_COLOURS = ("#2ca02c", "#e377c2", "#bcbd22", "#ff7f0e", "#aec7e8")


def _styled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Build the figure under :data:`RC` (titles, fonts and grids read it when made)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)
    return wrapper


def svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, no DOCTYPE)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(w: float, h: float, rows: int = 1, ratios: list[float] | None = None,
            left: float = 1.35, right: float = 2.1):
    """A figure of ``w`` x ``h`` inches with fixed margins (``left``/``right`` in inches; the
    right one holds legends and colour bars): no layout engine, which would lay out every
    label twice and double the time of a chart."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(w, h))
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False,
                            gridspec_kw={"height_ratios": ratios} if ratios else None)[:, 0]
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - 0.32 / h,
                        bottom=0.5 / h, hspace=0.35 / (h / rows))
    return fig, axes


def _colourbar(fig: Any, ax: Any, im: Any, label: str) -> None:
    """A colour bar in the right margin, beside ``ax``."""
    b = ax.get_position()
    w = fig.get_figwidth()
    cax = fig.add_axes((b.x1 + 0.12 / w, b.y0, 0.14 / w, b.height))
    fig.colorbar(im, cax=cax, label=label)


def cols(h: Any, prefix: str, suffix: str) -> list[str]:
    return [c for c in h.columns if c.startswith(prefix) and c.endswith(suffix)]


def supply_series(h: Any) -> list[tuple[str, str, np.ndarray]]:
    """(label, colour, values) of every supply present in ``h``, in stacking order; other
    ``<kind>.<name>/power_mw`` kinds after the known ones; unserved only when non-zero."""
    out = []
    known = {p for p, s, _, _ in SUPPLY if s == "/power_mw"}
    for prefix, suffix, label, colour in SUPPLY:
        c = cols(h, prefix, suffix)
        if not c:
            continue
        v = h[c].to_numpy().sum(axis=1)
        if prefix == "bus." and v.sum() <= 1e-6:
            continue
        out.append((label, colour, v))
    others = sorted({c.split(".", 1)[0] + "." for c in h.columns if c.endswith("/power_mw")}
                    - known)
    for i, prefix in enumerate(others):
        v = h[cols(h, prefix, "/power_mw")].to_numpy().sum(axis=1)
        out.append((prefix[:-1], _OTHER_COLOURS[i % len(_OTHER_COLOURS)], v))
    return out


def _date_axis(ax: Any, span_days: float) -> None:
    """Day names for a week or less; months over a year; concise automatic dates between."""
    import matplotlib.dates as mdates

    if span_days <= 10:
        ax.xaxis.set_major_locator(mdates.DayLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))
    elif span_days >= 240:
        ax.xaxis.set_major_locator(mdates.MonthLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    else:
        loc = mdates.AutoDateLocator(minticks=5, maxticks=14)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))


@_styled

def _ext(v: np.ndarray) -> np.ndarray:
    """``v`` with its last value repeated: step="post" then draws the last step to its end."""
    return np.append(v, v[-1])


def _stack_and_load(ax: Any, frame: Any, x: Any, lw: float) -> tuple[list[str], np.ndarray]:
    """The supply stack and the facility-load line of ``frame`` (hours or days) on ``ax``;
    returns the facility columns and the load."""
    series = supply_series(frame)
    if series:
        ax.stackplot(x, np.array([_ext(v) for _, _, v in series]), step="post",
                     labels=[s[0] for s in series], colors=[s[1] for s in series], alpha=0.9,
                     linewidth=0)
    fac = cols(frame, "datacenter.", "/facility_mw")
    load = frame[fac].to_numpy().sum(axis=1) if fac else np.zeros(len(frame))
    if fac:
        ax.step(x, _ext(load), where="post", color="k", lw=lw, label="facility load")
    return fac, load

def week_dispatch(h: Any, title: str, currency: str, tz: str) -> Any:
    """Hourly supply stack against facility load (and load + charge + export), then battery
    SOC with the import price on a second axis."""
    has_soc = bool(cols(h, "battery.", "/soc_mwh"))
    price = cols(h, "grid.", "/import_price_per_mwh")
    lower = has_soc or bool(price)
    fig, axes = _figure(11, 5.2 if lower else 3.8, 2 if lower else 1, [3, 1.3] if lower else None)
    ax = axes[0]
    # step="post" with one extra point so the last hour is drawn to its end
    x = h.index.append(h.index[-1:] + (h.index[-1] - h.index[-2] if len(h) > 1 else
                                       np.timedelta64(1, "h")))
    ext = _ext
    fac, load = _stack_and_load(ax, h, x, lw=1.4)
    out = cols(h, "battery.", "/charge_mw") + cols(h, "grid.", "/export_mw")
    if out:
        ax.step(x, ext(load + h[out].to_numpy().sum(axis=1)), where="post", color="k",
                lw=0.8, ls="--", label="load + charge + export")
    ax.set_ylabel("MW")
    ax.set_title(title, y=1.0, pad=4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlim(x[0], x[-1])
    if lower:
        ax2 = axes[1]
        if has_soc:
            ax2.plot(x[:-1], h[cols(h, "battery.", "/soc_mwh")].to_numpy().sum(axis=1),
                     color="#9467bd", lw=1.4, label="battery SOC")
            ax2.set_ylabel("SOC [MWh]")
            ax2.set_ylim(bottom=0)
        if price:
            axp = ax2.twinx() if has_soc else ax2
            axp.step(x, ext(h[price[0]].to_numpy()), where="post", color="#d62728", lw=1.0,
                     alpha=0.8, label="import price")
            axp.set_ylabel(f"import price\n[{currency}/MWh]")
            axp.grid(False)
            if has_soc:
                axp.spines["right"].set_visible(True)
        handles = [ln for a in fig.axes[1:] for ln in a.get_lines()]
        ax2.legend(handles, [ln.get_label() for ln in handles], loc="upper left",
                   bbox_to_anchor=(1.11 if price and has_soc else 1.0, 1.0))
    axes[-1].set_xlabel(f"local time ({tz})")
    _date_axis(axes[-1], len(h) / 24)
    return fig


@_styled
def year_daily(h: Any, title: str, tz: str, week: tuple[Any, Any] | None) -> Any:
    """Daily energy of each supply (stacked) against the facility's; the week shown above
    shaded."""
    daily = h.resample("D").sum()  # MW over hours = MWh
    fig, axes = _figure(11, 3.6)
    ax = axes[0]
    x = daily.index.append(daily.index[-1:] + np.timedelta64(1, "D"))
    fac, load = _stack_and_load(ax, daily, x, lw=1.0)
    if week is not None:
        ax.axvspan(week[0], week[1], color="#1f77b4", alpha=0.12, label="week shown above")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylabel("MWh per day")
    ax.set_title(title, y=1.0, pad=4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlabel(f"local date ({tz})")
    _date_axis(ax, len(daily))
    return fig


@_styled
def day_hour_heatmap(values: Any, title: str, tz: str, cmap: str, label: str,
                     vmin: float | None = None, vmax: float | None = None) -> Any:
    """An hourly series as hour of day (rows) by day (columns), with a colour bar."""
    import matplotlib.dates as mdates

    grid = values.groupby([values.index.hour, values.index.normalize()]).first().unstack()
    grid = grid.reindex(range(24))
    days = grid.columns
    fig, axes = _figure(11, 3.0)
    ax = axes[0]
    x0 = mdates.date2num(days[0])
    x1 = mdates.date2num(days[-1]) + 1
    im = ax.imshow(grid.to_numpy(), aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                   extent=(x0, x1, 24, 0), interpolation="nearest")
    ax.set_yticks([0, 6, 12, 18, 24])
    ax.set_ylabel("hour of day")
    ax.grid(False)
    ax.set_title(title, y=1.0, pad=4)
    ax.xaxis_date()
    ax.set_xlabel(f"local date ({tz})")
    _date_axis(ax, len(days))
    _colourbar(fig, ax, im, label)
    return fig


@_styled
def cost_bars(costs: Any, currency: str) -> Any:
    """Horizontal bars of the cost terms (revenues negative), total in the title."""
    c = costs[costs.abs() > 1e-9]
    fig, axes = _figure(11, 0.9 + 0.3 * max(len(c), 1), right=0.6)
    ax = axes[0]
    colours = ["#2ca02c" if v < 0 else "#1f77b4" for v in c.to_numpy()]
    y = np.arange(len(c))
    ax.barh(y, c.to_numpy(), color=colours)
    ax.set_yticks(y, [str(k).replace("_", " ") for k in c.index])
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.grid(axis="y", visible=False)
    span = float(np.abs(c.to_numpy()).max()) if len(c) else 1.0
    for yi, v in zip(y, c.to_numpy()):
        ax.text(v + (0.01 if v >= 0 else -0.01) * span, yi, f"{v:,.0f}", va="center",
                ha="left" if v >= 0 else "right", fontsize=8)
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo - 0.12 * span * (lo < 0), hi + 0.15 * span)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.set_xlabel(currency)
    ax.set_title(f"cost terms (total {costs.sum():,.0f} {currency}; revenues negative)", y=1.0, pad=4)
    return fig


@_styled
def job_gantt(matrix: np.ndarray, jobs: list[str], index: Any, title: str, tz: str) -> Any:
    """Job schedule over a window of hours: one row per job, its window (release to
    deadline) pale, the hours it runs coloured by power as a share of its largest hour."""
    import matplotlib.dates as mdates
    from matplotlib.colors import LinearSegmentedColormap

    n = len(jobs)
    # a column per k hours (at most 1,000 columns): the chart is ~800 pixels wide, and
    # matplotlib resampling 8,760 columns costs more than the rest of the chart
    k = max(1, int(np.ceil(matrix.shape[1] / 1000)))
    if k > 1:
        m = np.pad(matrix, ((0, 0), (0, (-matrix.shape[1]) % k)), constant_values=np.nan)
        m = m.reshape(n, -1, k)
        cnt = np.isfinite(m).sum(axis=2)
        matrix = np.where(cnt > 0, np.nansum(m, axis=2) / np.maximum(cnt, 1), np.nan)
    fig, axes = _figure(11, 1.1 + 0.22 * n)
    ax = axes[0]
    x0 = mdates.date2num(index[0])
    x1 = mdates.date2num(index[-1]) + 1 / 24
    peak = np.nanmax(np.where(np.isnan(matrix), 0.0, matrix), axis=1, keepdims=True)
    share = np.divide(matrix, peak, out=np.zeros_like(matrix), where=peak > 0)
    share[np.isnan(matrix)] = np.nan
    inside = np.where(np.isnan(matrix), np.nan, 1.0)
    ax.imshow(inside, aspect="auto", cmap="Greys", vmin=0, vmax=12, extent=(x0, x1, n, 0),
              interpolation="nearest")
    running = np.where(share > 1e-3, share, np.nan)
    blues = LinearSegmentedColormap.from_list("runs", ["#c6dbef", "#08306b"])
    im = ax.imshow(running, aspect="auto", cmap=blues, vmin=0.0, vmax=1.0,
                   extent=(x0, x1, n, 0), interpolation="nearest")
    ax.set_yticks(np.arange(n) + 0.5, [j if len(j) <= 24 else j[:23] + "\u2026" for j in jobs],
                  fontsize=8)
    ax.set_ylim(n, 0)
    ax.grid(False)
    for y in range(1, n):
        ax.axhline(y, color="white", lw=0.6)
    ax.set_title(title, y=1.0, pad=4)
    ax.xaxis_date()
    ax.set_xlabel(f"local time ({tz})")
    _date_axis(ax, len(index) / 24)
    _colourbar(fig, ax, im, "power / job's peak")
    return fig


@_styled
def voltage_envelope(vm: Any, vmin: float | None, vmax: float | None, title: str,
                     tz: str) -> Any:
    """Lowest and highest bus voltage per hour, with the limits."""
    fig, axes = _figure(11, 2.6)
    ax = axes[0]
    lo, hi = vm.min(axis=1), vm.max(axis=1)
    ax.fill_between(vm.index, lo, hi, color="#1f77b4", alpha=0.25, lw=0, step="mid",
                    label="lowest to highest bus")
    ax.plot(vm.index, lo, color="#1f77b4", lw=0.8)
    ax.plot(vm.index, hi, color="#1f77b4", lw=0.8)
    for v, name in ((vmin, "vmin"), (vmax, "vmax")):
        if v is not None:
            ax.axhline(v, color="#d62728", ls="--", lw=1, label=name)
    ax.set_xlim(vm.index[0], vm.index[-1])
    ax.set_ylabel("|V| [pu]")
    ax.set_title(title, y=1.0, pad=4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlabel(f"local time ({tz})")
    _date_axis(ax, len(vm) / 24)
    return fig


@_styled
def pareto_scatter(cost: np.ndarray, green: np.ndarray, front: np.ndarray, colour: Any,
                   colour_label: str | None, currency: str) -> Any:
    """Cost against green share; the non-dominated points ringed and joined."""
    fig, axes = _figure(9, 5, left=1.2, right=1.1)
    ax = axes[0]
    kw = {"c": colour, "cmap": "viridis"} if colour_label else {"color": "#1f77b4"}
    sc = ax.scatter(green, cost, s=22, alpha=0.8, zorder=2, label="scenario", **kw)
    if colour_label:
        _colourbar(fig, ax, sc, colour_label)
    order = np.argsort(green[front])
    ax.plot(green[front][order], cost[front][order], color="#d62728", lw=1.2, zorder=3,
            drawstyle="steps-pre")
    ax.scatter(green[front], cost[front], s=70, facecolors="none", edgecolors="#d62728",
               linewidths=1.6, zorder=4, label="Pareto front (non-dominated)")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("green share of facility load")
    ax.set_ylabel(f"total cost [{currency}]")
    ax.legend(loc="best", framealpha=0.9, frameon=True)
    return fig
