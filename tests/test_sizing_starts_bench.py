"""The typical-day solution laid out over the year (benchmarks/sizing_starts.py, the
experiment behind SIZING_RESULTS.md's "tried, not kept" starts).

Reference: the annual model's own rows. The chronological SOC rebuilt from the typical
days' boundary states and intra-day deviations must satisfy the annual SOC balance and
bounds exactly (Kotzur et al.'s bounds are exact without self-discharge); the hourly data
rows need not (the calendar days' data are not their typical days').
"""
from __future__ import annotations

import numpy as np
from test_sizing_start import _year

from benchmarks.sizing_starts import (
    alien_basis,
    laid_out_point,
    point_violations,
    typical_solution,
    year_maps,
)
from engine.model.build import build
from engine.model.data import prepare


def test_laid_out_typical_days_close_the_annual_soc_rows():
    data = prepare(_year(None))
    f = build(data)
    arrays = f.model.arrays()
    typ = typical_solution(data, 8)
    colmap, rowmap = year_maps(f, arrays.A.shape[1], arrays.A.shape[0], typ)
    soc = f.model.var_groups["battery/soc_mwh"].idx.ravel()
    # every column but the chronological SOC has a typical-day counterpart
    assert np.array_equal(np.flatnonzero(colmap < 0), np.sort(soc))
    x = laid_out_point(f, arrays, typ, colmap)
    viol = point_violations(f, arrays, x)
    for name in ("battery/soc_balance", "battery/soc_max_within_capacity",
                 "battery/soc_min_within_capacity", "battery/terminal_at_least_initial",
                 "grid/peak", "grid/import_within_capacity"):
        assert viol[name] <= 1e-6, (name, viol[name])
    # the sizes are the typical-day model's
    for e, te in zip(f.meta["sizing"], build(typ["data"]).meta["sizing"]):
        assert x[e["col"]] == typ["x"][te["col"]]
    cs, rs = alien_basis(arrays, typ, colmap, rowmap, x)
    assert cs.size == arrays.A.shape[1] and rs.size == arrays.A.shape[0]
    # equality rows are never given a basic status by the point
    eq = np.flatnonzero((arrays.row_lb == arrays.row_ub) & (rowmap < 0))
    assert eq.size and not np.any(rs[eq] == 1)
