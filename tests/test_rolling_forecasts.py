"""Forecast options of the rolling controller: re-anchored Holt–Winters, published prices."""
from __future__ import annotations

import numpy as np
import pytest
from test_rolling import _changed_after, rolled_twice, rolling_dict, scenario

import engine
from engine.model.data import prepare
from engine.operations.forecasts import _forecasts, _stack_series
from kernels.forecast import HoltWinters, anchor, fit_anchor, hw_fitted, hw_rolling


def _flat(level: float) -> HoltWinters:
    """A model that forecasts the constant ``level`` whatever it sees (no smoothing)."""
    return HoltWinters(0.0, 0.0, 0.0, 0.0, level, 0.0, np.zeros(1), np.zeros(1))


def test_anchor_fits_the_ar1_coefficient_of_the_errors():
    # y = c + e with e[t] = 0.8 e[t-1] + noise. The flat model forecasts c, so its one-step
    # error at o - 1 is e[o-1], and the least-squares h-step predictor from it is
    # E[e[o+h] | e[o-1]] = 0.8 ** (h + 1) e[o-1]: the fitted phi must be 0.8 (grid 0.01,
    # sampling error ~ sqrt((1 - 0.64) / n) = 0.004 for n = 20,000).
    rng = np.random.default_rng(1)
    n, c = 20_000, 5.0
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.8 * e[t - 1] + rng.normal()
    y = c + e
    m = _flat(c)
    phi = fit_anchor(y, m, 6)
    assert abs(phi - 0.8) <= 0.02
    # and the anchored forecast is c + phi^(h+1) e[o-1]
    origins = np.array([100, 250, 4000])
    f = anchor(hw_rolling(y, m, origins, 6), y, hw_fitted(y, m), origins, phi)
    expect = c + e[origins - 1][:, None] * phi ** (np.arange(6) + 1.0)[None, :]
    np.testing.assert_allclose(f, expect, rtol=0, atol=1e-12)


def test_anchor_on_white_noise_does_not_anchor():
    # independent errors: the best h-step predictor from e[o-1] is 0 (phi ~ 0)
    rng = np.random.default_rng(2)
    y = 3.0 + rng.normal(size=20_000)
    assert fit_anchor(y, _flat(3.0), 6) <= 0.03


def test_anchor_uses_only_the_past_and_phi_zero_is_plain():
    rng = np.random.default_rng(3)
    y = rng.normal(size=500).cumsum()
    m = HoltWinters(0.3, 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(1), np.zeros(1))
    origins = np.array([50, 200, 300])
    base = hw_rolling(y, m, origins, 24)
    np.testing.assert_array_equal(anchor(base, y, hw_fitted(y, m), origins, 0.0), base)
    a = anchor(base, y, hw_fitted(y, m), origins, 0.9)
    y2 = y.copy()
    y2[300:] += 100.0  # data at and after the last origin
    b = anchor(hw_rolling(y2, m, origins, 24), y2, hw_fitted(y2, m), origins, 0.9)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, base)


@pytest.mark.parametrize("forecaster,days,c", [
    # Holt-Winters fits on the first 336 h; c >= 336 + 48
    ("holt_winters_anchored", 21, 408),
    # the first refit is at 336 + 720 = 1056 h (on data before it); c >= 1056 + 48
    ("holt_winters_adaptive", 50, 1104)])
def test_anchored_rolling_has_no_leakage_and_obeys_the_physics(forecaster, days, c):
    d = rolling_dict(24 * days, seed=4)
    a = engine.rolling_optimize(scenario(d), 48, 24, forecaster)
    b = engine.rolling_optimize(scenario(_changed_after(d, c, seed=7)), 48, 24, forecaster)
    cols = [k for k in a.hourly.columns if k.split("/")[0].split(".")[0] in
            ("battery", "job", "grid", "pv", "bus", "datacenter")]
    for col in cols:
        assert np.array_equal(a.hourly[col].to_numpy()[:c], b.hourly[col].to_numpy()[:c]), col
    assert not np.array_equal(a.hourly[cols].to_numpy()[c:], b.hourly[cols].to_numpy()[c:])
    from conftest import check_invariants

    check_invariants(scenario(d), a)


def test_adaptive_refits_only_on_the_past():
    # the forecasts of every origin before a refit's data end are those of the warm-up fit,
    # and a change of the data after an origin never changes that origin's forecast
    from engine.operations.forecasts import REFIT_EVERY_H, _adaptive
    from kernels.forecast import fit_holt_winters

    rng = np.random.default_rng(6)
    t = np.arange(24 * 90)
    y = 5 + 2 * np.sin(2 * np.pi * t / 24) + np.cumsum(rng.normal(0, 0.3, t.size)) * 0.1
    m0 = fit_holt_winters(y[:336], period2=None, horizon=48, step=24)
    o = np.arange(336, t.size - 48, 24)
    a = _adaptive(y, m0, y[:336], o, 48, None)
    cut = 336 + 2 * REFIT_EVERY_H + 48
    y2 = y.copy()
    y2[cut:] += rng.normal(0, 3, y.size - cut)
    b = _adaptive(y2, m0, y2[:336], o, 48, None)
    np.testing.assert_array_equal(a[o < cut], b[o < cut])
    assert not np.array_equal(a[o >= cut], b[o >= cut])


def test_price_known_h_uses_the_published_prices_only():
    sc = scenario(rolling_dict(24 * 4, seed=5))
    data = prepare(sc)
    se = _stack_series(data)
    origins = np.arange(0, data.T, 24)
    known = np.zeros(se.Y.shape[0], np.int64)
    known[se.price] = 10
    f0 = _forecasts(se, origins, 48, "seasonal_naive", 24)
    f1 = _forecasts(se, origins, 48, "seasonal_naive", 24, known)
    i = se.price[0]
    for k, o in enumerate(origins.tolist()):
        n = min(10, data.T - o)
        np.testing.assert_array_equal(f1[i, k, :n], se.Y[i, o:o + n])
    np.testing.assert_array_equal(f1[i, 1:, 10:], f0[i, 1:, 10:])  # the rest: forecast
    others = np.setdiff1d(np.arange(se.Y.shape[0]), se.price)
    np.testing.assert_array_equal(f1[others], f0[others])
    # through the controller: a known day of prices changes decisions, and is recorded
    a = engine.rolling_optimize(sc, 48, 24, "seasonal_naive")
    b = engine.rolling_optimize(sc, 48, 24, "seasonal_naive", price_known_h=24)
    assert b.settings["price_known_h"] == 24 and a.settings["price_known_h"] == 0
    wa, wb = a.windows["objective"].to_numpy(), b.windows["objective"].to_numpy()
    assert wa[0] == wb[0]  # the warm-up window plans on actual data either way
    assert not np.allclose(wa[1:], wb[1:])


@pytest.mark.parametrize("bad", [-1, 2.5, True, "24"])
def test_price_known_h_bad_values_are_clear_errors(bad):
    sc = scenario(rolling_dict(48))
    with pytest.raises(ValueError, match=r"price_known_h must be an integer >= 0 \[h\], got"):
        engine.rolling_optimize(sc, 48, 24, "perfect", price_known_h=bad)


def test_price_known_h_within_the_step_does_not_leak():
    # prices published for the committed step only: decisions before c never see data
    # after c
    d = rolling_dict(168, seed=2)
    c = 96
    a, b = rolled_twice(d, c, 48, 24, "seasonal_naive", price_known_h=24)
    cols = [k for k in a.hourly.columns if k.split("/")[0].split(".")[0] in
            ("battery", "job", "grid", "pv", "bus", "datacenter")]
    for col in cols:
        assert np.array_equal(a.hourly[col].to_numpy()[:c], b.hourly[col].to_numpy()[:c]), col


def test_cli_price_known_h_flag(tmp_path, capsys):
    import yaml

    from engine.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(rolling_dict(96)))
    assert main(["run", str(path), "--rolling", "48/24", "--forecaster", "seasonal_naive",
                 "--price-known-h", "24", "--no-plot", "--no-progress"]) == 0
    assert main(["run", str(path), "--rolling", "48/24", "--forecaster", "perfect",
                 "--price-known-h", "-3", "--no-plot", "--no-progress"]) == 2
    assert "price_known_h must be an integer >= 0 [h], got -3" in capsys.readouterr().err
