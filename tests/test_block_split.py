"""The split start of the multisite benchmark (benchmarks.block_split; measured, not an
engine mode): the sites solved apart at a given job split, then the whole LP from their
assembled basis with the shares freed by step columns."""
from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.backends.highs as highs
from benchmarks.block_split import solve, solve_split_start, window_split
from benchmarks.multisite import scenario
from engine.backends import SolverOptions
from engine.model.build import build
from engine.model.data import prepare
from tests.test_blocks import _feasible, _home_cannot_work_alone, _placement_case


def _split(arrays, share, y, mode="primal", stats=None):
    return solve_split_start(arrays, SolverOptions(), share, y, highs.to_highs,
                             highs.run_definite, highs.read_outcome, mode, stats)


@pytest.mark.parametrize("mode", ["primal", "dual"])
def test_split_start_reaches_the_plain_optimum_on_ring_copies(mode):
    # 3 ring-coupled week copies with shifted tariffs: from the split of 3-day windows of
    # the coupled LP, and from the optimum's own split
    sc = scenario(3, coupled=True, ring=True, shifted=True)
    plain = engine.optimize(sc, block_start="off")
    ref = engine.optimize(sc, backend="pyomo")
    assert plain.objective == pytest.approx(ref.objective, rel=1e-9)
    f = build(prepare(sc))
    arrays = f.model.arrays()
    share = f.model.var_groups["placement/share"].idx.ravel()
    st: dict = {}
    y = window_split(f, arrays, 72, SolverOptions(), st)
    assert st["windows"] == 3 and st["windows_not_optimal"] == 0
    np.testing.assert_allclose(np.bincount(f.data.placement.pair_job, weights=y), 1.0,
                               atol=1e-9)
    months: dict = {}  # L = 0: calendar months (one here)
    assert window_split(f, arrays, 0, SolverOptions(), months).size == share.size
    assert months["windows"] == 1 and months["windows_not_optimal"] == 0
    stats: dict = {}
    out = _split(arrays, share, y, mode, stats)
    assert out is not None and out.status == engine.Status.OPTIMAL
    assert stats["blocks"] == 3
    assert out.objective == pytest.approx(plain.objective, rel=1e-6)
    _feasible(arrays, out.x)  # the step columns folded back into the shares
    # the LP at the windows' split is no better than the optimum
    assert stats["split_objective"] >= plain.objective * (1 - 1e-9)
    best: dict = {}
    again = _split(arrays, share, out.x[share], mode, best)
    assert best["split_objective"] == pytest.approx(plain.objective, rel=1e-6)
    assert again.objective == pytest.approx(plain.objective, rel=1e-6)


def test_split_start_solve_on_a_scenario():
    sc = scenario(2, coupled=True, ring=True, shifted=True)
    out = solve(sc, 48, "primal")
    assert "fallback" not in out and out["windows"] == 4
    assert out["objective"] == pytest.approx(engine.optimize(sc).objective, rel=1e-6)


def test_split_start_falls_back_when_a_site_cannot_do_its_share():
    # job k (3 MWh in 5 h) at sites e (grid 0.5 MW) and w: all of it at e is infeasible (a
    # block without an optimum: None), half of it there reaches the pyomo optimum
    sc = engine.Scenario.from_dict(_home_cannot_work_alone())
    f = build(prepare(sc))
    arrays = f.model.arrays()
    share = f.model.var_groups["placement/share"].idx.ravel()
    sites = f.data.placement.pair_site
    assert _split(arrays, share, np.where(sites == 0, 1.0, 0.0)) is None
    assert _split(arrays, share, np.array([0.7, 0.7])) is None  # shares not summing to 1
    out = _split(arrays, share, np.array([0.5, 0.5]))
    ref = engine.optimize(sc, backend="pyomo")
    assert out is not None and out.objective == pytest.approx(ref.objective, rel=1e-6)


def test_split_start_needs_the_sites_decoupled():
    # two linked sites with a checkpoint migration (tests/test_migration.py, 910 CNY): the
    # moves tie the sites whatever the shares, so the split start declines
    sc = engine.Scenario.from_dict(_placement_case(1000.0, 0.0))
    f = build(prepare(sc))
    arrays = f.model.arrays()
    share = f.model.var_groups["placement/share"].idx.ravel()
    assert _split(arrays, share, np.full(share.size, 0.5)) is None
