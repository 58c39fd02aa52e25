"""The per-consumer tank kernel (``kernels.trace.trace_consumers``) equals its NumPy
reference, attributes every consumer exactly its consumption, and a hand case."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.trace import (
    compiled_available,
    trace_consumers,
    trace_consumers_reference,
    trace_mix,
)

pytestmark = pytest.mark.skipif(not compiled_available(), reason="Cython kernel not built")


def _case(seed: int, T: int, K: int, B: int, N: int):
    rng = np.random.default_rng(seed)
    direct = rng.random((T, K)) * (rng.random((T, K)) > 0.3)
    dis = rng.random((T, B)) * 0.4
    ch = rng.random((T, B)) * 0.4
    soc0 = rng.random(B) * 5 + 1
    init = rng.random((B, K))
    init /= init.sum(axis=1, keepdims=True)
    # consumers share what the pool delivers beside the charging
    pool = direct.sum(axis=1) + dis.sum(axis=1)
    w = rng.random((T, N)) * (rng.random((T, N)) > 0.2)
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    cons = w * np.maximum(pool - ch.sum(axis=1), 0.0)[:, None]
    return (direct, dis, ch, soc0, rng.uniform(0.8, 1, B), rng.uniform(0.8, 1, B),
            rng.uniform(0, 0.01, B), init, cons)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(1, 60), K=st.integers(1, 8),
       B=st.integers(0, 3), N=st.integers(1, 5))
def test_cython_equals_reference(seed, T, K, B, N):
    args = _case(seed, T, K, B, N)
    got = trace_consumers(*args)
    ref = trace_consumers_reference(*args)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    mix, comp, by, via = got
    # the pool mix and compositions are trace_mix's
    mix0, comp0 = trace_mix(*args[:-1])
    np.testing.assert_allclose(mix, mix0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(comp, comp0, rtol=1e-12, atol=1e-14)
    # each consumer gets exactly its consumption, by source, where anything is supplied
    cons = args[-1]
    supplied = args[0].sum(axis=1) + args[1].sum(axis=1) > 1e-12
    np.testing.assert_allclose(by.sum(axis=2)[supplied], cons[supplied], rtol=1e-12,
                               atol=1e-13)
    # the battery part is a part: 0 <= via <= by, and all of it only with no direct supply
    assert (via >= -1e-15).all() and (via <= by + 1e-13).all()
    if B == 0:
        assert not via.any()


def test_hand_case_battery_discharge_goes_to_each_consumer_pro_rata():
    # sources (pv, grid, storage_initial); one lossless battery, empty at the start.
    # Hour 0: PV 3 MWh; the battery charges 1, consumers A and B take 1 each: all PV.
    # Hour 1: grid 2 MWh, the battery discharges 1 (all PV): pool (1, 2, 0) of 3 MWh;
    #   A takes 2 -> by (2/3, 4/3, 0), of which via the battery (2/3, 0, 0);
    #   B takes 1 -> by (1/3, 2/3, 0), via (1/3, 0, 0).
    direct = np.array([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    dis = np.array([[0.0], [1.0]])
    ch = np.array([[1.0], [0.0]])
    cons = np.array([[1.0, 1.0], [2.0, 1.0]])
    one = np.ones(1)
    mix, comp, by, via = trace_consumers(direct, dis, ch, np.zeros(1), one, one, np.zeros(1),
                                         np.array([[0.0, 0.0, 1.0]]), cons)
    np.testing.assert_allclose(by[0], [[1, 0, 0], [1, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(via[0], 0.0, atol=1e-15)
    np.testing.assert_allclose(by[1], [[2 / 3, 4 / 3, 0], [1 / 3, 2 / 3, 0]], atol=1e-15)
    np.testing.assert_allclose(via[1], [[2 / 3, 0, 0], [1 / 3, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(mix[1], [1 / 3, 2 / 3, 0], atol=1e-15)


def test_no_supply_no_attribution():
    z = np.zeros((2, 2))
    mix, _, by, via = trace_consumers(z, np.zeros((2, 0)), np.zeros((2, 0)), np.zeros(0),
                                      np.zeros(0), np.zeros(0), np.zeros(0),
                                      np.zeros((0, 2)), np.ones((2, 3)))
    assert not mix.any() and not by.any() and not via.any()
