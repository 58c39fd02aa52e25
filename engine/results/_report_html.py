"""HTML pieces of the reports: escaping, tables, the KPI table, the page with its style.

Every string that comes from data goes through :func:`esc`; the page has no external
reference of any kind (styles inline, charts inline SVG).
"""
from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

__all__ = ["esc", "fmt", "kpi_table", "page", "table"]

CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --bg: #ffffff; --band: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
       sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
header { padding: 20px 0 8px; border-bottom: 2px solid var(--line); }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
.facts { margin: 0; color: var(--muted); }
.facts b { color: var(--fg); font-weight: 600; }
.facts span { white-space: nowrap; }
nav { position: sticky; top: 0; background: rgba(255,255,255,.96); border-bottom: 1px solid var(--line);
      padding: 6px 0; z-index: 1; font-size: 13px; }
nav a { margin-right: 14px; color: #1f5fbf; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.cols { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 12px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
th { background: var(--band); font-weight: 600; white-space: normal; max-width: 10em;
     vertical-align: bottom; }
td.t, th.t { text-align: left; }
tr.hl td { background: #fdecea; font-weight: 600; }
.scroll { max-width: 100%; overflow-x: auto; }
figure.chart { margin: 8px 0 16px; }
figure.chart svg { width: 100%; height: auto; display: block; }
figure.chart.narrow { max-width: 820px; }
pre { background: var(--band); padding: 8px 10px; font-size: 12px; overflow-x: auto; }
.note { color: var(--muted); font-style: italic; }
.ok { color: #1a7f37; } .bad { color: #c62828; }
details { margin: 6px 0 14px; } summary { cursor: pointer; color: #1f5fbf; }
@media print { nav { display: none; } }
"""


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too: safe inside attributes)."""
    return html.escape(str(value), quote=True)


def fmt(v: Any) -> str:
    """A table cell: numbers with thousands separators and sensible decimals."""
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, (int,)) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        return f"{int(v):,}"
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "f"):
        v = float(v)
        if math.isnan(v):
            return "&ndash;"
        a = abs(v)
        if a >= 1000 or (a < 1e15 and v == int(v)):
            return f"{v:,.0f}"
        return f"{v:,.2f}" if a >= 10 else f"{v:.4g}"
    if hasattr(v, "strftime"):
        return esc(f"{v:%Y-%m-%d %H:%M}")
    return esc(v)


def _breakable(name: Any) -> str:
    return esc(name).replace(".", ".<wbr>").replace("_", "_<wbr>")


def table(df: Any, highlight: Any = None, max_rows: int | None = None) -> str:
    """A DataFrame as an HTML table (index dropped unless named); ``highlight``: a boolean
    array of rows to mark."""
    import pandas as pd

    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        df = df.reset_index()
    rows = df if max_rows is None else df.head(max_rows)
    text_cols = [not pd.api.types.is_numeric_dtype(rows[c]) for c in rows.columns]
    # long names (dotted paths of swept values) may wrap after a dot or an underscore
    head = "".join(f"<th class='{'t' if t else ''}'>{_breakable(c)}</th>"
                   for c, t in zip(rows.columns, text_cols))
    body = []
    hl = list(highlight[:len(rows)]) if highlight is not None else [False] * len(rows)
    for r, mark in zip(rows.itertuples(index=False), hl):
        cells = "".join(f"<td class='{'t' if t else ''}'>{fmt(v)}</td>"
                        for v, t in zip(r, text_cols))
        body.append(f"<tr class='hl'>{cells}</tr>" if mark else f"<tr>{cells}</tr>")
    note = (f"<p class='note'>First {len(rows):,} of {len(df):,} rows.</p>"
            if len(rows) < len(df) else "")
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + "</tbody></table></div>" + note)


def _unit(name: str, currency: str) -> tuple[str, float]:
    """(unit, factor) of a KPI from its name."""
    if name.endswith(("share", "score", "completion", "_fraction")):
        return "%", 100.0
    for suffix, unit in (("_mwh", "MWh"), ("_mw", "MW"), ("_t", "t CO2"),
                         ("_kg_per_kwh", "kg CO2/kWh"), ("_per_gpu_hour", f"{currency}/GPU-h"),
                         ("_per_mwh_it", f"{currency}/MWh IT"), ("_cycles", "cycles")):
        if name.endswith(suffix):
            return unit, 1.0
    if name.endswith(("cost", "revenue", "charge")):
        return currency, 1.0
    return "", 1.0


def kpi_table(kpis: Any, currency: str) -> str:
    """KPIs as two side-by-side tables of name, value, unit."""
    rows = []
    for k, v in kpis.items():
        unit, f = _unit(str(k), currency)
        val = float(v) * f
        text = "&ndash;" if math.isnan(val) else (
            f"{val:,.1f}" if unit == "%" else f"{val:,.4f}" if abs(val) < 10 else
            f"{val:,.2f}" if abs(val) < 1000 else f"{val:,.0f}")
        rows.append(f"<tr><td class='t'>{esc(str(k).replace('_', ' '))}</td><td>{text}</td>"
                    f"<td class='t'>{esc(unit)}</td></tr>")
    half = (len(rows) + 1) // 2
    head = "<tr><th class='t'>KPI</th><th>value</th><th class='t'>unit</th></tr>"
    return "".join(f"<table class='kpis'><thead>{head}</thead><tbody>{''.join(part)}"
                   "</tbody></table>" for part in (rows[:half], rows[half:]) if part)


def page(title: str, body: list[str], path: Path,
         nav: list[tuple[str, str]] | None = None) -> Path:
    """Write the page: title, sticky navigation, body; returns ``path``."""
    links = "".join(f"<a href='#{esc(a)}'>{esc(t)}</a>" for a, t in nav or [])
    text = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)} &ndash; wattbit report</title><style>{CSS}</style></head>"
            f"<body><main>{body[0]}" + (f"<nav>{links}</nav>" if links else "")
            + "".join(body[1:])
            + "<p class='note'>Made by wattbit. One file, no network needed.</p>"
              "</main></body></html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
