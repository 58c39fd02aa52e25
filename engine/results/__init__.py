"""Results: the :class:`Result` of a solve, the extraction of a solution, plots.

* :mod:`engine.results.result`: :class:`Result` (hourly table, costs, KPIs, jobs; Parquet,
  JSON, summary);
* :mod:`engine.results.extract`: each component's columns, traceability, costs and KPIs;
* :mod:`engine.results.plotting`: the dispatch figure.
"""
from __future__ import annotations

from engine.results.extract import CLEAN_SOURCES, TRACE_SOURCES, extract
from engine.results.result import Result, empty_result
from engine.status import Status

__all__ = ["CLEAN_SOURCES", "TRACE_SOURCES", "Result", "Status", "empty_result", "extract"]
