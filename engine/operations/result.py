"""The result of a rolling run: the realised horizon, its windows and settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from engine.results import Result


class WindowProgress:
    """A rolling run's progress over its ``n`` windows: a tqdm bar when ``progress``, and
    the caller's ``on_progress(k, n, record)`` after each window (``k`` from 1)."""

    def __init__(self, n: int, progress: bool, on_progress: Any = None) -> None:
        self.n, self.on_progress, self.bar = n, on_progress, None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=n, unit="window", desc="rolling")

    def done(self, k: int, record: dict) -> None:
        """Window ``k`` (from 0) is done."""
        if self.bar is not None:
            self.bar.update(1)
        if self.on_progress is not None:
            self.on_progress(k + 1, self.n, record)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

__all__ = ["RollingResult", "WindowProgress"]


@dataclass
class RollingResult(Result):
    """The realised horizon of a rolling run (a :class:`~engine.results.Result`) and more.

    ``hourly``, ``costs``, ``kpis`` and ``jobs`` describe what *happened* (committed
    decisions realised against actual data), with the same columns as :func:`engine.optimize`;
    ``objective`` is the realised total cost.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per window: ``origin_h``, ``forecast`` (``warmup`` or the forecaster),
        ``status``, ``objective`` (window criterion, see :mod:`engine.operations.window`),
        ``iterations`` (simplex), ``solve_s``, ``update_s``, ``green_slack_mwh``,
        ``job_shortfall_mwh`` (planned shortfall against the jobs' minimum).
    plans : pandas.DataFrame
        One row per long-horizon plan (``plan=`` of :func:`engine.rolling_optimize`):
        ``origin_h``, ``status``, ``objective``, ``iterations``, ``forecast_s``,
        ``solve_s`` (build and solve), ``free_until_h``, ``green_relaxed``, ``warm``,
        ``read_s`` (the windows' targets from the solution), ``total_s``; empty without a
        plan.
    months : pandas.DataFrame
        Cost by calendar month: ``realised``; ``plan`` (the plan in force at the month's
        start, on its forecasts) with a plan; ``annual_optimum`` with the value of
        information [currency].
    value_of_information : dict
        Realised cost against perfect-forecast rolling and the perfect-foresight annual
        optimum (when computed), in currency and as fractions; ``controllers``: one row per
        controller (this one, with / without a plan, perfect forecasts) and the annual
        optimum, with the demand charge apart.
    settings : dict
        ``window_h``, ``step_h``, ``forecaster``, ``warmup_h``, job value, penalties.
    """

    windows: pd.DataFrame = field(default_factory=pd.DataFrame)
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    months: pd.DataFrame = field(default_factory=pd.DataFrame)
    value_of_information: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def summary_dict(self) -> dict[str, Any]:
        out = super().summary_dict()
        out["rolling"] = dict(self.settings)
        out["value_of_information"] = dict(self.value_of_information)
        if len(self.plans):
            out["plans"] = {"count": len(self.plans),
                            "not_optimal": int((self.plans["status"] != "optimal").sum()),
                            "total_solve_s": float(self.plans["solve_s"].sum())}
        if len(self.windows):
            w = self.windows
            out["windows"] = {
                "count": len(w),
                "not_optimal": int((w["status"] != "optimal").sum()),
                "median_solve_s": float(w["solve_s"].median()),
                "median_iterations": float(w["iterations"].median()),
                "total_iterations": int(w["iterations"].sum()),
            }
        return out

    def summary(self) -> str:
        text = super().summary()
        s = self.settings
        lines = [text, f"  rolling: window {s.get('window_h')} h, step {s.get('step_h')} h, "
                       f"forecaster {s.get('forecaster')!r}, warm-up {s.get('warmup_h')} h"
                       + (f", history {s['history_h']} h before start"
                          if s.get("history_h") else "")
                       + (f", plan {s['plan']!r} every {s.get('replan_h')} h"
                          if s.get("plan") else "")]
        if len(self.windows):
            w = self.windows
            lines.append(f"  windows: {len(w)} ({int((w['status'] != 'optimal').sum())} not "
                         f"optimal), median solve {1e3 * w['solve_s'].median():.2f} ms, median "
                         f"{w['iterations'].median():.0f} simplex iterations")
        for k, v in self.value_of_information.items():
            if isinstance(v, dict):
                continue
            lines.append(f"    {k:<34}{v:>18,.4f}" if isinstance(v, float) else
                         f"    {k:<34}{v!s:>18}")
        return "\n".join(lines)

    def to_parquet(self, directory: str | Path) -> Path:
        """Also writes ``windows.parquet``."""
        out = super().to_parquet(directory)
        if len(self.windows):
            self.windows.to_parquet(out / "windows.parquet")
        if len(self.plans):
            self.plans.to_parquet(out / "plans.parquet")
        if len(self.months):
            self.months.to_parquet(out / "months.parquet")
        return out
