"""engine.network: reading MATPOWER files, the public power-flow API and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from engine.network import (
    NetworkError,
    read_matpower,
    run_powerflow,
    run_powerflow_timeseries,
)


def test_distribution_case_units_converted(read_case):
    net = read_case("case33bw")
    assert net.conversions == ("branch R, X: ohm -> pu (Zbase = 16.0276 ohm)",
                               "bus Pd, Qd: kW/kVAr -> MW/MVAr")
    # Row 1 of the file: branch 1-2, r = 0.0922 ohm; bus 2 demand 100 kW + 60 kVAr.
    zbase = 12.66e3**2 / 10e6
    assert net.branch[0, 2] == pytest.approx(0.0922 / zbase, rel=1e-15)
    assert net.bus[1, 2:4].tolist() == pytest.approx([0.1, 0.06], rel=1e-15)
    assert read_case("case118").conversions == ()


def test_read_case118_equals_pypower_arrays(read_case):
    api = pytest.importorskip("pypower.api")
    ppc = api.case118()
    net = read_case("case118")
    assert net.base_mva == ppc["baseMVA"]
    np.testing.assert_array_equal(net.bus, ppc["bus"])
    np.testing.assert_array_equal(net.gen[:, :10], ppc["gen"][:, :10])
    # Columns power flow uses. MATPOWER 8 marks branches 86-87 and 68-116 as transformers
    # with tap 1 where PYPOWER's older copy has tap 0 (both mean ratio 1), and it dropped
    # the 9900 MVA placeholder ratings, so ratings are not compared.
    tap = lambda b: np.where(b[:, 8] == 0, 1.0, b[:, 8])
    np.testing.assert_array_equal(net.branch[:, :5], ppc["branch"][:, :5])
    np.testing.assert_array_equal(tap(net.branch), tap(ppc["branch"]))
    np.testing.assert_array_equal(net.branch[:, 9:11], ppc["branch"][:, 9:11])


def _write(tmp_path, text: str):
    path = tmp_path / "tiny.m"
    path.write_text(text)
    return path


TINY = """function mpc = tiny
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
	1	3	0	0	0	0	1	1	0	10	1	1.1	0.9;
	2	1	50	10	0	0	1	1	0	10	1	1.1	0.9;
];
mpc.gen = [
	1	0	0	100	-100	1	100	1	100	0;
];
mpc.branch = [
	1	2	0.01	0.05	0	0	0	0	0	0	1	-360	360;
];
"""


def test_unknown_matlab_statement_rejected(tmp_path):
    path = _write(tmp_path, TINY + "mpc.bus(2, PD) = 5;\n")
    with pytest.raises(NetworkError, match=r"line 14: unsupported MATLAB statement"):
        read_matpower(path)


def test_missing_field_and_file(tmp_path):
    with pytest.raises(NetworkError, match=r"mpc.branch is missing"):
        read_matpower(_write(tmp_path, TINY.split("mpc.branch")[0]))
    with pytest.raises(NetworkError, match=r"cannot read"):
        read_matpower(tmp_path / "nope.m")


def test_tiny_case_by_hand(tmp_path):
    """Two buses: check V2 satisfies the branch equation V2 = V1 - z conj(S2/V2)."""
    res = run_powerflow(read_matpower(_write(tmp_path, TINY)))
    assert res.converged
    v2 = res.vm_pu[1] * np.exp(1j * np.deg2rad(res.va_deg[1]))
    z = 0.01 + 0.05j
    assert abs(v2 - (1.0 - z * np.conj((0.5 + 0.1j) / v2))) < 1e-10
    i = abs((0.5 + 0.1j) / v2)
    assert res.losses_mw == pytest.approx(0.01 * i**2 * 100, rel=1e-9)


@pytest.mark.parametrize("method", ["auto", "nr"])
def test_timeseries_equals_per_snapshot_solves(read_case, method):
    net = read_case("case33bw")
    rng = np.random.default_rng(4)
    scale = rng.uniform(0.2, 1.2, size=(6, 1))
    p = net.bus[:, 2] * scale
    q = net.bus[:, 3] * scale
    ts = run_powerflow_timeseries(net, p, q, method=method)
    assert ts.vm_pu.shape == (6, 33) and ts.converged.all()
    for t in range(6):
        bus = net.bus.copy()
        bus[:, 2], bus[:, 3] = p[t], q[t]
        one = run_powerflow(type(net)(net.name, net.base_mva, bus, net.gen, net.branch), method)
        np.testing.assert_allclose(ts.vm_pu[t], one.vm_pu, rtol=0, atol=1e-8)
        np.testing.assert_allclose(ts.va_deg[t], one.va_deg, rtol=0, atol=1e-6)
        assert ts.losses_mw[t] == pytest.approx(one.losses_mw, abs=1e-9)


def test_network_arrays_are_read_only(read_case):
    """Solvers are cached per network, so its arrays must not change under them."""
    net = read_case("case33bw")
    with pytest.raises(ValueError, match="read-only"):
        net.bus[1, 2] = 5.0


def test_timeseries_bad_input_named(read_case):
    net = read_case("case33bw")
    good = np.tile(net.bus[:, 2], (3, 1))
    with pytest.raises(NetworkError, match=r"p_mw: expected shape \(T, 33\).*\(3, 32\)"):
        run_powerflow_timeseries(net, good[:, :32], good)
    bad = good.copy()
    bad[1, 5] = np.nan
    with pytest.raises(NetworkError, match=r"q_mvar: value nan at snapshot 1, bus column 5"):
        run_powerflow_timeseries(net, good, bad)
    with pytest.raises(NetworkError, match=r"method: must be"):
        run_powerflow(net, method="gauss")


def test_sweep_refused_on_meshed_network(read_case):
    with pytest.raises(NetworkError, match="case118"):
        run_powerflow(read_case("case118"), method="sweep")
    assert run_powerflow(read_case("case118"), method="auto").method == "nr"


def test_nonconvergence_is_a_result_not_an_exception(read_case):
    net = read_case("case69")
    p = np.tile(net.bus[:, 2], (3, 1))
    q = np.tile(net.bus[:, 3], (3, 1))
    p[1] *= 80.0
    q[1] *= 80.0
    for method in ("sweep", "nr"):
        ts = run_powerflow_timeseries(net, p, q, method=method, n_threads=1)
        assert ts.converged.tolist() == [True, False, True]
