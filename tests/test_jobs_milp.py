"""Non-preemptible jobs, gang blocks and GPU power capping: small cases whose optimum is
derived by hand in each docstring, run on both backends.

Every case: one site, 1,000 GPUs at 1 kW (IT capacity 1 MW), PUE 1, grid only, so the
objective is sum_t price[t] * IT[t].
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ATOL_BOUND, check_invariants

import engine
from engine.components._gpu_power import PowerCap, hull_segments
from engine.model.build import build
from engine.model.data import prepare

BACKENDS = ["highs", "pyomo"]


def scenario(prices, jobs, *, inflexible=None, gpus=1000):
    T = len(prices)
    dc = {"gpus": gpus, "it_power_per_gpu_kw": 1.0, "pue": 1.0}
    if inflexible is not None:
        dc["inflexible_it_mw"] = list(inflexible)
    return engine.Scenario.from_dict({
        "name": "jobs-milp", "start": "2023-03-01 00:00", "timezone": "UTC", "horizon_h": T,
        "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                   "grid": {"import_max_mw": 10, "import_price_per_mwh": list(prices)},
                   "datacenter": dc}],
        "jobs": list(jobs),
    })


def job_row(res, name):
    return res.jobs.set_index("job").loc[name]


def power(res, name):
    return res.job_power_mw(name).to_numpy()


# --------------------------------------------------------------------- non-preemptible
PRICES = [50, 40, 10, 5, 30, 8, 60, 60]


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_preemptible_job_takes_the_cheapest_contiguous_run(backend):
    """3 MWh at a fixed 1 MW: a 3-hour run in [0, 8); prices 50 40 10 5 30 8 60 60.

    Run cost by start hour: 0: 100, 1: 55, 2: 45, 3: 43, 4: 98, 5: 128. Optimum: start 3,
    hours 3-5, cost 5 + 30 + 8 = 43. (Preemptible, it would take hours 2, 3, 5 for 23.)
    """
    job = {"name": "np", "energy_mwh": 3, "deadline_h": 8, "max_power_mw": 1,
           "preemptible": False}
    sc = scenario(PRICES, [job])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(43.0, rel=1e-9)
    np.testing.assert_allclose(power(res, "np"), [0, 0, 0, 1, 1, 1, 0, 0], atol=1e-9)
    row = job_row(res, "np")
    assert row["start_h"] == 3 and not row["preemptible"]
    check_invariants(sc, res)
    free = engine.optimize(scenario(PRICES, [dict(job, preemptible=True)]), backend=backend)
    assert free.objective == pytest.approx(23.0, rel=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_preemptible_partial_last_hour(backend):
    """2.5 MWh at 1 MW: 3 hours, the last at 0.5 MW (the remainder).

    Cost by start: 0: 50 + 40 + 5 = 95, 1: 40 + 10 + 2.5 = 52.5, 2: 10 + 5 + 15 = 30,
    3: 5 + 30 + 4 = 39, 4: 30 + 8 + 30 = 68, 5: 8 + 60 + 30 = 98. Optimum 30 from hour 2.
    """
    sc = scenario(PRICES, [{"name": "np", "energy_mwh": 2.5, "deadline_h": 8,
                            "max_power_mw": 1, "preemptible": False}])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(30.0, rel=1e-9)
    np.testing.assert_allclose(power(res, "np"), [0, 0, 1, 1, 0.5, 0, 0, 0], atol=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_preemptible_window_and_gpus(backend):
    """500 GPUs (0.5 MW fixed), 1 MWh: a 2-hour run inside [1, 5); starts 1, 2, 3 only.

    Cost by start: 1: 0.5 * (40 + 10) = 25, 2: 0.5 * (10 + 5) = 7.5, 3: 0.5 * (5 + 30) =
    17.5. Optimum 7.5 from hour 2; the cheaper hour 5 (8) lies outside the window. Only the
    3 feasible starts get a binary.
    """
    sc = scenario(PRICES, [{"name": "np", "gpu_hours": 1000, "gpus": 500, "release_h": 1,
                            "deadline_h": 5, "preemptible": False}])
    f = build(prepare(sc))
    assert f.model.var_groups["job/start"].size == 3
    assert f.model.var_groups["job/power_mw"].size == 4
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(7.5, rel=1e-9)
    np.testing.assert_allclose(power(res, "np"), [0, 0, 0.5, 0.5, 0, 0, 0, 0], atol=1e-9)
    check_invariants(sc, res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_non_preemptible_jobs_share_the_capacity(backend):
    """Two 2-hour runs at 0.6 MW each in [0, 8) with IT capacity 1 MW: they cannot overlap.

    Pair costs of 2-hour runs (per MW): start 2: 15, start 3: 35, start 4: 38, start 1: 50.
    Best disjoint pair: starts 2 and 4 (hours 2-3 and 4-5): 0.6 * (15 + 38) = 31.8, against
    2 and 5 (0.6 * (15 + 68)), 1 and 3 (0.6 * (50 + 35)) ... Optimum 31.8.
    """
    jobs = [{"name": n, "energy_mwh": 1.2, "deadline_h": 8, "max_power_mw": 0.6,
             "preemptible": False} for n in ("a", "b")]
    sc = scenario(PRICES, jobs)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(31.8, rel=1e-9)
    assert sorted(res.jobs["start_h"]) == [2, 4]
    check_invariants(sc, res)


def test_non_preemptible_job_that_cannot_fit_is_refused():
    """5 MWh at 1 MW needs 5 contiguous hours; the window [3, 7) holds 4."""
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]\.deadline_h: non-preemptible "
                                                   r"job 'np' runs 5 contiguous hours"):
        scenario(PRICES, [{"name": "np", "energy_mwh": 5, "release_h": 3, "deadline_h": 7,
                           "max_power_mw": 1, "preemptible": False}])
    # fits the window, but the inflexible load never leaves 0.8 MW for 2 hours in a row
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]: non-preemptible job 'np' "
                                                   r"needs 0.8 MW for 2 contiguous"):
        scenario([10] * 4, [{"name": "np", "energy_mwh": 1.6, "deadline_h": 4,
                             "max_power_mw": 0.8, "preemptible": False}],
                 inflexible=[0, 0.5, 0, 0.5])


def test_a_plain_scenario_stays_an_lp():
    sc = scenario(PRICES, [{"name": "j", "energy_mwh": 3, "deadline_h": 8, "max_power_mw": 1}])
    assert not build(prepare(sc)).model.arrays().is_mip


# --------------------------------------------------------------------- gang blocks
@pytest.mark.parametrize("backend", BACKENDS)
def test_gang_blocks_run_whole_blocks(backend):
    """1,250 GPU-hours in blocks of 250 GPUs (0.25 MW) in [0, 3); prices 10 20 30;
    inflexible load 0.4 0.1 0 MW leaves 0.6 0.9 1.0 MW.

    Without blocks (LP): 0.6 MW in hour 0 and 0.65 in hour 1: 6 + 13 = 19. With blocks:
    hour 0 holds 2 blocks (0.5 MW), hour 1 holds 3 (0.75 MW): 5 + 15 = 20 (the next best,
    2 + 2 + 1 blocks, costs 22.5). The inflexible load adds 4 + 2 = 6: optima 25 and 26.
    """
    job = {"name": "g", "gpu_hours": 1250, "gpus": 1000, "deadline_h": 3}
    lp = engine.optimize(scenario([10, 20, 30], [job], inflexible=[0.4, 0.1, 0]),
                         backend=backend)
    assert lp.objective == pytest.approx(25.0, rel=1e-9)
    sc = scenario([10, 20, 30], [dict(job, gpu_block=250)], inflexible=[0.4, 0.1, 0])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(26.0, rel=1e-9)
    p = power(res, "g")
    np.testing.assert_allclose(p, [0.5, 0.75, 0], atol=1e-9)
    np.testing.assert_allclose(p / 0.25, np.round(p / 0.25), atol=1e-9)
    check_invariants(sc, res)


def test_gang_blocks_bad_input():
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]\.gpu_hours.*multiple of "
                                                   r"gpu_block=250"):
        scenario([10] * 3, [{"name": "g", "gpu_hours": 1300, "gpus": 1000, "gpu_block": 250,
                             "deadline_h": 3}])
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]\.energy_mwh: .* whole number "
                                                   r"of block-hours"):
        scenario([10] * 3, [{"name": "g", "energy_mwh": 1.3, "gpu_block": 250,
                             "deadline_h": 3}])
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]\.gpus: must be a multiple"):
        scenario([10] * 3, [{"name": "g", "gpu_hours": 1000, "gpus": 900, "gpu_block": 250,
                             "deadline_h": 3}])


# --------------------------------------------------------------------- power capping
def capped(name="c", gpu_hours=8300.0, deadline_h=12, **kw):
    return {"name": name, "gpu_hours": gpu_hours, "gpus": 1000, "deadline_h": deadline_h,
            "power_cap": {}, **kw}


def check_capped(sc, res, name, work_gpu_h):
    """Invariants of a capped job: power only in its window and within its bounds; the
    work delivered; energy saved = work at full power - energy drawn."""
    job = next(j for j in sc.jobs if j.name == name)
    p = power(res, name)
    outside = np.ones(sc.horizon_h, bool)
    outside[job.release_h:job.deadline_h] = False
    assert np.all(p[outside] == 0.0)
    assert p.min() >= -ATOL_BOUND and p.max() <= sc.job_max_power_mw(job) + ATOL_BOUND
    row = job_row(res, name)
    assert row["work_gpu_h"] == pytest.approx(work_gpu_h, rel=1e-7)
    assert row["delivered_mwh"] == pytest.approx(p.sum(), rel=1e-9)
    assert row["energy_saved_mwh"] == pytest.approx(work_gpu_h / 1000 - p.sum(), abs=1e-7)


def test_default_curve_hull():
    """Default points (0.5, 0.68) (0.6, 0.83) (0.7, 0.94) (0.8, 0.98) (1, 1): work per unit
    of power 1.36, 1.383, 1.343, 1.225, 1 -> most efficient cap 0.6; the floor point (0.5)
    lies below the chord from the origin to (0.6, 0.83) and drops out of the hull."""
    a, b, best = hull_segments(PowerCap())
    assert best == 0.6
    np.testing.assert_allclose(b, [0.83 / 0.6, 1.1, 0.4, 0.1])
    np.testing.assert_allclose(a, [0.0, 0.83 - 1.1 * 0.6, 0.94 - 0.4 * 0.7, 0.98 - 0.1 * 0.8])


@pytest.mark.parametrize("backend", BACKENDS)
def test_capped_job_in_a_long_flat_window_runs_at_the_most_efficient_cap(backend):
    """8,300 GPU-hours on 1,000 GPUs (full power 1 MW), 12 flat hours at 10 per MWh.

    Energy per unit of work is lowest at the 60 % cap (0.83 of full speed): 0.6 / 0.83 MWh
    per MWh-at-full-power. 8.3 MWh of full-power work needs 8.3 * 0.6 / 0.83 = 6.0 MWh
    (10 hours at 0.6 MW fit the window): cost 60, saving 8.3 - 6.0 = 2.3 MWh (27.7 %), the
    curve's own saving 1 - 0.6 / 0.83. Uncapped it would cost 83.
    """
    sc = scenario([10] * 12, [capped()])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(60.0, rel=1e-9)
    row = job_row(res, "c")
    assert row["delivered_mwh"] == pytest.approx(6.0, rel=1e-9)
    assert row["energy_saved_mwh"] == pytest.approx(2.3, rel=1e-7)
    assert row["mean_power_cap_fraction"] == pytest.approx(0.6, rel=1e-7)
    assert res.kpis["job_energy_saved_mwh"] == pytest.approx(2.3, rel=1e-7)
    assert res.kpis["job_completion"] == pytest.approx(1.0, rel=1e-9)
    check_capped(sc, res, "c", 8300)
    uncapped = engine.optimize(scenario([10] * 12, [capped(power_cap=None)]), backend=backend)
    assert uncapped.objective == pytest.approx(83.0, rel=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_capped_job_in_a_short_window_spreads_at_70_percent(backend):
    """9,400 GPU-hours in 10 flat hours: 0.94 of full speed each hour on average.

    The hull is concave, so spreading evenly is optimal: 0.94 of full speed is the 70 % cap
    (a kink of the curve), 0.7 MW every hour: 7.0 MWh, cost 70, saving 2.4 MWh. (Unevenly,
    e.g. 65 % and 75 %, does 0.885 + 0.96 = 1.845 < 1.88 with the same energy.)
    """
    sc = scenario([10] * 10, [capped(gpu_hours=9400, deadline_h=10)])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(70.0, rel=1e-9)
    np.testing.assert_allclose(power(res, "c"), np.full(10, 0.7), atol=1e-7)
    assert job_row(res, "c")["mean_power_cap_fraction"] == pytest.approx(0.7, rel=1e-7)
    check_capped(sc, res, "c", 9400)


@pytest.mark.parametrize("backend", BACKENDS)
def test_capped_job_runs_harder_in_the_cheap_hour(backend):
    """1,900 GPU-hours in 2 hours priced 10 and 20.

    Marginal cost of work per hour and hull segment (price / slope): hour 0: 7.23, 9.09,
    25, 100; hour 1: 14.5, 18.2, 50, 200; segments hold 0.83, 0.11, 0.04, 0.02 of work.
    Cheapest first: hour 0 to 70 % (0.94), hour 1 to 70 % (0.94), then 0.02 more in hour 0
    on its 0.4 slope: 0.7 + 0.02 / 0.4 = 0.75. Power 0.75 and 0.7 MW: cost 7.5 + 14 = 21.5,
    energy 1.45 MWh, saving 0.45 MWh. Uncapped: 1 + 0.9 MW, cost 28.
    """
    sc = scenario([10, 20], [capped(gpu_hours=1900, deadline_h=2)])
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(21.5, rel=1e-9)
    np.testing.assert_allclose(power(res, "c"), [0.75, 0.7], atol=1e-7)
    assert job_row(res, "c")["energy_saved_mwh"] == pytest.approx(0.45, rel=1e-7)
    check_capped(sc, res, "c", 1900)


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_kinds_of_jobs_in_one_model(backend):
    """Hours 0-7 priced as the valley above, hours 8-19 flat at 10; IT capacity 3 MW.

    Non-preemptible 3 MWh at 1 MW in [0, 8): start 3, 43. Plain 2 MWh at <= 1 MW in [0, 8):
    hours 3 and 5, 5 + 8 = 13. Gang 1,000 GPU-hours in blocks of 500 GPUs in [0, 8): 1 MW
    in hour 3, 5 (hour 3 then holds 3 MW, the capacity). Capped 8,300 GPU-hours in [8, 20):
    60 as in the flat-window case. Optimum 43 + 13 + 5 + 60 = 121.
    """
    sc = scenario(PRICES + [10] * 12, [
        {"name": "np", "energy_mwh": 3, "deadline_h": 8, "max_power_mw": 1,
         "preemptible": False},
        {"name": "plain", "energy_mwh": 2, "deadline_h": 8, "max_power_mw": 1},
        {"name": "gang", "gpu_hours": 1000, "gpus": 1000, "gpu_block": 500, "deadline_h": 8},
        capped(release_h=8, deadline_h=20),
    ], gpus=3000)
    res = engine.optimize(sc, backend=backend)
    assert res.objective == pytest.approx(121.0, rel=1e-9)
    assert job_row(res, "np")["start_h"] == 3
    np.testing.assert_allclose(power(res, "gang")[:8], [0, 0, 0, 1, 0, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(power(res, "plain")[:8], [0, 0, 0, 1, 0, 1, 0, 0], atol=1e-9)
    assert job_row(res, "c")["delivered_mwh"] == pytest.approx(6.0, rel=1e-9)
    check_capped(sc, res, "c", 8300)
    for name in ("np", "plain", "gang"):
        p = power(res, name)
        assert np.all(p[8:] == 0.0)
        assert p.sum() == pytest.approx(sc.job_energy_mwh(next(
            j for j in sc.jobs if j.name == name)), rel=1e-9)


def test_power_cap_bad_input():
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]\.power_cap.*concave"):
        scenario([10] * 4, [capped(deadline_h=4, power_cap={
            "power_fraction": [0.5, 0.7, 1.0], "throughput_fraction": [0.6, 0.7, 1.0]})])
    with pytest.raises(engine.ScenarioError, match=r"power_cap: a capped job needs gpus"):
        scenario([10] * 4, [{"name": "c", "gpu_hours": 10, "deadline_h": 4, "power_cap": {}}])
    with pytest.raises(engine.ScenarioError, match=r"specified in work: give gpu_hours"):
        scenario([10] * 4, [{"name": "c", "energy_mwh": 1, "gpus": 100, "deadline_h": 4,
                             "power_cap": {}}])
    with pytest.raises(engine.ScenarioError, match=r"capped job must be preemptible"):
        scenario([10] * 4, [capped(deadline_h=4, preemptible=False)])
    # 4 hours at full speed do at most 4,000 GPU-hours
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]\.gpu_hours: .* at most 4000"):
        scenario([10] * 4, [capped(gpu_hours=4001, deadline_h=4)])


# --------------------------------------------------------------------- rolling horizon
def test_rolling_refuses_gang_jobs():
    job = {"name": "x", "gpu_hours": 1000, "gpus": 1000, "deadline_h": 24, "gpu_block": 500}
    sc = scenario([10] * 24, [job])
    with pytest.raises(engine.ScenarioError, match=r"jobs\[0\]: job 'x' has gpu_block .* rolling"):
        engine.rolling_optimize(sc, window_h=12, step_h=6, forecaster="perfect")


@pytest.mark.parametrize("job", [
    {"name": "x", "energy_mwh": 1, "deadline_h": 24, "max_power_mw": 1, "preemptible": False},
    {"name": "x", "gpu_hours": 1000, "gpus": 1000, "deadline_h": 24, "power_cap": {}},
])
def test_rolling_runs_non_preemptible_and_capped_jobs(job):
    # operated by engine.operations.model_window (tests/test_rolling_microgrid.py): one
    # window over the horizon is the optimum; 12/6 windows do the job
    sc = scenario([10] * 24, [job])
    opt = engine.optimize(sc)
    one = engine.rolling_optimize(sc, window_h=24, step_h=24, forecaster="perfect")
    assert one.objective == pytest.approx(opt.objective, rel=1e-6)
    roll = engine.rolling_optimize(sc, window_h=12, step_h=6, forecaster="perfect")
    assert roll.kpis["job_shortfall_mwh"] < 1e-6
    assert roll.objective >= opt.objective * (1 - 1e-6)


def test_job_tables_hold_the_new_columns():
    sc = scenario(PRICES, [{"name": "j", "energy_mwh": 1, "deadline_h": 8}])
    res = engine.optimize(sc)
    cols = set(res.jobs.columns)
    assert {"preemptible", "start_h", "work_gpu_h", "energy_saved_mwh",
            "mean_power_cap_fraction"} <= cols
    assert pd.isna(job_row(res, "j")["start_h"])
    assert res.kpis["job_energy_saved_mwh"] == 0.0
