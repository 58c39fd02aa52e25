"""Both backends give the same optimum; Pyomo hooks; statuses; exports."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import base_dict, check_invariants

import engine

RTOL_OBJ = 1e-6


def _scenarios():
    yield "small", base_dict()
    d = base_dict(T=72)
    d["policy"].update(green_share_min_fraction=0.5, green_matching="hourly")
    d["sites"][0]["grid"]["outage_hours"] = [30, 31, 32]
    d["sites"][0]["grid"]["demand_charge_per_mw_month"] = 50.0
    d["sites"][0]["hydro"] = [{"name": "h", "min_power_mw": 0.2, "max_power_mw": 1.5,
                               "energy_budget_mwh": 12.0, "budget_period_h": 24}]
    d["jobs"].append({"name": "j2", "gpu_hours": 20000.0, "release_h": 24, "deadline_h": 72,
                      "gpus": 1500})
    yield "hourly_green_outage_hydro", d
    d = base_dict(T=48)
    d["sites"][0]["wind"] = [{"name": "w", "capacity_mw": 3.0}]
    d["sites"][0]["weather"] = {
        "ghi": [max(0.0, 800 * np.sin((t % 24 - 6) / 12 * np.pi)) for t in range(48)],
        "dni": [max(0.0, 700 * np.sin((t % 24 - 6) / 12 * np.pi)) for t in range(48)],
        "dhi": [max(0.0, 100 * np.sin((t % 24 - 6) / 12 * np.pi)) for t in range(48)],
        "temp_air": [5.0 + 8 * np.sin(t / 24 * 2 * np.pi) for t in range(48)],
        "wind_speed": [4.0 + 3 * np.cos(t / 7) for t in range(48)],
    }
    d["sites"][0]["pv"] = [{"name": "pv", "capacity_mw": 8.0}]
    d["policy"].update(green_share_min_fraction=0.6, curtailment_penalty_per_mwh=3.0)
    yield "weather_annual_green", d


@pytest.mark.parametrize("name, d", list(_scenarios()), ids=[n for n, _ in _scenarios()])
def test_backends_agree_and_invariants_hold(name, d):
    sc = engine.Scenario.from_dict(copy.deepcopy(d))
    a = engine.optimize(sc, backend="highs")
    b = engine.optimize(sc, backend="pyomo")
    check_invariants(sc, a)
    check_invariants(sc, b)
    assert b.objective == pytest.approx(a.objective, rel=RTOL_OBJ)
    for k in ("it_energy_mwh", "facility_energy_mwh"):
        assert b.kpis[k] == pytest.approx(a.kpis[k], rel=1e-9)


def test_pyomo_model_is_named_and_hook_changes_the_optimum():
    sc = engine.Scenario.from_dict(base_dict())
    base = engine.optimize(sc, backend="pyomo")
    seen = {}

    def hook(model, comps):
        import pyomo.environ as pe

        seen["names"] = sorted(c.name for c in model.component_objects(pe.Var))
        imp = comps["grid/import_mw"]
        # forbid grid import in the evening peak, a user constraint the engine does not know
        model.no_evening_import = pe.Constraint(range(17, 22), rule=lambda m, t: imp[0, t] <= 0.5)

    res = engine.optimize(sc, backend="pyomo", model_hook=hook)
    assert "grid__import_mw" in seen["names"] and "battery__soc_mwh" in seen["names"]
    assert res.status == engine.Status.OPTIMAL
    assert res.hourly["grid.s1/import_mw"].iloc[17:22].max() <= 0.5 + 1e-7
    assert res.objective >= base.objective - 1e-9
    assert base.hourly["grid.s1/import_mw"].iloc[17:22].max() > 0.5  # the hook did bind


def test_hook_needs_pyomo_backend():
    sc = engine.Scenario.from_dict(base_dict())
    with pytest.raises(ValueError, match="model_hook needs backend='pyomo'"):
        engine.optimize(sc, model_hook=lambda m, c: None)
    with pytest.raises(ValueError, match="backend must be one of"):
        engine.optimize(sc, backend="gurobi")


def test_infeasible_status_on_both_backends():
    d = base_dict()
    d["sites"][0]["hydro"] = [{"name": "h", "min_power_mw": 50.0, "max_power_mw": 50.0}]
    sc = engine.Scenario.from_dict(d)
    for backend in ("highs", "pyomo"):
        res = engine.optimize(sc, backend=backend)
        assert res.status == engine.Status.INFEASIBLE, backend
        assert res.hourly.empty


def test_export_lp_writes_the_model_that_is_solved(tmp_path):
    import highspy

    sc = engine.Scenario.from_dict(base_dict())
    path = engine.export_lp(sc, tmp_path / "m.mps")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(engine.optimize(sc).objective,
                                                                 rel=1e-9)


def test_timings_and_result_outputs(tmp_path):
    sc = engine.Scenario.from_dict(base_dict())
    res = engine.optimize(sc)
    assert set(res.timings) == {"prepare_s", "build_s", "solve_s", "extract_s", "total_s"}
    assert all(v >= 0 for v in res.timings.values())
    out = res.to_parquet(tmp_path / "out")
    import json

    import pandas as pd

    back = pd.read_parquet(out / "hourly.parquet")
    pd.testing.assert_frame_equal(back, res.hourly, check_freq=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal"
    assert summary["objective"] == pytest.approx(res.objective)
    for key in ("total_cost", "energy_cost", "demand_charge", "degradation_cost", "carbon_cost",
                "it_energy_mwh", "facility_energy_mwh", "pue", "green_share", "cfe_score",
                "emissions_t", "cue_kg_per_kwh", "curtailment_mwh", "unserved_mwh",
                "peak_import_mw", "battery_cycles", "cost_per_gpu_hour"):
        assert key in res.kpis.index
    import matplotlib.pyplot as plt

    figures_before = plt.get_fignums()
    fig = res.plot(tmp_path / "d.png", hours=24)
    assert (tmp_path / "d.png").stat().st_size > 10_000
    assert len(fig.axes) == 3
    assert plt.get_fignums() == figures_before  # pyplot's state is the caller's own


def test_time_limit_status_is_mapped():
    """A zero-iteration limit cannot prove optimality; the status says so, never 'optimal'."""
    sc = engine.Scenario.from_dict(base_dict(T=72))
    res = engine.optimize(sc, highs_options={"simplex_iteration_limit": 1, "presolve": "off"})
    assert res.status == engine.Status.TIME_LIMIT
    assert not res.has_solution and res.hourly.empty and np.isnan(res.objective)


def test_cli_time_limit_without_a_solution_exits_1(tmp_path, capsys):
    import yaml

    from engine.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict(T=72)))
    # a zero time limit stops HiGHS before any feasible point
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--time-limit", "0"]) == 1
    assert "time_limit" in capsys.readouterr().out


def test_kpis_consistent_with_hourly():
    sc = engine.Scenario.from_dict(base_dict(T=48))
    res = engine.optimize(sc)
    h = res.hourly
    fac = h["datacenter.s1/facility_mw"].sum()
    it = h["datacenter.s1/it_mw"].sum()
    assert res.kpis["pue"] == pytest.approx(fac / it)
    clean = h[["trace.s1/pv_mw", "trace.s1/grid_clean_mw"]].to_numpy().sum()
    assert res.kpis["cfe_score"] == pytest.approx(clean / fac)
    imp = h["grid.s1/import_mw"].to_numpy()
    assert res.kpis["emissions_t"] == pytest.approx(imp.sum() * 500 / 1000)
    assert res.kpis["green_share"] == pytest.approx(1 - 0.7 * imp.sum() / fac)
    assert res.kpis["cost_per_gpu_hour"] == pytest.approx(res.objective / (it * 1000 / 1.0))


def test_solver_log_goes_to_the_logger(caplog, capfd):
    import logging

    sc = engine.Scenario.from_dict(base_dict())
    with caplog.at_level(logging.INFO, logger="engine.backends"):
        engine.optimize(sc, solver_log=True)
    assert any("rows" in r.getMessage() for r in caplog.records)
    assert "Coefficient ranges" not in capfd.readouterr().out  # nothing printed to stdout


def test_both_pyomo_interfaces_agree():
    sc = engine.Scenario.from_dict(base_dict(T=48))
    a = engine.optimize(sc, backend="pyomo", pyomo_interface="standard_form")
    b = engine.optimize(sc, backend="pyomo", pyomo_interface="persistent")
    check_invariants(sc, a)
    check_invariants(sc, b)
    assert a.objective == pytest.approx(b.objective, rel=RTOL_OBJ)
    with pytest.raises(ValueError, match="pyomo_interface"):
        engine.optimize(sc, backend="pyomo", pyomo_interface="nl")


@pytest.mark.parametrize("interface", ["standard_form", "persistent"])
def test_hook_with_an_integer_variable_solves_as_a_mip(interface):
    """A user's integer variable makes the model a MIP: grid import in hour 3 must come in
    whole 0.75 MW blocks."""
    sc = engine.Scenario.from_dict(base_dict())

    def hook(model, comps):
        import pyomo.environ as pe

        model.blocks = pe.Var(domain=pe.NonNegativeIntegers, bounds=(0, 10))
        model.blocky = pe.Constraint(expr=comps["grid/import_mw"][0, 3] == 0.75 * model.blocks)

    res = engine.optimize(sc, backend="pyomo", model_hook=hook, pyomo_interface=interface)
    assert res.status == engine.Status.OPTIMAL
    imp = res.hourly["grid.s1/import_mw"].iloc[3]
    assert imp / 0.75 == pytest.approx(round(imp / 0.75), abs=1e-6)
    assert res.objective >= engine.optimize(sc).objective - 1e-6


def test_csc_builder_equals_scipy_and_sums_duplicates():
    import scipy.sparse as sp

    from engine.model import CSC

    rng = np.random.default_rng(1)
    rows = rng.integers(0, 40, 500)
    cols = rng.integers(0, 30, 500)  # many duplicate (row, col) pairs
    vals = rng.normal(size=500)
    ours = CSC.from_triplets(rows, cols, vals, (40, 30)).to_scipy()
    ref = sp.csc_matrix((vals, (rows, cols)), shape=(40, 30))
    np.testing.assert_allclose(ours.toarray(), ref.toarray(), atol=1e-12)
    assert ours.has_sorted_indices
    assert ours.nnz == len(set(zip(rows.tolist(), cols.tolist())))


@pytest.mark.parametrize("interface", ["standard_form", "persistent"])
def test_unbounded_hook_is_reported_unbounded(interface):
    """A user's variable with a negative cost and no upper bound makes the model unbounded."""
    sc = engine.Scenario.from_dict(base_dict())

    def hook(model, comps):
        import pyomo.environ as pe

        model.free_money = pe.Var(domain=pe.NonNegativeReals)
        model.objective.expr = model.objective.expr - model.free_money

    res = engine.optimize(sc, backend="pyomo", model_hook=hook, pyomo_interface=interface)
    assert res.status == engine.Status.UNBOUNDED
    assert res.hourly.empty
