"""The command line end to end."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import EXAMPLES, base_dict

from engine.cli import main


def test_run_writes_parquet_summary_and_plot(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict()))
    out = tmp_path / "res"
    assert main(["run", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "optimal" in text and "green_share" in text and "objective" in text
    h = pd.read_parquet(out / "hourly.parquet")
    assert len(h) == 24 and "grid.s1/import_mw" in h.columns
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "optimal" and "cfe_score" in s["kpis"]
    assert (out / "dispatch.png").stat().st_size > 10_000


def test_bad_input_exits_2_with_the_field(tmp_path, capsys):
    d = base_dict()
    d["sites"][0]["batteries"][0]["soc_min_fraction"] = 1.3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["run", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "sites[0].batteries[0].soc_min_fraction: must be <= 1.0, got 1.3" in err


def test_validate_and_export(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict()))
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["export", str(path), str(tmp_path / "m.mps")]) == 0
    assert (tmp_path / "m.mps").read_text().startswith("NAME")


def test_infeasible_exits_1(tmp_path, capsys):
    d = base_dict()
    d["sites"][0]["hydro"] = [{"name": "h", "min_power_mw": 50.0, "max_power_mw": 50.0}]
    path = tmp_path / "inf.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["run", str(path), "--out", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "infeasible" in out and "bus/balance" in out
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "infeasible"


@pytest.mark.slow
def test_console_script_on_the_annual_example(tmp_path):
    """`wattbit run examples/xining_park.yaml` as a user runs it, in a subprocess."""
    out = tmp_path / "res"
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(EXAMPLES / "xining_park.yaml"),
         "--out", str(out)], capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "optimal" in proc.stdout
    assert not proc.stdout.startswith("Running HiGHS")  # the library does not print banners
    h = pd.read_parquet(out / "hourly.parquet")
    assert len(h) == 8760
    assert (out / "dispatch.png").exists()


def test_run_rolling_writes_windows_too(tmp_path, capsys):
    d = base_dict(96)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d))
    out = tmp_path / "roll"
    assert main(["run", str(path), "--out", str(out), "--rolling", "48/24",
                 "--forecaster", "seasonal_naive", "--no-voi", "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert "rolling: window 48 h, step 24 h, forecaster 'seasonal_naive'" in text
    w = pd.read_parquet(out / "windows.parquet")
    assert list(w["origin_h"]) == [0, 24, 48, 72]
    assert len(pd.read_parquet(out / "hourly.parquet")) == 96
    s = json.loads((out / "summary.json").read_text())
    assert s["rolling"]["window_h"] == 48 and s["windows"]["count"] == 4


def test_run_rolling_rejects_a_bad_window(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict(48)))
    with pytest.raises(SystemExit):
        main(["run", str(path), "--rolling", "12/24"])
    assert "--rolling needs 1 <= STEP <= WINDOW, got window 12 h, step 24 h" in capsys.readouterr().err
