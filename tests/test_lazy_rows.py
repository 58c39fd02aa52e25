"""Lazy rows (engine.backends.lazy): left out of the first solve, added when violated; the
optimum is the whole model's."""
from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.backends import SolverOptions, solve
from engine.backends.lazy import lazy_mask
from engine.model import LinearModel
from engine.status import Status


def _toy(lazy: bool) -> LinearModel:
    # min -x - 2y, 0 <= x, y <= 1, rows x + y <= 1.5 (batch 0) and y - x <= 0.25 (batch 1).
    # Without the rows x = y = 1 (-3): both violated. With both: y <= x + 0.25 and
    # x + y <= 1.5 meet at x = 0.625, y = 0.875: -0.625 - 1.75 = -2.375
    m = LinearModel()
    v = m.add_variables("v", 2, ub=1.0, cost=np.array([-1.0, -2.0]))
    m.add_constraints("sum", 1, [(v.idx[None, :], 1.0)], ub=1.5)
    m.add_constraints("diff", 1, [(v.idx[None, :], np.array([-1.0, 1.0]))], ub=0.25)
    if lazy:
        m.notes["lazy_rows"] = ["sum", ("diff", np.zeros(1))]
    return m


def test_toy_lp_rows_added_until_none_is_violated():
    m = _toy(lazy=True)
    out = solve(m, options=SolverOptions())
    assert out.status == Status.OPTIMAL
    assert out.objective == pytest.approx(-2.375, abs=1e-9)
    np.testing.assert_allclose(out.x, [0.625, 0.875], atol=1e-9)
    stats = m.notes["lazy_stats"]
    assert stats["rows"] == 2 and stats["added"] == 2 and stats["solves"] >= 2
    ref = solve(_toy(lazy=False), backend="pyomo")
    assert out.objective == pytest.approx(ref.objective, abs=1e-9)


def test_batches_come_in_whole():
    m = LinearModel()
    v = m.add_variables("v", 3, ub=1.0, cost=-1.0)
    # three rows v_i <= 0.5 in one batch (label 7): only v_0's... every row is violated
    # by the relaxation's v = 1, and the labels put all three in together
    m.add_constraints("cap", 3, [(v.idx, 1.0)], ub=0.5)
    m.notes["lazy_rows"] = [("cap", np.array([7, 7, 7]))]
    mask, batch = lazy_mask(m, 3)
    assert mask.all() and len(set(batch.tolist())) == 1
    out = solve(m)
    assert out.objective == pytest.approx(-1.5, abs=1e-9)
    assert m.notes["lazy_stats"]["solves"] == 2


def test_a_milp_keeps_every_row():
    m = LinearModel()
    v = m.add_variables("v", 2, ub=1.0, cost=np.array([-1.0, -2.0]), integer=True)
    # integers: x + y <= 1.5 leaves one of them: y (cost -2)
    m.add_constraints("sum", 1, [(v.idx[None, :], 1.0)], ub=1.5)
    m.notes["lazy_rows"] = ["sum"]
    out = solve(m)
    assert out.objective == pytest.approx(-2.0, abs=1e-9)
    assert "lazy_stats" not in m.notes


def test_east_west_month_lazy_equals_whole_model(monkeypatch):
    """The placement's data-ready rows generated on demand give the whole model's optimum
    (a two-week slice of the East-West example, 10 jobs)."""
    import sys
    from pathlib import Path

    import engine.backends.lazy as lazy

    ex = Path(__file__).resolve().parents[1] / "examples"
    sys.path.insert(0, str(ex))
    try:
        from build_east_west import build
    finally:
        sys.path.remove(str(ex))
    sc = engine.Scenario.from_dict(build(n_jobs=10, horizon_h=336), base_dir=ex)
    f = engine.build_model(sc)
    arrays = f.model.arrays()
    out = solve(f.model, arrays)
    stats = f.model.notes["lazy_stats"]
    assert out.status == Status.OPTIMAL and 0 < stats["added"] < stats["rows"]
    # every row of the whole model holds at the answer, the rows never added included
    act = arrays.A.to_scipy() @ out.x
    tol = 1e-6 * np.maximum(1.0, np.abs(np.nan_to_num(arrays.row_ub, posinf=0.0)))
    assert np.all(act <= arrays.row_ub + tol) and np.all(act >= arrays.row_lb - tol)
    monkeypatch.setattr(lazy, "solve_lazy", lambda *a, **k: None)
    whole = engine.optimize(sc)
    ref = engine.optimize(sc, backend="pyomo")
    assert whole.status == engine.Status.OPTIMAL
    assert out.objective == pytest.approx(whole.objective, rel=1e-9)
    assert out.objective == pytest.approx(ref.objective, rel=1e-9)
