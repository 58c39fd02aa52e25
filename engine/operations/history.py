"""Observed history before a rolling run's first hour (``rolling_optimize(history_h=...)``).

An operator has the past: the forecasters of a rolling run may be fitted on ``history_h``
hours before the scenario's ``start``. They are read from the scenario's own inputs (its
weather CSV, tariffs, load rules): the scenario file is read again over
``[start - history_h, start + horizon_h)`` and prepared as usual, and its forecast series
(PV, wind, inflexible load, PUE, import price) before ``start`` are the history. They are
observations only: no decision, cost or state of the run is taken from them.

The inputs must cover those hours: a weather CSV that starts later, a series given as a list
of ``horizon_h`` values, or one read by position from ``start`` (whose values would shift)
are each a :class:`~engine.errors.ScenarioError` naming ``history_h``; the scenario's own hours
prepared over the longer span must equal those of the run (checked), so a history is never
silently shorter or misaligned.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from engine.errors import ScenarioError
from engine.model.data import ScenarioData, prepare
from engine.operations.forecasts import _stack_series
from engine.scenario.container import read_scenario_file
from engine.scenario.series import hourly_index

__all__ = ["check_history_h", "observed_history"]


def check_history_h(history_h) -> int:
    """``history_h`` as an int >= 0 (None: 0); a ScenarioError naming it otherwise."""
    if history_h is None:
        return 0
    if isinstance(history_h, bool) or not isinstance(history_h, (int, np.integer)) \
            or history_h < 0:
        raise ScenarioError(f"history_h must be an integer >= 0 [h] (hours observed before the "
                            f"scenario's start), got {history_h!r}")
    return int(history_h)


def observed_history(path: Optional[Path], data: ScenarioData, history_h: int
                     ) -> Optional[np.ndarray]:
    """The forecast series over the ``history_h`` hours before the scenario's start.

    Parameters
    ----------
    path : Path or None
        The scenario file the run was loaded from (None: a Scenario object, whose series
        hold only its own hours).
    data : ScenarioData
        The run's prepared scenario.
    history_h : int
        Hours before ``start`` [h], >= 0.

    Returns
    -------
    numpy.ndarray or None
        ``(n_series, history_h)`` in the row order of the run's forecast series; None for 0.

    Raises
    ------
    ScenarioError
        Naming ``history_h`` when the inputs do not cover those hours.
    """
    H = check_history_h(history_h)
    if H == 0:
        return None
    sc = data.scenario
    T = data.T
    if path is None:
        raise ScenarioError(
            f"history_h={H}: the history is read from the scenario's inputs before its start, "
            f"which needs the scenario file; a Scenario object holds only its horizon_h={T} "
            f"hours (pass the path to rolling_optimize, or history_h=0)")
    index = hourly_index(sc.start, sc.timezone, T)
    first = (index[0] - pd.Timedelta(hours=H)).tz_convert(index.tz)
    start = first.strftime("%Y-%m-%d %H:%M")
    try:
        ext_index = hourly_index(start, sc.timezone, T + H)
    except Exception as exc:  # noqa: BLE001  (pandas raises several types here)
        raise ScenarioError(f"history_h={H}: no hourly time axis from {start} "
                            f"({sc.timezone}): {exc}") from None
    if not ext_index[H:].equals(index):
        raise ScenarioError(f"history_h={H}: the hours from {start} ({sc.timezone}) do not run "
                            f"hour by hour into the scenario's start {sc.start}")
    raw = dict(read_scenario_file(path))
    raw["start"], raw["horizon_h"] = start, T + H
    try:
        ext = type(sc).from_dict(raw, base_dir=path.parent)
        ext_data = prepare(ext)
    except ScenarioError as exc:
        raise ScenarioError(
            f"history_h={H}: the inputs of {str(path)!r} do not cover the {H} h before its "
            f"start {sc.start} (from {start}): {exc}") from None
    Y = _stack_series(data).Y
    Yx = _stack_series(ext_data).Y
    if Yx.shape != (Y.shape[0], T + H):
        raise ScenarioError(f"history_h={H}: the scenario read from {start} has "
                            f"{Yx.shape[0]} forecast series, the run {Y.shape[0]}")
    bad = ~np.isclose(Yx[:, H:], Y, rtol=1e-9, atol=1e-9)
    if bad.any():
        i, t = np.argwhere(bad)[0]
        raise ScenarioError(
            f"history_h={H}: the inputs of {str(path)!r} read from {start} give other values "
            f"on the scenario's own hours (forecast series {i}, hour {t}: {Yx[i, H + t]!r} "
            f"against {Y[i, t]!r}); a series read by position from start (no time column) "
            f"cannot give a history: give it timestamps")
    return np.ascontiguousarray(Yx[:, :H])
