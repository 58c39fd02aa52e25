"""``rolling_optimize(history_h=...)``: forecasters fitted on hours before the scenario's
start, read from the scenario's own inputs; observed only, never operated; no leakage."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import check_invariants
from test_rolling import rolling_dict

import engine
from engine.errors import ScenarioError

START = pd.Timestamp("2023-06-01 00:00")


def _series(n_before: int, T: int, seed: int) -> pd.DataFrame:
    """PV, utilisation, price and temperature from ``n_before`` hours before START to the
    end of the horizon, noisy and not daily-periodic (as ``rolling_dict``'s)."""
    rng = np.random.default_rng(seed)
    n = n_before + T
    t = np.arange(-n_before, T)
    pv = np.clip(np.sin((t % 24 - 6) / 12 * np.pi), 0, None) * rng.uniform(0.3, 1.0, n)
    util = 0.4 + 0.1 * np.sin(t / 24 * 2 * np.pi) + rng.uniform(-0.05, 0.05, n)
    price = np.array([30.0] * 7 + [60.0] * 10 + [90.0] * 5 + [30.0] * 2)[t % 24]
    price = price * rng.uniform(0.8, 1.2, n)
    temp = 5 + 10 * np.sin(t / 24 * 2 * np.pi)
    time = pd.date_range(START - pd.Timedelta(hours=n_before), periods=n, freq="h")
    return pd.DataFrame({"time": time.strftime("%Y-%m-%d %H:%M"), "pv": pv.round(6),
                         "util": util.round(6), "price": price.round(4),
                         "temp": temp.round(3)})


def _write(tmp: Path, df: pd.DataFrame, T: int, name: str = "case") -> Path:
    """A rolling_dict scenario whose series are read from a timestamped CSV."""
    d = rolling_dict(T, seed=1)
    df.to_csv(tmp / f"{name}.csv", index=False)
    site = d["sites"][0]
    col = lambda c: {"csv": f"{name}.csv", "column": c}  # noqa: E731
    site["pv"][0]["availability_fraction"] = col("pv")
    site["datacenter"]["inflexible_utilization_fraction"] = col("util")
    site["grid"]["import_price_per_mwh"] = col("price")
    site["weather"] = {"temp_air": col("temp")}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def _decisions(res) -> np.ndarray:
    cols = [k for k in res.hourly.columns if k.split("/")[0].split(".")[0] in
            ("battery", "job", "grid", "pv", "bus", "datacenter")]
    return res.hourly[cols].to_numpy()


def test_callable_forecaster_sees_the_history_before_start(tmp_path):
    T, H = 72, 48
    df = _series(100, T, seed=3)
    path = _write(tmp_path, df, T)
    seen: list[np.ndarray] = []

    def last_day(history: np.ndarray, horizon: int) -> np.ndarray:
        seen.append(history.copy())
        return np.tile(history[:, -24:], -(-horizon // 24))[:, :horizon]

    # with history the forecaster needs no warm-up inside the horizon: origin 0 is forecast
    roll = engine.rolling_optimize(path, 48, 24, last_day, history_h=H)
    assert [h.shape[1] for h in seen] == [H, H + 24, H + 48]
    # rows: PV, inflexible IT load, PUE, import price; the history is the CSV's hours
    # before start (independent reference: the file itself, with the site's scaling)
    before = df.iloc[100 - H:100]
    sc = engine.load_scenario(path)
    site = sc.sites[0]
    np.testing.assert_allclose(seen[0][0], before["pv"].to_numpy() * site.pv[0].capacity_mw)
    it_mw = site.datacenter.gpus * site.datacenter.it_power_per_gpu_kw / 1e3
    np.testing.assert_allclose(seen[0][1], before["util"].to_numpy() * it_mw)
    np.testing.assert_allclose(seen[0][3], before["price"].to_numpy())
    # and the scenario's own hours follow it
    np.testing.assert_allclose(seen[1][3][H:], df["price"].to_numpy()[100:124])
    assert roll.windows["forecast"].tolist() == ["callable"] * 3
    assert roll.settings["history_h"] == H and roll.settings["warmup_h"] == 0
    assert len(roll.hourly) == T  # the history hours are never operated
    check_invariants(sc, roll)


def test_history_changes_decisions_only_through_the_forecasts(tmp_path):
    """Two files with the same scenario hours and different hours before start: the
    forecasters' runs differ (from the first window on), perfect forecasts do not; and with
    history, data after an origin still cannot change the decisions before it."""
    T, H, c = 120, 336, 72
    df = _series(H, T, seed=4)
    other = df.copy()
    rng = np.random.default_rng(9)
    other.loc[:H - 1, "pv"] = (other.loc[:H - 1, "pv"] * rng.uniform(0.2, 1.5, H)).clip(0, 1)
    other.loc[:H - 1, "price"] = other.loc[:H - 1, "price"] * rng.uniform(0.5, 2.0, H)
    a_path = _write(tmp_path, df, T, "a")
    b_path = _write(tmp_path, other, T, "b")
    a = engine.rolling_optimize(a_path, 48, 24, "holt_winters", history_h=H)
    b = engine.rolling_optimize(b_path, 48, 24, "holt_winters", history_h=H)
    assert a.settings["warmup_h"] == 0  # 336 h of history: Holt-Winters forecasts at once
    assert not np.array_equal(_decisions(a)[:24], _decisions(b)[:24])
    pa = engine.rolling_optimize(a_path, 48, 24, "perfect", history_h=H)
    pb = engine.rolling_optimize(b_path, 48, 24, "perfect", history_h=H)
    assert np.array_equal(_decisions(pa), _decisions(pb))
    # the same history, the scenario's data changed from hour c on
    later = df.copy()
    later.loc[H + c:, "pv"] = (later.loc[H + c:, "pv"] * rng.uniform(0.2, 1.8, T - c)).clip(0, 1)
    later.loc[H + c:, "price"] = later.loc[H + c:, "price"] * rng.uniform(0.5, 2.0, T - c)
    l_res = engine.rolling_optimize(_write(tmp_path, later, T, "l"), 48, 24, "holt_winters",
                                    history_h=H)
    # windows at origins 0 and 24 end by hour 72 = c: their commitments are bit-identical
    assert np.array_equal(_decisions(a)[:c], _decisions(l_res)[:c])
    wa, wl = a.windows.set_index("origin_h"), l_res.windows.set_index("origin_h")
    assert np.array_equal(wa.loc[[0, 24], "objective"].to_numpy(),
                          wl.loc[[0, 24], "objective"].to_numpy())
    assert not np.array_equal(_decisions(a)[c:], _decisions(l_res)[c:])


def test_history_that_the_inputs_do_not_cover_is_a_clear_error(tmp_path):
    T = 48
    path = _write(tmp_path, _series(24, T, seed=5), T)
    for bad in (-1, 1.5, True, "24"):
        with pytest.raises(ScenarioError, match=r"history_h must be an integer >= 0"):
            engine.rolling_optimize(path, 24, 24, "persistence", history_h=bad)
    # the CSV starts 24 h before start: 25 h are not there, and the message says which file
    with pytest.raises(ScenarioError, match=r"history_h=25: .*do not cover.*case\.csv"):
        engine.rolling_optimize(path, 24, 24, "persistence", history_h=25)
    # a Scenario object holds only its own hours
    with pytest.raises(ScenarioError, match=r"history_h=24: .*needs the scenario file"):
        engine.rolling_optimize(engine.load_scenario(path), 24, 24, "persistence",
                                history_h=24)
    # a series given as a list of horizon_h values cannot have a history
    d = yaml.safe_load(path.read_text())
    d["sites"][0]["grid"]["import_price_per_mwh"] = [50.0] * T
    listed = tmp_path / "listed.yaml"
    listed.write_text(yaml.safe_dump(d))
    with pytest.raises(ScenarioError, match=r"history_h=24: .*import_price_per_mwh"):
        engine.rolling_optimize(listed, 24, 24, "persistence", history_h=24)
    # a CSV without a time column is read by position from start: horizon_h values only
    df = _series(0, T, seed=6).drop(columns="time")
    df.to_csv(tmp_path / "pos.csv", index=False)
    d = yaml.safe_load(path.read_text())
    d["sites"][0]["grid"]["import_price_per_mwh"] = {"csv": "pos.csv", "column": "price"}
    pos = tmp_path / "pos.yaml"
    pos.write_text(yaml.safe_dump(d))
    with pytest.raises(ScenarioError, match=r"history_h=24: .*pos\.yaml.*import_price_per_mwh"):
        engine.rolling_optimize(pos, 24, 24, "persistence", history_h=24)
    # 0 and None: no history (the warm-up as before)
    r0 = engine.rolling_optimize(path, 24, 24, "persistence", history_h=0)
    rn = engine.rolling_optimize(engine.load_scenario(path), 24, 24, "persistence")
    assert np.array_equal(_decisions(r0), _decisions(rn))
    assert r0.windows["forecast"].iloc[0] == "warmup"


def test_cli_history_flag(tmp_path, capsys):
    from engine.cli import main

    T = 48
    path = _write(tmp_path, _series(48, T, seed=7), T)
    out = tmp_path / "out"
    rc = main(["run", str(path), "--rolling", "24/24", "--forecaster", "seasonal_naive",
               "--history-h", "48", "--no-progress", "--out", str(out)])
    assert rc == 0
    rc = main(["run", str(path), "--rolling", "24/24", "--forecaster", "seasonal_naive",
               "--history-h", "49", "--no-progress", "--out", str(tmp_path / "o2")])
    assert rc == 2
    assert "history_h=49" in capsys.readouterr().err


@pytest.mark.slow
def test_microgrid_week_with_history_operates_from_hour_zero():
    path = Path(__file__).resolve().parents[1] / "examples" / "xining_microgrid.yaml"
    res = engine.rolling_optimize(path, 48, 24, "holt_winters", history_h=336)
    assert res.settings["history_h"] == 336 and res.settings["warmup_h"] == 0
    assert (res.windows["forecast"] == "holt_winters").all()
    assert res.kpis["survival_met"]
    assert len(res.hourly) == 168
    assert res.kpis["job_shortfall_mwh"] < 1e-6
