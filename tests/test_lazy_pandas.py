"""The path from a scenario file to the HiGHS solve does not import pandas.

``wattbit run`` imports pandas (and pyarrow.parquet) on a second core while HiGHS runs
(engine/_background.py); these tests check, in fresh processes, that nothing before the
solve imports pandas, that the main thread's imports during the background imports share
no module with them (the safety argument of the prefetch), and that the results are those
of the pandas reading of the same scenario.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import EXAMPLES, ROOT, base_dict

import engine
from engine import _background, _clock
from engine import scenario as scenario_module

EXAMPLE = EXAMPLES / "xining_park.yaml"


def run_python(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter (the worktree first on the path); its last stdout
    line is JSON."""
    env = {**os.environ, **(env or {}),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# the CLI as a user runs it, with a probe at the point where the solve starts
CLI_PROBE = """
    import json, sys
    import engine._background as bg

    seen = dict()
    real_start = bg.start

    def start(*args, **kwargs):
        seen["pandas_before_solve"] = "pandas" in sys.modules
        seen["pyarrow_before_solve"] = "pyarrow" in sys.modules
        seen["modules"] = list(bg.DEFAULT_MODULES) + list(bg._extra)
        thread = real_start(*args, **kwargs)
        seen["thread"] = thread is not None
        return thread

    bg.start = start
    from engine.cli import main

    code = main(["run", {example!r}, "--out", {out!r}, "--no-plot"])
    seen["code"] = code
    print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``wattbit run`` of the annual example in a fresh process with the PV cache warm
    (filled here: computing PV availability with pvlib needs pandas), probed where the
    solve starts."""
    from engine.model.data import prepare

    tmp = tmp_path_factory.mktemp("cli")
    env = {"WATTBIT_CACHE": "1", "WATTBIT_CACHE_DIR": str(tmp / "cache")}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        prepare(engine.load_scenario(EXAMPLE))
    assert list((tmp / "cache" / "pv").glob("*.npy"))
    seen = run_python(CLI_PROBE.format(example=str(EXAMPLE), out=str(tmp / "res")), env)
    return seen, tmp / "res"


@pytest.mark.slow
def test_wattbit_run_imports_no_pandas_before_the_solve(cli_run):
    seen, _ = cli_run
    assert seen["code"] == 0
    assert not seen["pandas_before_solve"] and not seen["pyarrow_before_solve"]
    assert seen["modules"] == ["pandas", "pyarrow.parquet"]
    assert seen["thread"] == (_background._usable_cpus() >= 2)


# modules a fresh process imports at each step, after loading, preparing and building
MODULES_AFTER_BUILD = """
    import json, sys
    from engine.scenario import load_scenario
    from engine.model.data import prepare
    from engine.model.build import build
    import engine.api, engine.cli

    sc = load_scenario({scenario!r})
    build(prepare(sc))
    for name in {before!r}:
        __import__(name)
    base = set(sys.modules)
    {action}
    print(json.dumps(sorted(set(sys.modules) - base)))
"""


def new_modules(scenario, action: str, before: tuple[str, ...] = (), env=None) -> set[str]:
    code = MODULES_AFTER_BUILD.format(scenario=str(scenario), before=list(before),
                                      action=action)
    return set(run_python(code, env))


@pytest.mark.slow
def test_main_thread_imports_nothing_the_prefetch_imports(tmp_path):
    """While the thread imports pandas, the main thread imports highspy (the solve) and,
    on a short solve, the trace kernel of extract; while it imports pyarrow.parquet, the
    main thread builds the result tables and the summary; while it imports the plot's
    matplotlib modules, the main thread writes the Parquet files. Neither may share a
    module with what the thread imports (else the two threads could wait on each other's
    imports)."""
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict(48)))
    env = {"WATTBIT_CACHE_DIR": str(tmp_path / "cache")}
    thread_pandas = new_modules(path, "import pandas", env=env)
    assert "pandas" in thread_pandas
    main_during = new_modules(path, "import highspy, engine.backends.highs, kernels.trace",
                              env=env)
    assert "highspy" in main_during
    assert not main_during & thread_pandas, sorted(main_during & thread_pandas)

    thread_parquet = new_modules(path, "import pyarrow.parquet", before=("pandas",), env=env)
    assert "pyarrow.parquet" in thread_parquet
    main_after = new_modules(
        path, "import engine; r = engine.optimize(sc); r.summary(); r.summary_dict()",
        before=("pandas", "highspy", "kernels.trace"), env=env)
    assert not main_after & thread_parquet, sorted(main_after & thread_parquet)

    # then the plot's modules (the CLI without --no-plot), while the main thread builds the
    # tables and writes the Parquet files
    thread_plot = new_modules(path, "import matplotlib.figure, matplotlib.backends.backend_agg",
                              before=("pandas", "pyarrow.parquet"), env=env)
    assert "matplotlib.figure" in thread_plot
    main_writing = new_modules(
        path, f"import engine; r = engine.optimize(sc); r.summary(); r.to_parquet({str(tmp_path / 'o')!r})",
        before=("pandas", "pyarrow.parquet", "highspy", "kernels.trace"), env=env)
    assert not main_writing & thread_plot, sorted(main_writing & thread_plot)


@contextmanager
def pandas_reading():
    """Read hours and CSV series as before the clock and the CSV fast path: through pandas."""
    calls = []
    real = _clock._pandas_clock
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_clock, "_fast_clock", lambda *a: None)
        mp.setattr(_clock, "_pandas_clock", lambda *a: calls.append(a) or real(*a))
        mp.setattr(scenario_module, "_read_csv_fast", lambda *a: None)
        _clock._cached_clock.cache_clear()
        try:
            yield calls
        finally:
            _clock._cached_clock.cache_clear()


def test_the_example_builds_the_same_model_as_with_pandas():
    from engine.api import build_model

    ours = build_model(engine.load_scenario(EXAMPLE))
    with pandas_reading() as calls:
        ref = build_model(engine.load_scenario(EXAMPLE))
    assert calls  # the reference did build its hours with pandas
    a, b = ours.model.arrays(), ref.model.arrays()
    for name in ("cost", "col_lb", "col_ub", "row_lb", "row_ub"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(a.A, name), getattr(b.A, name), err_msg=name)
    np.testing.assert_array_equal(ours.data.month, ref.data.month)
    pd.testing.assert_index_equal(ours.data.index, ref.data.index, exact=True)


@pytest.mark.slow
def test_wattbit_run_writes_the_hourly_table_of_the_pandas_reading(cli_run):
    _, out = cli_run
    written = pd.read_parquet(out / "hourly.parquet")
    with pandas_reading():
        expected = engine.optimize(engine.load_scenario(EXAMPLE)).hourly
    assert len(written) == 8760 and written.index.equals(expected.index)
    assert str(written.index.tz) == "Asia/Shanghai"
    pd.testing.assert_frame_equal(written, expected, check_exact=True, check_freq=False)


# ------------------------------------------------------------------------- the helper
def test_prefetch_does_nothing_when_imported_or_on_one_core(monkeypatch):
    assert _background.start(["pandas", "numpy"]) is None  # both imported already
    monkeypatch.setattr(_background, "_usable_cpus", lambda: 1)
    assert _background.start(["wattbit_no_such_module"]) is None


def test_failed_prefetch_leaves_the_error_to_the_main_thread(monkeypatch):
    monkeypatch.setattr(_background, "_usable_cpus", lambda: 2)
    thread = _background.start(["wattbit_no_such_module", "json"])
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    assert "wattbit_no_such_module" not in sys.modules
    with pytest.raises(ModuleNotFoundError, match="wattbit_no_such_module"):
        __import__("wattbit_no_such_module")


def test_cli_registers_pyarrow_for_the_prefetch(tmp_path, monkeypatch, capsys):
    from engine.cli import main

    monkeypatch.setattr(_background, "_extra", [])
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict()))
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--no-plot"]) == 0
    assert _background._extra == ["pyarrow.parquet"]


def test_usable_cpus_follow_the_affinity_mask():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert _background._usable_cpus() == len(os.sched_getaffinity(0))
