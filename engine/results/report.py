"""The HTML report: one offline file a person reads in a browser.

* :func:`render_result` (``Result.to_html(path)``): KPIs, cost terms; per site a week of
  hourly dispatch with SOC and import price (default: the week, from a midnight, of largest
  facility energy), the whole horizon as daily energy, the battery SOC and the hourly CFE
  (the clean share of facility load from the ``trace.<site>/<source>_mw`` columns) as hour of
  day x day heatmaps, the network check where there is one; then the job schedule (the
  week's jobs; every job over the horizon when there are at most 40), the per-tenant ledger
  and the network rounds where present. What is absent is left out, and a line says so.
* :func:`report_from_dir`: the same report from a directory written by ``wattbit run``
  (``hourly.parquet``, ``summary.json``, ``jobs.parquet``, ``job_power.parquet``, network
  files); ``wattbit report RESULTS_DIR -o report.html``. With several sites, which asset
  belongs to which site is in the scenario, not the directory: pass it (``scenario=``).
* :func:`batch_report`: the comparison page of a batch store (KPIs across the sweep, cost
  against green share, the Pareto front; :mod:`engine.results._report_batch`).

Plotting: matplotlib rendered to SVG and written inline into the page. Matplotlib is
already a dependency (the dispatch PNG) and needs no JavaScript, and an inline SVG is offline
by construction: the file references nothing (no CDN, no web fonts, no image files), prints
and zooms sharply, and its text can be searched and copied. Plotly with its JavaScript
inlined would add ~3.5 MB to every report and a dependency, for hover labels. The cost of
SVG grows with the points drawn, so no chart draws 8,760 points: the year is daily energy,
the hourly detail is one week, and the hour-by-day charts (SOC, CFE, job schedule) are
``imshow`` rasters embedded in the SVG as one PNG each. Matplotlib's own time goes mostly to
axes, ticks and text, so figures use fixed margins (no layout engine, which lays every label
out twice) and few ticks. The annual Xining example renders in 1.2-1.4 s of CPU
(``python -m benchmarks.report``; target <= 2 s; see benchmarks/REPORT_RESULTS.md).

All text from the result (names, diagnosis, violations) is HTML-escaped; matplotlib escapes
the text inside the SVGs and is told not to read ``$...$`` as mathtext.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.results._report_batch import batch_report, read_store
from engine.results._report_render import clean_share, default_week, render_result

if TYPE_CHECKING:  # pragma: no cover
    from engine.results.result import Result

__all__ = ["batch_report", "clean_share", "default_week", "is_batch_store",
           "load_results_dir", "render_result", "report_from_dir"]

#: The batch store adapter: the summary table of a store directory.
_read_store = read_store


def load_results_dir(results_dir: str | Path, scenario: Any = None) -> Result:
    """A :class:`Result` rebuilt from the files ``wattbit run`` writes (see
    :meth:`Result.to_parquet`); the network check's files become plain data."""
    import pandas as pd

    from engine.results.result import Result
    from engine.status import Status

    d = Path(results_dir)
    if not (d / "summary.json").is_file():
        raise FileNotFoundError(f"{d} is not a results directory: no summary.json "
                                "(written by `wattbit run --out DIR`)")
    s = json.loads((d / "summary.json").read_text())
    read = lambda n: pd.read_parquet(d / n) if (d / n).is_file() else pd.DataFrame()
    nan = lambda v: float("nan") if v is None else float(v)
    extra: dict[str, Any] = {}
    if scenario is not None:
        extra["scenario"] = scenario
    hourly = read("hourly.parquet")
    net = s.get("network_check") or {}
    if len(net) == 1 and hourly is not None:
        (site, info), = net.items()
        vm = read("network_vm_pu.parquet")
        viol = pd.read_csv(d / "network_violations.csv") \
            if (d / "network_violations.csv").is_file() else None
        counts = ", ".join(f"{k} {v}" for k, v in sorted(info.get("violations", {}).items()))
        extra["network_from_dir"] = [{
            "site": site, "passed": bool(info.get("passed")), "vm": vm if len(vm) else None,
            "violations": viol, "vmin": None, "vmax": None,
            "text": f"network check of site {site!r}: "
                    + ("PASSED" if info.get("passed") else f"violations: {counts}")}]
    rounds = s.get("network_rounds")
    more = {"demand_charges": pd.DataFrame(s["demand_charges"])} if s.get("demand_charges") \
        and "demand_charges" in Result.__dataclass_fields__ else {}
    more.update({n: read(f"{n}.parquet") for n in ("placement", "tenants", "certificates")
                 if n in Result.__dataclass_fields__ and (d / f"{n}.parquet").is_file()})
    return Result(
        status=Status(s.get("status", "error")), objective=nan(s.get("objective")),
        costs=pd.Series(s.get("costs", {}), dtype=float),
        kpis=pd.Series({k: nan(v) for k, v in s.get("kpis", {}).items()}, dtype=float),
        hourly=hourly, jobs=read("jobs.parquet"), job_power=read("job_power.parquet"),
        timings=s.get("timings", {}), mip_gap=float("nan") if s.get("mip_gap") is None else float(s["mip_gap"]),
        backend=s.get("backend", ""), solver_status=s.get("solver_status", ""),
        iterations=int(s.get("iterations", 0)), diagnosis=s.get("diagnosis", ""),
        scenario_name=s.get("scenario", ""), extra=extra,
        network_rounds=pd.DataFrame(rounds) if rounds else None, **more)


def report_from_dir(results_dir: str | Path, path: str | Path | None = None,
                    week_start_h: int | None = None, site: str | None = None,
                    scenario: Any = None) -> Path:
    """The report of a results directory (default ``RESULTS_DIR/report.html``), or the
    comparison page when the directory is a batch store (:func:`is_batch_store`)."""
    d = Path(results_dir)
    out = Path(path) if path is not None else d / "report.html"
    if is_batch_store(d):
        return batch_report(d, out)
    return render_result(load_results_dir(d, scenario), out, week_start_h, site)


def is_batch_store(d: str | Path) -> bool:
    """A directory without ``summary.json`` that holds an :mod:`engine.batch` store, a
    ``summary`` dataset or Parquet files."""
    d = Path(d)
    return d.is_dir() and not (d / "summary.json").is_file() and (
        (d / "_batch" / "manifest.json").is_file() or (d / "summary").exists()
        or (d / "summary.parquet").is_file() or any(d.glob("*.parquet")))
