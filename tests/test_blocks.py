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


def _feasible(arrays, x, tol=1e-6) -> None:
    """Every column within its bounds and every row's activity within its bounds."""
    A = arrays.A.to_scipy()
    act = A @ x
    scale = lambda v: tol * np.maximum(1.0, np.abs(np.nan_to_num(v, posinf=0, neginf=0)))
    assert np.all(x >= arrays.col_lb - scale(arrays.col_lb))
    assert np.all(x <= arrays.col_ub + scale(arrays.col_ub))
    assert np.all(act >= arrays.row_lb - scale(arrays.row_lb))
    assert np.all(act <= arrays.row_ub + scale(arrays.row_ub))


@pytest.mark.parametrize("mode", ["primal", "dual", "tree"])
def test_block_start_reaches_the_plain_optimum_on_coupled_copies(mode):
    # 3 ring-coupled week copies with shifted tariffs (about half the jobs' energy runs at
    # the neighbouring copy, so the freed simplex has work to do): the sites solved apart
    # with every job at home, then the whole LP from their bases, end at the plain optimum
    from engine.backends import SolverOptions, solve

    sc = scenario(3, coupled=True, ring=True, shifted=True)
    plain = engine.optimize(sc)
    started = engine.optimize(sc, block_start=mode)
    assert started.status == engine.Status.OPTIMAL
    assert started.objective == pytest.approx(plain.objective, rel=1e-6)
    f = build(prepare(sc))
    arrays = f.model.arrays()
    out = solve(f.model, arrays, options=SolverOptions(block_start=mode))
    stats = f.model.notes["block_start_stats"]
    assert stats["blocks"][0] == 3 and stats["freed_iterations"] > 0  # the start was used
    assert out.objective == pytest.approx(plain.objective, rel=1e-6)
    _feasible(arrays, out.x)
    # the pinned point alone is worse: the freed run moved work between the copies
    pinned = engine.optimize(scenario(3, coupled=False, shifted=True))
    assert pinned.objective > plain.objective * (1 + 1e-4)


def _placement_case(checkpoint_gb: float, data_gb: float) -> dict:
    # two sites in two linked regions; job j (home east) migrates west by its checkpoint at
    # 0.5 CNY/GB (tests/test_migration.py: 410 + 500 = 910 by hand), job k (when it has
    # data) moves its data over the same link to work at either site
    from tests.test_migration import _case

    d = {**_case(0.5, checkpoint_gb), "name": "bs"}
    if data_gb:
        d["jobs"] = d["jobs"] + [{"name": "k", "energy_mwh": 1.0, "deadline_h": 5,
                                  "max_power_mw": 1.0, "home_region": "east",
                                  "data_gb": data_gb, "tenant": "acme"}]
    return d


@pytest.mark.parametrize("mode", ["primal", "dual", "tree"])
@pytest.mark.parametrize("checkpoint_gb, data_gb", [(1000.0, 0.0), (0.0, 600.0),
                                                    (1000.0, 600.0)])
def test_block_start_with_transfers_and_migration(mode, checkpoint_gb, data_gb):
    # the block start on the whole model (the lazy data-ready rows in): transfers, arrivals,
    # runs and checkpoint moves of the remote pair fixed at 0, then freed
    from engine.backends import SolverOptions, solve
    from engine.backends.block_start import solve_block_start

    sc = engine.Scenario.from_dict(_placement_case(checkpoint_gb, data_gb))
    f = build(prepare(sc))
    arrays = f.model.arrays()
    plain = solve(f.model, arrays, backend="pyomo")
    out = solve_block_start(f.model, arrays, SolverOptions(block_start=mode), highs.to_highs,
                            highs.run_definite, highs.read_outcome)
    assert out is not None and out.status == engine.Status.OPTIMAL
    assert f.model.notes["block_start_stats"]["blocks"][0] >= 2  # (sites, here also hours)
    assert out.objective == pytest.approx(plain.objective, rel=1e-6)
    _feasible(arrays, out.x)
    if checkpoint_gb and not data_gb:
        assert out.objective == pytest.approx(910.0, abs=1e-5)


def _home_cannot_work_alone() -> dict:
    """Job k (3 MWh in 5 h) at home east, whose grid gives 0.5 MW, or west."""
    d = _placement_case(0.0, 1.0)
    d["sites"][0]["grid"]["import_max_mw"] = 0.5
    d["jobs"] = [{**d["jobs"][1], "energy_mwh": 3.0, "data_gb": 0.0}]
    return d


def test_block_start_falls_back_when_a_home_site_cannot_work_alone():
    # job k (3 MWh in 5 h) at home east, whose grid gives 0.5 MW: pinned home it cannot
    # finish, so the pinned block is infeasible; the whole LP is solved instead (work west)
    from engine.backends import SolverOptions
    from engine.backends.block_start import solve_block_start

    sc = engine.Scenario.from_dict(_home_cannot_work_alone())
    f = build(prepare(sc))
    arrays = f.model.arrays()
    assert solve_block_start(f.model, arrays, SolverOptions(block_start="primal"),
                             highs.to_highs, highs.run_definite, highs.read_outcome) is None
    res = engine.optimize(sc, block_start="primal")
    ref = engine.optimize(sc, backend="pyomo")
    assert res.status == engine.Status.OPTIMAL
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)


def test_block_start_tree_merges_the_sites_in_pairs_first():
    # 5 ring-coupled copies: level 1 frees the pairs 0->1 and 2->3 (two 2-site blocks and
    # site 4), level 2 the pair 1->2 (sites 0-3 and site 4), the whole LP the rest (3->4,
    # 4->0); the same optimum as the plain solve
    from engine.backends import SolverOptions, solve

    sc = scenario(5, coupled=True, ring=True, shifted=True)
    plain = engine.optimize(sc)
    f = build(prepare(sc))
    arrays = f.model.arrays()
    out = solve(f.model, arrays, options=SolverOptions(block_start="tree"))
    assert f.model.notes["block_start_stats"]["blocks"] == [5, 3, 2]
    assert out.objective == pytest.approx(plain.objective, rel=1e-6)
    _feasible(arrays, out.x)


def test_block_start_is_the_default_unless_a_solver_is_named():
    from engine.backends import SolverOptions, solve

    sc = scenario(2, coupled=True, ring=True)
    for options, used in ((None, True), (SolverOptions(block_start="off"), False),
                          (SolverOptions(highs_options={"solver": "ipm"}), False)):
        f = build(prepare(sc))
        solve(f.model, options=options)
        assert ("block_start_stats" in f.model.notes) == used
    with pytest.raises(ValueError, match="block_start"):
        engine.optimize(sc, block_start="both")
