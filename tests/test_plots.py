"""Dispatch plots: one site per figure, any window inside the horizon, clear errors outside."""
from __future__ import annotations

import copy

import pytest
import yaml
from conftest import base_dict

import engine
from engine.cli import main
from engine.results.plotting import site_columns


def _two_sites() -> dict:
    d = base_dict()
    second = copy.deepcopy(d["sites"][0])
    second["name"] = "s2"
    second["pv"][0]["name"] = "pv2"
    second["pv"][0]["capacity_mw"] = 1.0
    second["batteries"][0]["name"] = "bess2"
    d["sites"].append(second)
    d["jobs"][0]["sites"] = ["s1"]
    return d


@pytest.fixture(scope="module")
def two_site_result():
    return engine.optimize(engine.Scenario.from_dict(_two_sites()))


def test_each_figure_stacks_one_sites_flows(two_site_result):
    res = two_site_result
    assert set(site_columns(res, "s2")) >= {"pv.pv2/power_mw", "grid.s2/import_mw",
                                            "battery.bess2/soc_mwh", "datacenter.s2/facility_mw"}
    assert not any(c.startswith(("pv.pv/", "grid.s1/")) for c in site_columns(res, "s2"))
    fig = res.plot(site="s2", hours=24)
    ax = fig.axes[0]
    assert ax.get_title().endswith("at site s2")
    # the stack's top equals s2's own supply (PV + discharge + import + unserved), hour 0
    h = res.hourly
    own = (h["pv.pv2/power_mw"] + h["battery.bess2/discharge_mw"] + h["grid.s2/import_mw"]).iloc[0]
    tops = [c.get_paths()[0].vertices[:, 1].max() for c in ax.collections]
    assert max(tops) == pytest.approx(
        max(own, *(h["pv.pv2/power_mw"] + h["battery.bess2/discharge_mw"]
                   + h["grid.s2/import_mw"])), rel=1e-9)
    assert "CNY/MWh" in fig.axes[2].get_ylabel()


@pytest.mark.parametrize("kwargs, match", [
    ({}, r"sites \['s1', 's2'\]: choose one with site="),
    ({"site": "nowhere"}, "site 'nowhere' is not in the scenario"),
    ({"site": "s1", "start_h": 24}, r"start_h must be an hour of the horizon, 0..23, got 24"),
    ({"site": "s1", "start_h": -1}, "start_h must be an hour of the horizon"),
    ({"site": "s1", "hours": 0}, "hours must be >= 1"),
])
def test_bad_plot_arguments_are_clear(two_site_result, kwargs, match):
    with pytest.raises(ValueError, match=match):
        two_site_result.plot(**kwargs)


def test_window_is_cut_at_the_horizons_end(two_site_result):
    fig = two_site_result.plot(site="s1", start_h=20, hours=168)
    x = fig.axes[2].lines[0].get_xdata()
    assert len(x) == 4


def test_cli_plot_start_past_the_horizon_exits_2_before_solving(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_dict()))
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--plot-start", "9000"]) == 2
    err = capsys.readouterr().err
    assert "--plot-start" in err and "0..23, got 9000" in err
    assert not (tmp_path / "r").exists()


def test_cli_writes_one_figure_per_site(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(_two_sites()))
    out = tmp_path / "r"
    assert main(["run", str(path), "--out", str(out)]) == 0
    assert (out / "dispatch_s1.png").stat().st_size > 10_000
    assert (out / "dispatch_s2.png").stat().st_size > 10_000
    assert not (out / "dispatch.png").exists()
