"""Uncoupled parts of an LP solved as separate HiGHS models (engine.backends.blocks)."""
from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.backends.blocks as blocks
import engine.backends.highs as highs
from benchmarks.multisite import scenario
from engine.model.build import build
from engine.model.data import prepare


def test_two_uncoupled_sites_split_into_two_blocks_with_the_same_optimum(monkeypatch):
    sc = scenario(2, coupled=False)
    arrays = build(prepare(sc)).model.arrays()
    parts = blocks.blocks_of(arrays, 4)
    assert parts is not None and len(parts) == 2
    # every column in exactly one block, and no row holds columns of both
    allcols = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(allcols, np.arange(arrays.A.shape[1]))
    A = arrays.A.to_scipy().tocsr()
    in0 = np.zeros(A.shape[1], bool)
    in0[parts[0]] = True
    touches0 = np.asarray(A[:, in0].getnnz(axis=1)) > 0
    touches1 = np.asarray(A[:, ~in0].getnnz(axis=1)) > 0
    assert not np.any(touches0 & touches1)
    split = engine.optimize(sc)
    monkeypatch.setattr(highs, "solve_blocks", lambda arrays, options: None)
    whole = engine.optimize(sc)
    ref = engine.optimize(sc, backend="pyomo")
    assert split.objective == pytest.approx(whole.objective, rel=1e-9)
    assert split.objective == pytest.approx(ref.objective, rel=1e-9)
    # each site's half is the one-site optimum
    one = engine.optimize(scenario(1, coupled=False))
    assert split.objective == pytest.approx(2 * one.objective, rel=1e-9)


def test_one_site_and_coupled_sites_stay_one_model():
    for sc in (scenario(1, coupled=False), scenario(2, coupled=True)):
        arrays = build(prepare(sc)).model.arrays()
        assert blocks.blocks_of(arrays, 4) is None


def test_coupled_ring_simplex_ipm_and_pyomo_agree():
    # the multisite benchmark's ring coupling with shifted tariffs (about half the jobs'
    # energy runs at the neighbouring copy)
    sc = scenario(3, coupled=True, ring=True, shifted=True)
    ipm = engine.optimize(sc, highs_options={"solver": "ipm"})
    simplex = engine.optimize(sc)
    ref = engine.optimize(sc, backend="pyomo")
    assert ipm.status == simplex.status == engine.Status.OPTIMAL
    assert ipm.objective == pytest.approx(simplex.objective, rel=1e-9)
    assert ipm.objective == pytest.approx(ref.objective, rel=1e-9)


def test_benders_on_the_placement_brackets_and_reaches_the_lp_optimum():
    # N = 3 ring-coupled week copies, shifted tariffs: the master's bound is below the whole
    # LP's optimum, the best split's cost above it, and they meet within 1e-6
    from engine.backends.decompose import solve_benders

    sc = scenario(3, coupled=True, ring=True, shifted=True)
    whole = engine.optimize(sc)
    f = build(prepare(sc))
    out = solve_benders(f.model, f.model.arrays())
    assert out["blocks"] == 3
    assert out["lower"] <= whole.objective * (1 + 1e-9)
    assert out["objective"] >= whole.objective * (1 - 1e-9)
    assert out["objective"] == pytest.approx(whole.objective, rel=1e-6)
