"""Batches: a sweep gives, scenario by scenario, what ``engine.optimize`` gives one by one;
in-place re-use of a HiGHS model gives what rebuilding gives; a killed worker or an
interrupted batch loses and duplicates nothing; bad input is a clear error."""
from __future__ import annotations

import contextlib
import os
import signal

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES, base_dict

import engine
from engine import batch
from engine.batch.worker import BatchOptions, solve_one

#: Objectives of a batch against one-by-one solves, and in-place against rebuilt.
RTOL_OBJ = 1e-6

#: Battery size x carbon price x green floor: 5 x 5 x 2 = 50 small scenarios. A floor of 0
#: adds no floor rows: two model structures, so the batch rebuilds each scenario (and
#: updates a held model of the same structure in place).
GRID = {
    "sites[0].batteries[0].energy_mwh": [2.0, 4.0, 8.0, 16.0, 32.0],
    "policy.carbon_price_per_t": [0.0, 50.0, 200.0, 500.0, 1000.0],
    "policy.green_share_min_fraction": [0.0, 0.4],
}
#: The same with floors above 0: one structure, solved from the sweep's parametric map.
GRID_MAPPED = {**GRID, "policy.green_share_min_fraction": [0.2, 0.4]}


def _sweep(**kw) -> batch.Sweep:
    return batch.Sweep(base=engine.Scenario.from_dict(base_dict(24)), name="test", **kw)


def _pid(row: dict) -> int:
    return int(row["worker"].split(":")[1])


@pytest.fixture(scope="module")
def one_by_one() -> dict[str, float]:
    """Objectives of engine.optimize of every scenario of GRID and GRID_MAPPED by id."""
    return {it.id: engine.optimize(it.scenario).objective
            for g in (GRID, GRID_MAPPED) for it in _sweep(grid=g).expand()}


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """50 scenarios (from the parametric map) on 2 local workers; one worker is killed
    after the 5th result."""
    store = tmp_path_factory.mktemp("killed")
    killed: list[int] = []

    def kill_once(row: dict) -> None:
        if len(killed) == 0 and row["index"] >= 0 and row.get("worker"):
            seen.append(row)
            if len(seen) == 5:
                killed.append(_pid(row))
                os.kill(killed[0], signal.SIGKILL)

    seen: list[dict] = []
    out = batch.run(_sweep(grid=GRID_MAPPED), store=store, workers=2, progress=False,
                    on_result=kill_once, flush_rows=8)
    return out, store, killed


def test_local_batch_equals_optimize_one_by_one_with_a_worker_killed(killed_run, one_by_one):
    out, store, killed = killed_run
    assert killed and out.crashes >= 1 and out.mapped
    raw = pd.read_parquet(store)  # the plain dataset, as pandas reads it
    assert len(raw) == 50 and raw["scenario_id"].is_unique
    assert set(raw["scenario_id"]) == {it.id for it in _sweep(grid=GRID_MAPPED).expand()}
    assert (raw["status"] == "optimal").all(), raw[["status", "error"]]
    got = raw.set_index("scenario_id")["objective"]
    for sid in raw["scenario_id"]:
        assert got[sid] == pytest.approx(one_by_one[sid], rel=RTOL_OBJ)
    assert out.solved == 50 and out.reused > 0
    frame = batch.read_store(store)
    assert list(frame["index"]) == list(range(50))
    assert {"policy.carbon_price_per_t", "cost.carbon", "kpi.green_share",
            "build_s", "solve_s", "error"} <= set(frame.columns)
    # the swept values are columns, costs add up to the objective
    np.testing.assert_allclose(frame.filter(like="cost.").sum(axis=1), frame["objective"],
                               rtol=1e-7)
    st = batch.store_status(store)
    assert (st["total"], st["done"], st["failed"], st["pending"]) == (50, 50, 0, 0)


def test_rerun_recomputes_nothing(killed_run):
    _, store, _ = killed_run
    again = batch.run(_sweep(grid=GRID_MAPPED), store=store, workers=2, progress=False)
    assert (again.total, again.skipped, again.solved) == (50, 50, 0)
    assert len(pd.read_parquet(store)) == 50


def test_interrupted_batch_resumes_without_recomputing(tmp_path):
    # 50 scenarios: stopped at the 7th result, the workers cannot have finished them all
    # (with 18 a fast machine's workers sometimes had, leaving nothing to resume)
    sweep = _sweep(grid=GRID)

    def stop(row: dict) -> None:
        seen.append(row["scenario_id"])
        if len(seen) == 7:
            raise KeyboardInterrupt

    seen: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        batch.run(sweep, store=tmp_path, workers=2, progress=False, on_result=stop,
                  flush_rows=3)
    stored = set(pd.read_parquet(tmp_path)["scenario_id"])
    # every row that arrived was stored (the driver writes what reached it on the way out;
    # workers stored theirs, and tasks already running finished and stored theirs too)
    assert set(seen) <= stored and len(stored) < 50
    resumed: list[str] = []
    out = batch.run(sweep, store=tmp_path, workers=2, progress=False,
                    on_result=lambda r: resumed.append(r["scenario_id"]))
    assert out.skipped == len(stored) and out.solved == 50 - len(stored)
    assert not set(resumed) & stored  # nothing stored was solved again
    raw = pd.read_parquet(tmp_path)
    assert len(raw) == 50 and raw["scenario_id"].is_unique


def test_a_part_a_worker_wrote_before_dying_counts_as_done(tmp_path):
    """A worker writes its task's part file, then dies before reporting: the driver finds
    the part under the task's name and does not run the task again."""
    from engine.batch._tasks import Plan
    from engine.batch.worker import solve_task

    sweep = _sweep(grid={"policy.carbon_price_per_t": [0.0, 40.0, 80.0]})
    items = sweep.expand()
    st = batch.Store(tmp_path)
    st.open(sweep.name, sweep.batch_hash(), items, sweep.paths())
    plan = Plan(st, worker_writes=True)
    name = plan.name()
    assert plan.sink(name) is None and plan.recover(name) is None  # columns not fixed yet
    opts = BatchOptions()
    first = solve_task([(it.index, it.id, it.params, it.scenario) for it in items[:1]], opts)
    assert first.part is None and "cost" in first.rows[0]  # came back whole: driver writes
    st.fix_columns(st.columns_of(first.rows[0]))
    res = solve_task([(it.index, it.id, it.params, it.scenario) for it in items[1:]], opts,
                     sink=plan.sink(name))
    assert res.part == name and not any("cost" in r for r in res.rows)
    found = plan.recover(name)  # as after the worker's death
    assert [r["scenario_id"] for r in found.rows] == [it.id for it in items[1:]]
    assert st.stored_ids() == {it.id for it in items[1:]}
    again = _sweep(grid={"policy.carbon_price_per_t": [0.0, 40.0, 80.0]})
    out = batch.run(again, store=tmp_path, workers=1, progress=False)
    assert (out.skipped, out.solved) == (2, 1)
    frame = batch.read_store(tmp_path)
    assert len(frame) == 3 and frame["scenario_id"].is_unique
    for it, obj in zip(items, frame["objective"]):
        assert obj == pytest.approx(engine.optimize(it.scenario).objective, rel=RTOL_OBJ)


def test_in_place_reuse_equals_rebuild_across_prices_sizes_and_floors():
    sweep = _sweep(samples=30, seed=7, distributions={
        "sites[0].batteries[0].energy_mwh": {"uniform": [1.0, 40.0]},
        "sites[0].batteries[0].charge_power_mw": {"uniform": [0.5, 4.0]},
        # below every import price: no import/export binary (that would be a MILP)
        "sites[0].grid.export_price_per_mwh": {"uniform": [0.0, 25.0]},
        "sites[0].grid.import_max_mw": {"uniform": [6.0, 12.0]},
        "policy.carbon_price_per_t": {"uniform": [0.0, 300.0]},
        "policy.green_share_min_fraction": {"uniform": [0.0, 0.5]},
        "sites[0].pv[0].capacity_mw": {"uniform": [2.0, 12.0]},
    })
    items = sweep.expand()
    # this thread's held models start empty (a test run before may have left one of the
    # same structure: then the first scenario would already be re-used)
    from engine.batch import worker

    vars(worker._local).clear()
    # a structural change in the middle: a second battery (more columns and rows)
    two = base_dict(24)
    two["sites"][0]["batteries"].append({**two["sites"][0]["batteries"][0], "name": "b2"})
    extra = engine.Scenario.from_dict(two)
    seq = [it.scenario for it in items[:15]] + [extra] + [it.scenario for it in items[15:]]
    reuse, rebuild = BatchOptions(reuse=True), BatchOptions(reuse=False)
    rows_in = [solve_one(i, str(i), {}, sc, reuse)[0] for i, sc in enumerate(seq)]
    rows_re = [solve_one(i, str(i), {}, sc, rebuild)[0] for i, sc in enumerate(seq)]
    assert all(r["status"] == "optimal" for r in rows_in + rows_re), \
        [r["error"] for r in rows_in + rows_re if r["status"] != "optimal"]
    for a, b in zip(rows_in, rows_re):
        assert a["objective"] == pytest.approx(b["objective"], rel=RTOL_OBJ)
    reused = [r["reused"] for r in rows_in]
    # the first of each structure is built (the base without a green floor was the
    # warm-up's), the second battery too; after it, the held model of one battery is re-used
    assert not reused[0] and not reused[15] and reused[16]
    assert sum(reused) == len(seq) - 2
    assert not any(r["reused"] for r in rows_re)


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(engine.ScenarioError, match=r"sites\[0\].batteries\[0\] has no field "
                                                   r"'energy_mwhh'"):
        _sweep(grid={"sites[0].batteries[0].energy_mwhh": [1.0]}).expand()
    with pytest.raises(engine.ScenarioError, match=r"has 1 element\(s\), no \[3\]"):
        _sweep(grid={"sites[3].grid.import_max_mw": [1.0]}).expand()
    with pytest.raises(engine.ScenarioError, match="cannot read the path"):
        _sweep(grid={"sites[0]..grid": [1.0]}).expand()
    with pytest.raises(engine.ScenarioError, match=r"scenario 1 \(policy.carbon_price_per_t="
                                                   r"'cheap'\): policy.carbon_price_per_t"):
        _sweep(grid={"policy.carbon_price_per_t": [10.0, "cheap"]}).expand()
    with pytest.raises(engine.ScenarioError, match=r"scenario 0 .*energy_mwh: must be >= 0"):
        _sweep(overrides=[{"sites[0].batteries[bess].energy_mwh": -1.0}]).expand()
    for empty in ({"grid": {}}, {"overrides": []}, {"samples": 0, "distributions": {}},
                  {"grid": {"policy.carbon_price_per_t": []}}):
        with pytest.raises(engine.ScenarioError, match="empty"):
            _sweep(**empty).expand()
    with pytest.raises(engine.ScenarioError, match="exactly one of grid, overrides and samples"):
        _sweep(grid={"policy.carbon_price_per_t": [1.0]}, overrides=[{}]).expand()
    # a store written by another batch definition: refused before any worker starts
    a = _sweep(grid={"policy.carbon_price_per_t": [1.0, 2.0]})
    batch.Store(tmp_path).open(a.name, a.batch_hash(), a.expand(), a.paths())
    b = _sweep(grid={"policy.carbon_price_per_t": [1.0, 3.0]})
    with pytest.raises(engine.ScenarioError, match="written by another batch definition"):
        batch.run(b, store=tmp_path, workers=1, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(engine.ScenarioError, match="holds no batch manifest"):
        batch.run(a, store=tmp_path / "other", workers=1, progress=False)
    with pytest.raises(engine.ScenarioError, match="not a batch store"):
        batch.read_store(tmp_path / "other")


def test_failures_are_recorded_and_the_rest_go_on():
    # an infeasible scenario (a green floor the grid cannot meet) is a row with its diagnosis
    sc = engine.Scenario.from_dict({**base_dict(24), "policy": {
        "green_share_min_fraction": 0.99, "green_matching": "hourly"}})
    row, _ = solve_one(0, "x", {}, sc, BatchOptions())
    assert row["status"] == "infeasible" and row["objective"] is None and row["error"]


def test_sweep_file_window_and_cli(tmp_path, capsys):
    from engine.cli import main

    base = tmp_path / "small.yaml"
    engine.Scenario.from_dict(base_dict(48)).to_yaml(base)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: cli\nbase: small.yaml\nwindow: {start_h: 24, horizon_h: 24}\n"
                     "overrides:\n- {policy.carbon_price_per_t: 0.0}\n"
                     "- {policy.carbon_price_per_t: 100.0}\n")
    sw = batch.load_sweep(sweep)
    assert sw.base_scenario().horizon_h == 24 and sw.base_scenario().start == "2023-06-02 00:00"
    assert [j.name for j in sw.base_scenario().jobs] == []  # the job (hours 2..20) is outside
    store = tmp_path / "out"
    assert main(["batch", str(sweep), "--workers", "1", "--store", str(store),
                 "--no-progress", "--hourly"]) == 0
    assert "2 scenarios, 0 already stored, 2 solved now" in capsys.readouterr().out
    rows = pd.read_parquet(store)  # the hourly files under _hourly/ are not summary rows
    assert len(rows) == 2
    for sid in rows["scenario_id"]:
        assert len(pd.read_parquet(store / "_hourly" / f"{sid}.parquet")) == 24
    assert main(["batch", "--status", str(store)]) == 0
    assert "done 2, failed 0, pending 0" in capsys.readouterr().out
    assert main(["batch", "--status", str(tmp_path)]) == 2
    assert "not a batch store" in capsys.readouterr().err


def test_example_sweep_validates():
    sw = batch.load_sweep(EXAMPLES / "sweep_battery_price.yaml")
    items = sw.expand()
    assert len(items) == 36 and len({it.id for it in items}) == 36
    assert sw.base_scenario().horizon_h == 168


# ---------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def thread_cluster():
    """A Dask LocalCluster of 2 workers in this process (fast to start)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster


@pytest.mark.parametrize("grid, mapped", [(GRID, False), (GRID_MAPPED, True)])
def test_dask_batch_equals_optimize_one_by_one(thread_cluster, one_by_one, tmp_path, grid,
                                               mapped):
    from distributed import Client

    with Client(thread_cluster) as client:
        out = batch.run(_sweep(grid=grid), executor=client, store=tmp_path, progress=False)
    raw = pd.read_parquet(tmp_path)
    assert out.mapped is mapped
    assert out.solved == 50 and len(raw) == 50 and raw["scenario_id"].is_unique
    assert (raw["status"] == "optimal").all()
    got = raw.set_index("scenario_id")["objective"]
    for it in _sweep(grid=grid).expand():
        assert got[it.id] == pytest.approx(one_by_one[it.id], rel=RTOL_OBJ)
    # the workers are threads here: each keeps its own HiGHS models
    assert out.reused > 0 and raw["worker"].nunique() >= 1


def test_cli_batch_on_a_dask_scheduler(thread_cluster, tmp_path, capsys):
    from engine.cli import main

    base = tmp_path / "small.yaml"
    engine.Scenario.from_dict(base_dict(24)).to_yaml(base)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: small.yaml\ngrid:\n  policy.carbon_price_per_t: [0.0, 10.0, 20.0]\n")
    assert main(["batch", str(sweep), "--scheduler", thread_cluster.scheduler_address,
                 "--store", str(tmp_path / "out"), "--no-progress", "--driver-writes"]) == 0
    assert "3 scenarios, 0 already stored, 3 solved now" in capsys.readouterr().out
    raw = pd.read_parquet(tmp_path / "out")  # rows sent to this process, written here
    assert len(raw) == 3 and (raw["status"] == "optimal").all()


@contextlib.contextmanager
def _dask_defaults_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.mark.slow
@pytest.mark.parametrize("cluster", ["dask defaults", "engine.batch.local_cluster"])
def test_dask_worker_killed_mid_batch_every_scenario_once(tmp_path, cluster):
    pytest.importorskip("distributed")
    killed: list[int] = []

    def kill_once(row: dict) -> None:
        if not killed:
            killed.append(_pid(row))
            os.kill(killed[0], signal.SIGKILL)

    start = _dask_defaults_cluster if cluster == "dask defaults" else batch.local_cluster
    with start(2) if start is batch.local_cluster else start() as client:
        out = batch.run(_sweep(grid=GRID_MAPPED), executor=client, store=tmp_path,
                        progress=False, on_result=kill_once)
    assert killed and killed[0] != os.getpid()
    raw = pd.read_parquet(tmp_path)
    assert out.solved == 50 and len(raw) == 50 and raw["scenario_id"].is_unique
    assert (raw["status"] == "optimal").all(), \
        raw.loc[raw["status"] != "optimal", ["status", "error"]].to_dict("records")


@pytest.mark.slow
def test_local_cluster_applies_the_batch_config_to_its_workers_only(one_by_one, tmp_path):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")  # its configuration defaults come with it
    before = dask.config.get("distributed.worker.profile.enabled")

    def worker_config() -> tuple:
        import dask

        return (dask.config.get("distributed.worker.profile.enabled"),
                dask.config.get("distributed.admin.tick.interval"))

    with batch.local_cluster(2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        # the worker processes got the settings (from their nanny) ...
        assert set(client.run(worker_config).values()) == {
            (False, batch.DASK_CONFIG["distributed.admin.tick.interval"])}
        # ... and the scheduler too (no work stealing extension running)
        assert client.run_on_scheduler(
            lambda dask_scheduler: "stealing" in dask_scheduler.extensions) is False
        # this process's configuration was not changed behind its back
        assert dask.config.get("distributed.worker.profile.enabled") == before
        out = batch.run(_sweep(grid=GRID_MAPPED), executor=client, store=tmp_path,
                        progress=False)
    assert dask.config.get("distributed.worker.profile.enabled") == before
    raw = pd.read_parquet(tmp_path)
    assert out.solved == 50 and raw["scenario_id"].is_unique and out.mapped
    got = raw.set_index("scenario_id")["objective"]
    for it in _sweep(grid=GRID_MAPPED).expand():
        assert got[it.id] == pytest.approx(one_by_one[it.id], rel=RTOL_OBJ)


@pytest.mark.slow
def test_cli_batch_on_a_local_cluster_the_engine_starts(tmp_path, capsys):
    pytest.importorskip("distributed")
    from engine.cli import main

    base = tmp_path / "small.yaml"
    engine.Scenario.from_dict(base_dict(24)).to_yaml(base)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: small.yaml\ngrid:\n  policy.carbon_price_per_t: [0.0, 10.0, 20.0]\n")
    assert main(["batch", str(sweep), "--scheduler", "local", "--workers", "2",
                 "--store", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "3 scenarios, 0 already stored, 3 solved now" in capsys.readouterr().out
    raw = pd.read_parquet(tmp_path / "out")
    assert len(raw) == 3 and (raw["status"] == "optimal").all()
    pids = raw["worker"].map(lambda w: int(w.split(":")[1]))
    assert (pids != os.getpid()).all()  # solved in the cluster's worker processes


def test_tasks_are_guided_bounded_by_time_and_deal_every_scenario_once():
    from engine.batch._tasks import Tasks
    from engine.batch.sweep import SweepItem

    items = [SweepItem(index=i, id=f"s{i}", params={}, scenario=None) for i in range(1000)]
    tasks = Tasks(items, 2, None, min_task_s=0.1, max_task_s=1.0, share=2)
    first = tasks.next()
    assert len(first) == Tasks.MAX_UNTIMED  # nothing timed yet: the untimed cap
    # nothing timed yet: a quarter of the rest per worker at most, whatever the share
    assert len(Tasks(items[:100], 2, None, share=2).next()) == 13
    tasks.observe([{"total_s": 0.01}] * 10 + [{"status": "crashed"}])  # 10 ms a scenario
    assert tasks.bounds() == (10, 100)  # 0.1 s and 1 s of work
    sizes = [len(first)]
    dealt = list(first)
    while tasks:
        t = tasks.next()
        sizes.append(len(t))
        dealt += t
    assert [it.index for it in dealt] == list(range(1000))  # each once, in order
    assert sizes[1] == 100  # ceil(936 / 4) = 234, at most 1 s of work
    assert all(a >= b for a, b in zip(sizes[1:], sizes[2:]))  # large first, small last
    assert min(sizes[:-1]) == 10 and sizes[-1] <= 10  # at least 0.1 s but for the rest
    # the guided share per worker: a quarter with share 4, half with share 2
    t4 = Tasks(items, 2, None, share=4)
    t4.observe([{"total_s": 0.001}])
    assert len(t4.next()) == 125
    t2 = Tasks(items, 2, None, share=2)
    t2.observe([{"total_s": 0.001}])
    assert len(t2.next()) == 250
    assert len(Tasks(items, 2, 7).next()) == 7  # a fixed chunk


def test_a_pool_whose_workers_die_on_start_is_given_up_not_replaced_forever():
    # every new pool is broken before it takes a task (its workers die on start): after
    # max_crashes pools in a row, each scenario is recorded as crashed and the run returns
    from concurrent.futures.process import BrokenProcessPool

    from engine.batch._tasks import Tasks
    from engine.batch.runner import _LocalRunner
    from engine.batch.sweep import SweepItem

    class DeadPool:
        def submit(self, *a, **k):
            raise BrokenProcessPool("workers died on start")

        def shutdown(self, **k):
            pass

    made = []

    class Runner(_LocalRunner):
        def _new_pool(self):
            made.append(1)
            return DeadPool()

    class NoPlan:
        def name(self):
            return "part"

        def sink(self, name):
            return None

        def recover(self, name):
            return None

    items = [SweepItem(index=i, id=f"s{i}", params={"x": i}, scenario=None) for i in range(5)]
    runner = Runner(2, None, None, max_crashes=3, ctx=type("C", (), {"pmap": None,
                                                                      "token": None})())
    runner.pool = runner._new_pool()
    rows = []
    runner.run(Tasks(items, 2, None), lambda res: rows.extend(res.rows), NoPlan())
    assert sorted(r["scenario_id"] for r in rows) == [f"s{i}" for i in range(5)]
    assert {r["status"] for r in rows} == {"crashed"}
    assert "no worker could start" in rows[0]["error"]
    assert len(made) == 3  # three pools in a row broke: no fourth is started


def test_summary_row_equals_the_full_extraction_without_its_tables():
    # summarize skips the report tables (per-job tables, demand charges): every cost and
    # KPI must still be the full extraction's, with capped, non-preemptible and plain jobs
    # and a demand charge present
    from engine.backends.reuse import ReusableHighs
    from engine.model.build import build
    from engine.model.data import prepare
    from engine.results.extract import extract, summarize

    prices = [40.0, 10.0, 10.0, 60.0, 20.0, 5.0, 5.0, 50.0, 30.0, 10.0, 70.0, 20.0]
    sc = engine.Scenario.from_dict({
        "name": "summary", "start": "2023-03-01 00:00", "timezone": "UTC", "horizon_h": 12,
        "sites": [{"name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
                   "grid": {"import_max_mw": 10, "import_price_per_mwh": prices,
                            "demand_charge_per_mw_month": 50.0},
                   "datacenter": {"gpus": 1000, "it_power_per_gpu_kw": 1.0, "pue": 1.2}}],
        "jobs": [{"name": "c", "gpu_hours": 3000.0, "gpus": 1000, "deadline_h": 12,
                  "power_cap": {}},
                 {"name": "n", "energy_mwh": 2.0, "max_power_mw": 1.0, "deadline_h": 12,
                  "preemptible": False},
                 {"name": "p", "energy_mwh": 1.5, "max_power_mw": 0.5, "release_h": 2,
                  "deadline_h": 10}],
        "policy": {"carbon_price_per_t": 20.0},
    })
    f = build(prepare(sc))
    out, _ = ReusableHighs().solve(f.model, f.model.arrays())
    assert out.status == "optimal"
    full, summary = extract(f, out.x), summarize(f, out.x)
    assert not full["jobs"].empty and not full["demand_charges"].empty
    assert full["kpis"]["job_completion"] == pytest.approx(1.0, rel=1e-6)
    assert full["kpis"]["job_energy_saved_mwh"] > 0  # the capped job saved energy
    for part in ("costs", "kpis"):
        pd.testing.assert_series_equal(summary[part], full[part], check_exact=True)
