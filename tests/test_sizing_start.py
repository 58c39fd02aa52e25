"""The annual sizing LP started from fixed capacities (fix, solve, free, solve again).

References: the optimum of a small LP derived by hand, and the cold solve of the same
scenario (``sizing.annual_start: none``): the start changes the path, never the optimum.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import check_invariants

import engine
from engine.backends import SolverOptions, solve
from engine.economics import with_sizes
from engine.model import LinearModel


def _hand_lp() -> tuple[LinearModel, int]:
    """Capacity ``c`` in [0, 10] at 5 per unit, a row ``c >= 1``; two hours of 4 MW load
    served by ``g[t] <= a[t] c`` (a = 1, 0.5) and imports at 4 per MWh.

    A unit of ``c`` saves 4 (1 + 0.5) = 6 > 5 while hour 0 is not covered (c <= 4), then
    4 x 0.5 = 2 < 5: ``c* = 4``, imports 0 and 4 - 2 = 2, objective 5 x 4 + 4 x 2 = 28.
    """
    m = LinearModel()
    c = m.add_variables("cap", 1, lb=0.0, ub=10.0, cost=5.0)
    g = m.add_variables("g", 2)
    imp = m.add_variables("imp", 2, cost=4.0)
    a = np.array([1.0, 0.5])
    m.add_constraints("avail", 2, [(g.idx, 1.0), (np.repeat(c.idx, 2), -a)], ub=0.0)
    m.add_constraints("balance", 2, [(g.idx, 1.0), (imp.idx, 1.0)], lb=4.0, ub=4.0)
    m.add_constraints("at_least_one", 1, [(c.idx, 1.0)], lb=1.0)
    return m, int(c.idx[0])


@pytest.mark.parametrize("start, fallback", [(4.0, 0.0), (9.0, 0.0), (0.0, 1.0), (25.0, 0.0),
                                             (0.98, 0.0), (0.9, 0.0)])
def test_fixed_start_reaches_the_hand_optimum(start, fallback):
    """Whatever the start -- the optimum, a poor one, one that breaks ``c >= 1`` (the fixed
    model is infeasible: solved cold instead, as 0 raised stays 0), one beyond the bound
    (clipped to 10), or ones just short of ``c >= 1`` (raised 5 % to 1.029, or 5 % to a
    still infeasible 0.945 and then 25 % to 1.125: started from there) -- the LP's own
    optimum comes back."""
    m, col = _hand_lp()
    opts = SolverOptions(fixed_start=(np.array([col]), np.array([start])))
    out = solve(m, options=opts)
    assert out.status == engine.Status.OPTIMAL
    assert out.objective == pytest.approx(28.0, rel=1e-12)
    assert out.x[col] == pytest.approx(4.0, abs=1e-9)
    assert out.timings["fallback"] == fallback
    cold = solve(_hand_lp()[0])
    assert cold.objective == pytest.approx(out.objective, rel=1e-12)
    # the freed continuation's step columns are folded back: the LP's columns, its point
    assert out.x.shape == cold.x.shape
    np.testing.assert_allclose(out.x, cold.x, atol=1e-9)


def _two_capacity_lp(negated: bool = False) -> tuple[LinearModel, np.ndarray]:
    """Capacities ``c1`` in [0, 10] at 5 per unit and ``c2`` in [0, 3] at 1; two hours of 4 MW
    load served by ``g1[t] <= a1[t] c1`` (a1 = 1, 0.5), ``g2[t] <= c2`` and imports at 4.

    A unit of ``c2`` saves 4 x 2 = 8 > 1: ``c2`` at its bound 3, leaving 1 MW an hour. A unit
    of ``c1`` then saves 4 (1 + 0.5) = 6 > 5 up to ``c1 = 1`` (hour 0 covered), 4 x 0.5 = 2
    < 5 beyond: ``c1* = 1``; imports 0 and 0.5; objective 5 + 3 + 2 = 10.
    """
    m = LinearModel()
    c = m.add_variables("cap", 2, lb=0.0, ub=np.array([10.0, 3.0]),
                        cost=np.array([5.0, 1.0]))
    g1 = m.add_variables("g1", 2)
    g2 = m.add_variables("g2", 2)
    imp = m.add_variables("imp", 2, cost=4.0)
    a1 = np.array([1.0, 0.5])
    if negated:  # see _two_capacity_lp_negated
        m.add_constraints("avail1", 2, [(g1.idx, -1.0), (np.repeat(c.idx[0], 2), a1)],
                          lb=0.0, ub=50.0)
        m.add_constraints("avail2", 2, [(g2.idx, -2.0), (np.repeat(c.idx[1], 2), 2.0)],
                          lb=0.0)
        m.add_constraints("both", 1, [(c.idx[None, :], 1.0)], ub=20.0)
    else:
        m.add_constraints("avail1", 2, [(g1.idx, 1.0), (np.repeat(c.idx[0], 2), -a1)],
                          ub=0.0)
        m.add_constraints("avail2", 2, [(g2.idx, 1.0), (np.repeat(c.idx[1], 2), -1.0)],
                          ub=0.0)
    m.add_constraints("balance", 2, [(g1.idx, 1.0), (g2.idx, 1.0), (imp.idx, 1.0)],
                      lb=4.0, ub=4.0)
    return m, c.idx


@pytest.mark.parametrize("start", [(9.0, 0.0), (0.5, 3.0), (1.0, 3.0), (0.0, 2.0)])
def test_freed_steps_move_each_capacity_either_way(start):
    """Two capacities freed at once from starts on either side of the optimum, one of them at
    its bound (its up step has no room): the hand optimum, the point folded back whole."""
    m, cols = _two_capacity_lp()
    out = solve(m, options=SolverOptions(fixed_start=(cols, np.array(start))))
    assert out.status == engine.Status.OPTIMAL
    assert out.timings["fallback"] == 0.0
    assert out.objective == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_allclose(out.x[cols], [1.0, 3.0], atol=1e-9)
    cold = solve(_two_capacity_lp()[0])
    assert out.x.shape == cold.x.shape
    np.testing.assert_allclose(out.x, cold.x, atol=1e-9)


def _year(annual_start: str | None):
    """A year (2023, UTC) of a flat 6 MW load; PV (a clear-sky day shape, 60 % less in
    winter), a battery and the grid connection extendable."""
    t = np.arange(8760)
    day = np.clip(np.sin((t % 24 - 6) / 12 * np.pi), 0, None)
    season = 0.7 + 0.3 * np.cos(2 * np.pi * (t / 8760 - 0.45))
    price = np.where((t % 24 >= 17) & (t % 24 < 23), 600.0, 250.0)
    inv = {"lifetime_years": 20, "extendable": True}
    sc = {"name": "year", "start": "2023-01-01 00:00", "timezone": "UTC", "horizon_h": 8760,
          "finance": {"discount_rate_fraction": 0.06, "analysis_years": 15},
          "policy": {"green_share_min_fraction": 0.5},
          "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                     "datacenter": {"gpus": 6000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                                    "inflexible_it_mw": 6.0},
                     "pv": [{"name": "p", "capacity_mw": 0.0,
                             "availability_fraction": (day * season).round(4).tolist(),
                             "investment": {**inv, "capex_per_mw": 3.0e6, "max_mw": 60.0}}],
                     "batteries": [{"name": "b", "energy_mwh": 0.0, "charge_power_mw": 0.0,
                                    "discharge_power_mw": 0.0, "soc_min_fraction": 0.1,
                                    "investment": {**inv, "capex_per_mw": 2.5e5,
                                                   "capex_per_mwh": 9.0e5, "max_mw": 30.0,
                                                   "max_mwh": 120.0}}],
                     "grid": {"import_max_mw": 4.0, "import_price_per_mwh": price.tolist(),
                              "clean_share_fraction": 0.3, "demand_charge_per_mw_month": 2e4,
                              "investment": {**inv, "capex_per_mw": 5.0e5, "max_mw": 20.0}}}]}
    if annual_start is not None:
        sc["sizing"] = {"annual_start": annual_start}
    return engine.Scenario.from_dict(sc)


@pytest.mark.slow
def test_annual_start_changes_the_path_not_the_optimum():
    """The default start (typical days) against a cold solve and the Pyomo backend (which
    solves cold): one optimum to 1e-6, and the sized dispatch obeys the invariants."""
    warm = engine.optimize(_year(None))
    cold = engine.optimize(_year("none"))
    via_pyomo = engine.optimize(_year(None), backend="pyomo")
    assert warm.status == cold.status == via_pyomo.status == engine.Status.OPTIMAL
    assert "start_s" in warm.timings and "start_s" not in cold.timings
    assert warm.objective == pytest.approx(cold.objective, rel=1e-6)
    assert via_pyomo.objective == pytest.approx(cold.objective, rel=1e-6)
    assert warm.investment["size"].sum() > 0
    check_invariants(with_sizes(_year(None), warm.investment), warm)


def test_annual_start_field_is_checked():
    with pytest.raises(engine.ScenarioError, match="sizing.annual_start"):
        _year("sometimes")


def test_start_sizes_without_the_pre_start(monkeypatch, caplog):
    """A pre-start that fails (its clustering here) leaves the :data:`START_DAYS` model solved
    cold: the same sizes as that model's own cold optimum, and a warning naming the days."""
    import engine.annual_start as start_mod
    from engine.components.finance import investment_table
    from engine.model.build import build
    from engine.model.data import prepare

    real = start_mod.aggregate

    def failing(data, n_days, *args, **kwargs):
        if n_days == start_mod.PRE_START_DAYS:
            raise RuntimeError("clustering failed")
        return real(data, n_days, *args, **kwargs)

    sc = _year(None)
    data = prepare(sc)
    monkeypatch.setattr(start_mod, "aggregate", failing)
    got = start_mod.annual_start(sc, data)
    assert got is not None
    assert f"no start from {start_mod.PRE_START_DAYS} cyclic typical days" in caplog.text
    f = build(real(data, start_mod.START_DAYS, storage="cyclic"))
    out = solve(f.model)
    table = investment_table(f.meta["sizing"], out.x)
    cold = {(r.kind, r.name, r.quantity): float(r.size) for r in table.itertuples(index=False)}
    assert got[0].keys() == cold.keys()
    for k, v in cold.items():
        assert got[0][k] == pytest.approx(v, rel=1e-6, abs=1e-6)


def test_start_falls_back_to_linked_days(monkeypatch, caplog):
    """Cyclic typical days that fail (their clustering here) leave the start to typical days
    linked across the year: the sizes of that chain run alone."""
    import engine.annual_start as start_mod
    from engine.model.data import prepare

    real = start_mod.aggregate

    def failing(data, n_days, *args, storage="linked", **kwargs):
        if storage == "cyclic":
            raise RuntimeError("clustering failed")
        return real(data, n_days, *args, storage=storage, **kwargs)

    sc = _year(None)
    data = prepare(sc)
    monkeypatch.setattr(start_mod, "aggregate", failing)
    got = start_mod.annual_start(sc, data)
    assert got is not None
    assert "cyclic typical days" in caplog.text
    monkeypatch.setattr(start_mod, "aggregate", real)
    monkeypatch.setattr(start_mod, "START_STORAGE", ("linked",))
    linked = start_mod.annual_start(sc, data)
    assert linked is not None and got[0].keys() == linked[0].keys()
    for k, v in linked[0].items():
        assert got[0][k] == pytest.approx(v, rel=1e-9, abs=1e-9)


def _two_capacity_lp_negated() -> tuple[LinearModel, np.ndarray]:
    """:func:`_two_capacity_lp` with its availability rows written ``-g + a c >= 0`` (a
    negative coefficient on the hour's column: the reduced LP's bound comes from the row's
    lower bound; ``<= 50`` never binds, but a basis must name the right one of the two) and a
    fixed-capacities-only row ``c1 + c2 <= 20``: the same optimum, 10."""
    return _two_capacity_lp(negated=True)


@pytest.mark.parametrize("make", [_hand_lp, _two_capacity_lp, _two_capacity_lp_negated])
@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_reduced_fixed_basis_is_the_fixed_lps_optimum(make, scale):
    """The fixed LP solved in its reduced (dispatch) form: its mapped basis is accepted by
    HiGHS on the whole fixed LP as optimal (no simplex iteration from it), with the fixed
    LP's own objective; and the started solve reaches the hand optimum."""
    import highspy

    from engine.backends.block_start import _basis
    from engine.backends.highs import run_definite, to_highs
    from engine.backends.warm import reduced_fixed_basis

    m, cols = make()
    cols = np.atleast_1d(cols)
    arrays = m.arrays()
    values = np.minimum(scale * np.array([1.0, 3.0])[:cols.size] + 1.0, arrays.col_ub[cols])
    basis = reduced_fixed_basis(arrays, cols, values, lambda a: to_highs(a, SolverOptions()),
                                run_definite)
    assert basis is not None
    direct = to_highs(arrays, SolverOptions())
    direct.changeColsBounds(cols.size, cols.astype(np.int32), values, values)
    direct.run()
    h = to_highs(arrays, SolverOptions())
    h.changeColsBounds(cols.size, cols.astype(np.int32), values, values)
    assert h.setBasis(_basis(highspy, basis.col_status, basis.row_status)) \
        == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().simplex_iteration_count == 0
    assert h.getInfo().objective_function_value == pytest.approx(
        direct.getInfo().objective_function_value, rel=1e-12)
    out = solve(m, options=SolverOptions(fixed_start=(cols, values)))
    assert out.timings["fallback"] == 0.0
    assert out.objective == pytest.approx(solve(make()[0]).objective, rel=1e-12)


def test_an_infeasible_start_is_tried_once_per_distinct_value(monkeypatch):
    """Fixing ``c = 0`` (breaking ``c >= 1``) stays 0 when raised: the reduced LP is tried
    once, found infeasible, and the LP is solved cold without solving the fixed LP again."""
    import engine.backends.warm as warm

    calls = []
    real = warm._reduced_basis
    monkeypatch.setattr(warm, "_reduced_basis", lambda *a: calls.append(a[2].copy()) or real(*a))
    m, col = _hand_lp()
    out = solve(m, options=SolverOptions(fixed_start=(np.array([col]), np.array([0.0]))))
    assert out.objective == pytest.approx(28.0, rel=1e-12)
    assert out.timings["fallback"] == 1.0 and out.timings["fixed_iterations"] == 0.0
    assert [c.tolist() for c in calls] == [[0.0]]
    calls.clear()
    out = solve(m, options=SolverOptions(fixed_start=(np.array([col]), np.array([0.5]))))
    assert out.timings["fallback"] == 1.0  # 0.5, 0.525, 0.625: each below 1
    assert [c.tolist() for c in calls] == [[0.5], [0.525], [0.625]]


def test_reduced_fixed_basis_refuses_an_infeasible_fixing():
    """Fixing ``c = 0`` breaks the row ``c >= 1`` (no other column left in it): no basis,
    and the started solve falls back to the cold one (as without the reduction)."""
    from engine.backends.highs import run_definite, to_highs
    from engine.backends.warm import reduced_fixed_basis

    m, col = _hand_lp()
    assert reduced_fixed_basis(m.arrays(), np.array([col]), np.array([0.0]),
                               lambda a: to_highs(a, SolverOptions()), run_definite) is None


def test_an_extendable_gpu_count_alone_gets_the_start():
    """A data center's GPU count is the only extendable size (it is not in an asset list):
    the annual LP is still started from typical days, to the cold solve's optimum."""
    t = np.arange(8760)
    price = np.where((t % 24 >= 17) & (t % 24 < 23), 600.0, 250.0)
    d = {"name": "gpus", "start": "2023-01-01 00:00", "timezone": "UTC", "horizon_h": 8760,
         "policy": {"value_of_lost_load_per_mwh": 400.0},
         "finance": {"discount_rate_fraction": 0.06, "analysis_years": 10},
         "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                    "grid": {"import_max_mw": 100, "import_price_per_mwh": price.tolist()},
                    "datacenter": {"gpus": 0, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                                   "inflexible_it_mw": (5 + 2 * np.sin(2 * np.pi * t / 24))
                                   .round(3).tolist(),
                                   "investment": {"capex_per_gpu": 500.0, "lifetime_years": 10,
                                                  "extendable": True, "max_gpus": 20000}}}]}
    warm = engine.optimize(engine.Scenario.from_dict(d))
    cold = engine.optimize(engine.Scenario.from_dict({**d, "sizing": {"annual_start": "none"}}))
    assert "start_s" in warm.timings and "start_s" not in cold.timings
    assert warm.status == cold.status == engine.Status.OPTIMAL
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    gpus = warm.investment.set_index("asset").loc["datacenter.s", "size"]
    assert 0 < gpus < 20000
