"""Compiled kernels against their NumPy/SciPy references, and the kernels' own contracts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.powerflow import (
    DCSolver,
    NewtonSolver,
    NotRadialError,
    PowerFlowInputError,
    SweepSolver,
    branch_losses_pu,
    dc_ref,
    lindistflow,
    lindistflow_ref,
    make_case,
    make_feeder,
)
from kernels.powerflow.newton_ref import newton_ref
from kernels.powerflow.sweep_ref import sweep_ref

ATOL_PU = 1e-8
ALL_CASES = ["case33bw", "case69", "case118", "case1354pegase"]
RADIAL = ["case33bw", "case69"]


def _case(net):
    return make_case(net.base_mva, net.bus, net.gen, net.branch)


@pytest.mark.parametrize("name", ALL_CASES)
def test_newton_numba_equals_reference(read_case, name):
    case = _case(read_case(name))
    v_ref, it_ref, ok_ref = newton_ref(case)
    v, it, ok = NewtonSolver(case).solve(case.s_bus())
    assert ok_ref and ok[0]
    assert it[0] == it_ref  # same method, same start: same number of Newton steps
    np.testing.assert_allclose(v, v_ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", RADIAL)
def test_sweep_cython_equals_reference_and_newton(read_case, name):
    net = read_case(name)
    case = _case(net)
    solver = SweepSolver(case, net.bus, net.branch)
    v, it, ok = solver.solve(case.s_bus())
    v_ref, it_ref, ok_ref = sweep_ref(solver.feeder, case.s_bus(), case.v0, tol=solver.tol)
    assert ok[0] and ok_ref and it[0] == it_ref
    np.testing.assert_allclose(v, v_ref, rtol=0, atol=1e-13)
    v_nr, _, _ = NewtonSolver(case).solve(case.s_bus())
    np.testing.assert_allclose(v, v_nr, rtol=0, atol=ATOL_PU)


def _scaled_loads(case, n_t: int, seed: int) -> np.ndarray:
    """T snapshots of the case's demand, each bus scaled by its own factor in [0.3, 1.3]."""
    rng = np.random.default_rng(seed)
    return case.s_load * rng.uniform(0.3, 1.3, size=(n_t, case.n_bus))


@pytest.mark.parametrize("name", ["case33bw", "case118", "case1354pegase"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_newton_batch_equals_single_solves(read_case, name, n_threads):
    case = _case(read_case(name))
    s_bus = case.s_bus(_scaled_loads(case, 12, seed=1))
    v, _, ok = NewtonSolver(case).solve(s_bus, n_threads=n_threads)
    assert ok.all()
    for t in range(len(s_bus)):
        v_ref, _, ok_ref = newton_ref(case, s_bus[t])
        assert ok_ref
        np.testing.assert_allclose(v[t], v_ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_sweep_batch_equals_single_solves(read_case, n_threads):
    net = read_case("case69")
    case = _case(net)
    solver = SweepSolver(case, net.bus, net.branch)
    s_bus = case.s_bus(_scaled_loads(case, 12, seed=2))
    v, _, ok = solver.solve(s_bus, n_threads=n_threads)
    assert ok.all()
    for t in range(len(s_bus)):
        v_nr, _, _ = newton_ref(case, s_bus[t])
        np.testing.assert_allclose(v[t], v_nr, rtol=0, atol=ATOL_PU)


@pytest.mark.parametrize("solver_name", ["nr", "sweep"])
def test_nonconvergence_reported_per_snapshot(read_case, solver_name):
    """An absurd load in one hour fails that hour only; its neighbours stay right."""
    net = read_case("case33bw")
    case = _case(net)
    loads = np.tile(case.s_load, (5, 1))
    loads[2] *= 60.0  # far past the feeder's voltage-collapse point
    s_bus = case.s_bus(loads)
    if solver_name == "nr":
        solver = NewtonSolver(case)
        v, _, ok = solver.solve(s_bus, n_threads=1)
    else:
        solver = SweepSolver(case, net.bus, net.branch)
        v, _, ok = solver.solve(s_bus, n_threads=1)
    assert ok.tolist() == [True, True, False, True, True]
    v_ref, _, _ = newton_ref(case)
    for t in (0, 1, 3, 4):
        np.testing.assert_allclose(v[t], v_ref, rtol=0, atol=ATOL_PU)
    _, _, ok_ref = newton_ref(case, s_bus[2])
    assert not ok_ref


def test_non_radial_detected(read_case):
    net = read_case("case33bw")
    branch = net.branch.copy()
    branch[-1, 10] = 1  # close tie line 25-29: a loop
    case = make_case(net.base_mva, net.bus, net.gen, branch)
    with pytest.raises(NotRadialError, match="not radial"):
        make_feeder(case, net.bus, branch)
    meshed = read_case("case118")
    with pytest.raises(PowerFlowInputError):  # PV buses and loops: the sweep refuses
        make_feeder(_case(meshed), meshed.bus, meshed.branch)


def test_loop_with_right_branch_count_detected(read_case):
    """Open one feeder branch and close a tie: n-1 branches, but a loop and an island."""
    net = read_case("case33bw")
    branch = net.branch.copy()
    branch[-1, 10] = 1  # tie 25-29 in
    k = int(np.flatnonzero((branch[:, 0] == 30) & (branch[:, 1] == 31))[0])
    branch[k, 10] = 0  # 30-31 out: buses 31..33 are cut off, 25-29 closes a loop
    case = make_case(net.base_mva, net.bus, net.gen, branch)
    with pytest.raises(NotRadialError, match="closes a loop|not connected"):
        make_feeder(case, net.bus, branch)


def test_dc_batch_equals_reference(read_case):
    net = read_case("case1354pegase")
    case = _case(net)
    p = case.s_bus(_scaled_loads(case, 4, seed=3)).real
    va, _ = DCSolver(case, net.bus, net.branch).solve(p)
    for t in range(4):
        np.testing.assert_allclose(va[t], dc_ref(case, net.bus, net.branch, p[t]), atol=1e-10)


def test_lindistflow_equals_reference(read_case):
    net = read_case("case33bw")
    feeder = make_feeder(_case(net), net.bus, net.branch)
    v0, r, x = lindistflow(feeder)
    v0_ref, r_ref, x_ref = lindistflow_ref(feeder)
    assert v0 == v0_ref
    np.testing.assert_allclose(r, r_ref, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(x, x_ref, rtol=1e-14, atol=1e-16)


def test_lindistflow_is_the_ac_derivative_at_no_load(read_case):
    """Without losses the AC model's slope at zero load is exactly LinDistFlow's."""
    net = read_case("case69")
    case = _case(net)
    solver = SweepSolver(case, net.bus, net.branch)
    _, r, x = lindistflow(solver.feeder)
    h = 1e-6  # pu injection; second-order error ~ h * |Z|^2, far below the tolerance
    j = 64  # 0-based index of bus 65, the weakest bus
    base = np.zeros(case.n_bus, dtype=complex)
    for sens, unit in ((r, 1.0), (x, 1j)):
        s = base.copy()
        s[j] = h * unit
        s_minus = base.copy()
        s_minus[j] = -h * unit
        v_plus, _, _ = solver.solve(s)
        v_minus, _, _ = solver.solve(s_minus)
        slope = (np.abs(v_plus) ** 2 - np.abs(v_minus) ** 2) / (2 * h)
        np.testing.assert_allclose(slope, sens[:, j], rtol=1e-6, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.0, 1.5), q_scale=st.floats(-1.0, 1.5))
def test_energy_balance_and_solver_agreement(read_case, scale, q_scale):
    """Any load level a feeder carries: sweep and Newton agree, and slack P = load + losses."""
    net = read_case("case33bw")
    case = _case(net)
    load = case.s_load.real * scale + 1j * case.s_load.imag * q_scale
    s_bus = case.s_bus(load)
    v_nr, _, ok = NewtonSolver(case).solve(s_bus)
    v_sw, _, ok_sw = SweepSolver(case, net.bus, net.branch).solve(s_bus)
    assert ok[0] and ok_sw[0]
    np.testing.assert_allclose(v_sw, v_nr, rtol=0, atol=ATOL_PU)
    s_inj = v_nr * np.conj(case.adm.ybus @ v_nr)
    slack_p = s_inj[case.ref[0]].real
    assert slack_p == pytest.approx(load.real.sum() + branch_losses_pu(case, v_nr), abs=1e-9)
    assert branch_losses_pu(case, v_nr) >= 0.0


@pytest.mark.parametrize("name", ["case69", "case1354pegase"])
def test_in_kernel_losses_equal_reference(read_case, name):
    """Losses computed inside the kernels equal sum(Re(Sf + St)) from Yf, Yt in SciPy."""
    net = read_case(name)
    case = _case(net)
    s_bus = case.s_bus(_scaled_loads(case, 3, seed=5))
    solvers = [NewtonSolver(case)]
    if name in RADIAL:
        solvers.append(SweepSolver(case, net.bus, net.branch))
    for solver in solvers:
        v, _, _ = solver.solve(s_bus)
        if isinstance(solver, NewtonSolver):
            _, _, losses, _, _ = solver.solve_polar(s_bus)
        else:
            _, _, losses, _, _ = solver.solve_polar(-s_bus.real, -s_bus.imag)
        np.testing.assert_allclose(losses, branch_losses_pu(case, v), rtol=1e-9, atol=1e-12)


def test_warm_up_leaves_the_kernel_compiled():
    from kernels.powerflow.newton import solve_batch, warm_up

    assert warm_up() > 0.0
    assert solve_batch.signatures  # compiled (or loaded from cache) for real use
