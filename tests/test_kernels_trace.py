"""The Cython traceability kernel equals its NumPy reference; hand-checkable cases."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.trace import compiled_available, trace_mix, trace_mix_reference

pytestmark = pytest.mark.skipif(not compiled_available(), reason="Cython kernel not built")


def _case(seed: int, T: int, K: int, B: int):
    rng = np.random.default_rng(seed)
    direct = rng.random((T, K)) * (rng.random((T, K)) > 0.3)
    dis = rng.random((T, B)) * 0.4
    ch = rng.random((T, B)) * 0.4
    soc0 = rng.random(B) * 5 + 1
    init = rng.random((B, K))
    init /= init.sum(axis=1, keepdims=True)
    return (direct, dis, ch, soc0, rng.uniform(0.8, 1, B), rng.uniform(0.8, 1, B),
            rng.uniform(0, 0.01, B), init)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(1, 60), K=st.integers(1, 8), B=st.integers(0, 3))
def test_cython_equals_reference(seed, T, K, B):
    args = _case(seed, T, K, B)
    mix_c, comp_c = trace_mix(*args)
    mix_r, comp_r = trace_mix_reference(*args)
    np.testing.assert_allclose(mix_c, mix_r, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(comp_c, comp_r, rtol=1e-12, atol=1e-14)
    # mixes are shares: non-negative and summing to 1 wherever anything is supplied
    assert mix_c.min() >= 0
    supplied = args[0].sum(axis=1) + args[1].sum(axis=1) > 1e-12
    np.testing.assert_allclose(mix_c[supplied].sum(axis=1), 1.0, rtol=1e-12)


def test_battery_charged_from_pv_delivers_pv_at_night():
    """Hour 0: 2 MWh of PV, 1 of it charged (lossless) into an empty battery. Hour 1: only
    grid-fossil (1 MWh) and the battery's 1 MWh: the pool is half PV, half fossil."""
    direct = np.array([[2.0, 0.0], [0.0, 1.0]])  # sources: pv, fossil
    dis = np.array([[0.0], [1.0]])
    ch = np.array([[1.0], [0.0]])
    one = np.ones(1)
    mix, comp = trace_mix(direct, dis, ch, np.zeros(1), one, one, np.zeros(1), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(mix, [[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(comp[0, 0], [1.0, 0.0])


def test_tank_mixes_what_it_stored():
    """A battery holding 1 MWh of fossil energy charges 1 MWh of PV: its content is half and
    half, and what it discharges next carries that mix."""
    direct = np.array([[1.0, 0.0], [0.0, 0.0]])
    dis = np.array([[0.0], [1.0]])
    ch = np.array([[1.0], [0.0]])
    one = np.ones(1)
    mix, comp = trace_mix(direct, dis, ch, np.ones(1), one, one, np.zeros(1), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(comp[0, 0], [0.5, 0.5])
    np.testing.assert_allclose(mix[1], [0.5, 0.5])


def test_kernel_releases_the_gil():
    """Two threads run the kernel concurrently and give the single-thread answers."""
    from concurrent.futures import ThreadPoolExecutor

    cases = [_case(s, 2000, 7, 2) for s in range(4)]
    with ThreadPoolExecutor(2) as pool:
        out = list(pool.map(lambda a: trace_mix(*a), cases))
    for a, (mix, _) in zip(cases, out):
        np.testing.assert_allclose(mix, trace_mix_reference(*a)[0], rtol=1e-12, atol=1e-14)
