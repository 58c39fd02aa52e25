"""The compiled battery re-dispatch kernel against its NumPy reference."""
from __future__ import annotations

import numpy as np
import pytest

from kernels.dispatch import battery_redispatch, battery_redispatch_reference

ATOL = 1e-12


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("first", [0, 5])
def test_compiled_equals_reference(seed, first):
    rng = np.random.default_rng(seed)
    S, B, n = 2, 3, 24
    bat_site = np.array([0, 0, 1])
    base = rng.normal(0, 5, (S, n))
    limit = rng.uniform(0, 4, (S, n))
    spare_cap = rng.uniform(0, 3, (S, n))
    ch = rng.uniform(0, 2, (B, n)) * (rng.random((B, n)) < 0.5)
    dis = rng.uniform(0, 2, (B, n)) * (rng.random((B, n)) < 0.5)
    soc = rng.uniform(1, 8, (B, n))
    soc0 = rng.uniform(1, 8, B)
    keep = 1 - rng.uniform(0, 0.01, B)
    eta_c, eta_d = rng.uniform(0.85, 1, B), rng.uniform(0.85, 1, B)
    soc_min = np.full(B, 0.8)
    p_ch, p_dis = np.full(B, 2.0), np.full(B, 2.0)
    args = (base, limit, spare_cap, ch, dis, soc, soc0, bat_site, keep, eta_c, eta_d, soc_min,
            p_ch, p_dis, first)
    got = battery_redispatch(*args)
    ref = battery_redispatch_reference(*args)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=0, atol=ATOL)
    c, d, s = got
    # SOC follows its dynamics from the first deviating hour, stays above its minimum,
    # flows stay within their limits, and hours before `first` are untouched
    prev = np.concatenate([(soc0 if first == 0 else soc[:, first - 1])[:, None],
                           s[:, first:-1]], axis=1)
    np.testing.assert_allclose(s[:, first:], keep[:, None] * prev + eta_c[:, None] * c[:, first:]
                               - d[:, first:] / eta_d[:, None], atol=1e-12)
    assert s[:, first:].min() >= 0.8 - 1e-12
    assert c.min() >= -1e-12 and d.min() >= -1e-12 and c.max() <= 2 + 1e-12
    assert d.max() <= 2 + 1e-12
    np.testing.assert_array_equal(c[:, :first], ch[:, :first])
    np.testing.assert_array_equal(d[:, :first], dis[:, :first])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("first", [0, 5])
def test_compiled_equals_reference_with_the_value_policy(seed, first):
    rng = np.random.default_rng(100 + seed)
    S, B, n = 2, 3, 24
    bat_site = np.array([0, 0, 1])
    base = rng.normal(0, 5, (S, n))
    limit = rng.uniform(0, 4, (S, n))
    spare_cap = rng.uniform(0, 3, (S, n))
    ch = rng.uniform(0, 2, (B, n)) * (rng.random((B, n)) < 0.5)
    dis = rng.uniform(0, 2, (B, n)) * (rng.random((B, n)) < 0.5)
    soc = rng.uniform(1, 8, (B, n))
    soc0 = rng.uniform(1, 8, B)
    keep = 1 - rng.uniform(0, 0.01, B)
    eta_c, eta_d = rng.uniform(0.85, 1, B), rng.uniform(0.85, 1, B)
    soc_min, soc_max = np.full(B, 0.8), np.full(B, 9.0)
    p_ch, p_dis = np.full(B, 2.0), np.full(B, 2.0)
    value = rng.uniform(100, 600, (B, n))
    imp_cost = rng.uniform(150, 700, (S, n))
    exp_value = rng.uniform(0, 300, (S, n))
    deg = rng.uniform(0, 30, B)
    args = (base, limit, spare_cap, ch, dis, soc, soc0, bat_site, keep, eta_c, eta_d, soc_min,
            p_ch, p_dis, first, value, imp_cost, exp_value, soc_max, deg)
    got = battery_redispatch(*args)
    ref = battery_redispatch_reference(*args)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=0, atol=ATOL)
    c, d, s = got
    prev = np.concatenate([(soc0 if first == 0 else soc[:, first - 1])[:, None],
                           s[:, first:-1]], axis=1)
    np.testing.assert_allclose(s[:, first:], keep[:, None] * prev + eta_c[:, None] * c[:, first:]
                               - d[:, first:] / eta_d[:, None], atol=1e-12)
    assert s[:, first:].min() >= 0.8 - 1e-12 and s[:, first:].max() <= 9.0 + 1e-12
    assert c.min() >= -1e-12 and d.min() >= -1e-12 and c.max() <= 2 + 1e-12
    assert d.max() <= 2 + 1e-12


def _one_battery(base, value, imp_cost, exp_value, soc0=5.0):
    """One site, one lossless battery (Pch = Pdis = 2 MW, SOC in [1, 9] MWh), scheduled idle,
    no import cap (limit inf), a surplus always taken (spare_cap inf)."""
    n = base.size
    one = np.ones(1)
    return battery_redispatch(base.reshape(1, n), np.full((1, n), np.inf),
                              np.full((1, n), np.inf), np.zeros((1, n)), np.zeros((1, n)),
                              np.zeros((1, n)), np.array([soc0]), np.array([0]), one, one, one,
                              one * 1.0, one * 2.0, one * 2.0, 0, np.full((1, n), value),
                              np.full((1, n), imp_cost), np.full((1, n), exp_value),
                              one * 9.0, one * 10.0)


def test_value_policy_stores_surplus_worth_more_than_its_export():
    # hour 0: surplus 3 MW; stored energy worth 300, export 150, degradation 10:
    # 300 - 10 > 150, so charge min(Pch = 2, surplus 3, room 9 - 5 = 4) = 2 MW (SOC 7);
    # hour 1: surplus 3 again: room 9 - 7 = 2: charge 2 (SOC 9); hour 2: full, charge 0
    c, d, s = _one_battery(np.array([3.0, 3.0, 3.0]), 300.0, 500.0, 150.0)
    np.testing.assert_allclose(c[0], [2.0, 2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(s[0], [7.0, 9.0, 9.0], atol=1e-12)
    # worth less than the export (140 - 10 < 150): the surplus is exported, battery idle
    c, d, s = _one_battery(np.array([3.0]), 140.0, 500.0, 150.0)
    assert c[0, 0] == 0.0 and d[0, 0] == 0.0


def test_value_policy_serves_a_shortfall_dearer_than_stored_energy():
    # shortfall 1.5 MW imported at 650 against stored energy worth 300 (+ 10 degradation):
    # discharge 1.5 MW (SOC 5 -> 3.5); then 3 MW: discharge Pdis = 2 (SOC 1.5); then room
    # to SOCmin 1 is 0.5 MWh: discharge 0.5
    c, d, s = _one_battery(np.array([-1.5, -3.0, -3.0]), 300.0, 650.0, 150.0)
    np.testing.assert_allclose(d[0], [1.5, 2.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(s[0], [3.5, 1.5, 1.0], atol=1e-12)
    # imported at 180 < 300 + 10: the battery keeps its energy
    c, d, s = _one_battery(np.array([-1.5]), 300.0, 180.0, 150.0)
    assert d[0, 0] == 0.0
