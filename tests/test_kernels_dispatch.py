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
