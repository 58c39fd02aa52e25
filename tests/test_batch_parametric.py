"""The parametric map of a sweep (engine.batch.parametric): scenarios solved from it (no
prepare, no build, one HiGHS model updated in place) give what rebuilding gives and what
``engine.optimize`` gives one by one; a path that is not affine, that changes the model's
structure or that interacts with another falls back to rebuilding by itself."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import base_dict

import engine
from engine import batch
from engine.batch.worker import BatchContext, BatchOptions, solve_one
from engine.model.build import build
from engine.model.data import prepare
from engine.results.extract import summarize

RTOL_OBJ = 1e-6

#: Prices, sizes and floors (the floor kept above 0: a floor of 0 adds no constraint rows).
DISTRIBUTIONS = {
    "sites[0].batteries[0].energy_mwh": {"uniform": [1.0, 40.0]},
    "sites[0].batteries[0].charge_power_mw": {"uniform": [0.5, 4.0]},
    # below every import price: no import/export binary (that would be a MILP)
    "sites[0].grid.export_price_per_mwh": {"uniform": [0.0, 25.0]},
    "sites[0].grid.import_max_mw": {"uniform": [6.0, 12.0]},
    "policy.carbon_price_per_t": {"uniform": [0.0, 300.0]},
    "policy.green_share_min_fraction": {"uniform": [0.05, 0.5]},
    "sites[0].pv[0].capacity_mw": {"uniform": [2.0, 12.0]},
}


def _sweep(base: dict | None = None, **kw) -> batch.Sweep:
    return batch.Sweep(base=engine.Scenario.from_dict(base or base_dict(24)), name="t", **kw)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL_OBJ * max(1.0, abs(b))


def test_map_equals_rebuild_and_optimize_across_prices_sizes_and_floors():
    sweep = _sweep(samples=30, seed=7, distributions=DISTRIBUTIONS)
    items = sweep.expand()
    m = sweep.parametric_map()
    assert m is not None and m.paths == list(DISTRIBUTIONS)
    # what the paths change: costs (carbon and export prices), column bounds (sizes, PV),
    # matrix values (the floor scales the facility load), cost records and metadata
    for k in ("cost", "col_ub", "A", "records", "meta"):
        assert m.touched[k][0].size, k
    ctx = BatchContext("t", m)
    mapped = [solve_one(it.index, it.id, it.params, None, BatchOptions(), ctx=ctx)[0]
              for it in items]
    rebuilt = [solve_one(it.index, it.id, {}, it.scenario, BatchOptions(reuse=False))[0]
               for it in items]
    assert all(r["status"] == "optimal" for r in mapped + rebuilt)
    # the first builds the worker's model, every later one updates it
    assert [r["reused"] for r in mapped] == [False] + [True] * (len(items) - 1)
    assert all(r["prepare_s"] == 0.0 for r in mapped)
    for it, a, b in zip(items, mapped, rebuilt):
        ref = engine.optimize(it.scenario)
        assert a["objective"] == pytest.approx(b["objective"], rel=RTOL_OBJ)
        assert a["objective"] == pytest.approx(ref.objective, rel=RTOL_OBJ)
        # costs add up to the objective
        assert sum(a["cost"].values()) == pytest.approx(a["objective"], rel=1e-7)
    # the summary row from the mapped formulation equals the built formulation's at the
    # same solution (a degenerate LP may have other optimal points: compare at one x)
    from engine.backends.base import SolverOptions
    from engine.backends.highs import read_outcome, run_definite, to_highs

    for it in items[::7]:
        h = to_highs(m.arrays(it.params), SolverOptions())
        run_definite(h)
        x = read_outcome(h, False, {}).x
        got = summarize(m.formulation(it.params), x)
        want = summarize(build(prepare(it.scenario)), x)
        for part in ("costs", "kpis"):
            np.testing.assert_allclose(got[part].to_numpy(float), want[part].to_numpy(float),
                                       rtol=1e-9, atol=1e-9, err_msg=part)


def test_mapped_infeasible_scenario_is_a_row_and_the_next_one_solves():
    d = base_dict(24)
    d["policy"] = {"green_matching": "hourly", "green_share_min_fraction": 0.3}
    sweep = _sweep(d, overrides=[{"policy.green_share_min_fraction": v}
                                 for v in (0.3, 0.99, 0.35, 0.98, 0.4)])
    m = sweep.parametric_map()
    assert m is not None
    ctx = BatchContext("t", m)
    rows = [solve_one(it.index, it.id, it.params, None, BatchOptions(), ctx=ctx)[0]
            for it in sweep.expand()]
    assert [r["status"] for r in rows] == ["optimal", "infeasible", "optimal", "infeasible",
                                           "optimal"]
    assert all(r["error"] for r in rows[1::2])
    # after an infeasible solve the next scenario starts from a new model
    assert [r["reused"] for r in rows] == [False, True, False, True, False]
    for it, r in zip(sweep.expand()[::2], rows[::2]):
        assert r["objective"] == pytest.approx(engine.optimize(it.scenario).objective,
                                               rel=RTOL_OBJ)


@pytest.mark.parametrize("kw, reason", [
    # a floor of 0 has no floor rows, 0.4 has: another structure
    ({"grid": {"policy.green_share_min_fraction": [0.0, 0.4],
               "policy.carbon_price_per_t": [0.0, 100.0]}}, "structure changes"),
    # the SOC equation holds 1 / discharge_efficiency: not affine in it (3 values checked)
    ({"grid": {"sites[0].batteries[0].discharge_efficiency": [0.85, 0.9, 0.95]}},
     "not affine"),
    # carbon price x emission factor prices the import: affine in each, not additive (the
    # cross probe, where both differ from the reference, finds it)
    ({"grid": {"policy.carbon_price_per_t": [10.0, 200.0],
               "sites[0].grid.emission_factor_kg_per_mwh": [300.0, 800.0]}}, "not affine"),
    # a path whose value is not a number
    ({"overrides": [{"sites[0].grid.demand_charge_proration": "prorated"},
                    {"sites[0].grid.demand_charge_proration": "full_month"}]},
     "not a finite number"),
])
def test_paths_the_map_cannot_carry_fall_back_to_rebuilding(kw, reason, caplog):
    sweep = _sweep(**kw)
    with caplog.at_level(logging.INFO, logger="engine.batch.parametric"):
        assert sweep.parametric_map() is None
    assert reason in caplog.text
    # solved one by one (rebuilt, a held model updated when the structure allows): the
    # objectives of engine.optimize
    opts = BatchOptions()
    for it in sweep.expand():
        row, _ = solve_one(it.index, it.id, it.params, it.scenario, opts)
        assert row["objective"] == pytest.approx(engine.optimize(it.scenario).objective,
                                                 rel=RTOL_OBJ)


def test_batch_run_falls_back_and_uses_the_map(tmp_path):
    fallback = _sweep(grid={"sites[0].batteries[0].discharge_efficiency": [0.85, 0.9, 0.95]})
    mapped = _sweep(grid={"sites[0].batteries[0].energy_mwh": [4.0, 16.0],
                          "policy.carbon_price_per_t": [0.0, 50.0, 300.0]})
    for sweep, is_mapped in ((fallback, False), (mapped, True)):
        store = tmp_path / str(is_mapped)
        out = batch.run(sweep, store=store, workers=1, progress=False)
        assert out.mapped is is_mapped and out.solved == len(sweep.expand())
        got = batch.read_store(store).set_index("scenario_id")["objective"]
        for it in sweep.expand():
            assert got[it.id] == pytest.approx(engine.optimize(it.scenario).objective,
                                               rel=RTOL_OBJ)
    # hourly tables need the full extraction of each scenario's own model: no map
    out = batch.run(mapped, store=tmp_path / "hourly", workers=1, progress=False,
                    hourly=True)
    assert not out.mapped and out.solved == 6
