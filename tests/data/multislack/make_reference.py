"""Make the two-slack test cases and their reference solutions (run from the repo root).

    PYTHONPATH=. python tests/data/multislack/make_reference.py

Cases written here (MATPOWER format 2, MW/MVAr, per unit):

- ``case14_2slack.m``: PYPOWER's ``case14`` (the IEEE 14-bus case, meshed, with
  transformers) with bus 2 turned into a second slack (``BUS_TYPE`` 3) held at its
  generator's set point ``VG = 1.045`` pu and an angle of -3 degrees; ``BASE_KV`` set to
  138 kV on every bus (0 in case14, which pandapower cannot convert; per unit unchanged).
- ``case33bw_2slack.m``: MATPOWER's ``case33bw`` (tests/data/matpower, after its kW/ohm
  conversion) with bus 18, the end of the main feeder, turned into a second slack (a
  generator with ``VG = 0.99`` pu, angle -0.5 degrees): a radial feeder fed from both ends.

``reference.json`` holds, per case, the solutions of two independent solvers:

- ``pypower``: PYPOWER 5.1 ``runpf`` (Newton-Raphson, ``PF_TOL = 1e-12``), whose
  ``newtonpf`` excludes every REF bus from the unknowns and whose ``pfsoln`` sets each
  REF bus's generator output;
- ``pandapower``: pandapower 3.5 ``runpp`` (``calculate_voltage_angles=True``,
  ``tolerance_mva=1e-11``) on ``from_ppc`` of the same arrays, which makes one ``ext_grid``
  per slack bus with its ``vm_pu`` and ``va_degree``; the slack injections are the
  ``res_ext_grid`` rows.

Each gives ``vm_pu``, ``va_deg`` (in the case's bus order) and, per slack bus (in bus
order), ``slack_p_mw`` and ``slack_q_mvar``: the generation at that bus.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def write_m(path: Path, name: str, base_mva: float, bus, gen, branch, note: str) -> None:
    def block(a):
        return "\n".join("\t" + "\t".join(repr(float(x)) for x in row) + ";" for row in a)

    path.write_text(
        f"function mpc = {name}\n% {note}\n% Written by make_reference.py beside this file.\n"
        f"mpc.version = '2';\nmpc.baseMVA = {base_mva!r};\n"
        f"mpc.bus = [\n{block(bus)}\n];\nmpc.gen = [\n{block(gen)}\n];\n"
        f"mpc.branch = [\n{block(branch)}\n];\n")


def case14_2slack():
    from pypower.api import case14

    ppc = case14()
    bus, gen, branch = ppc["bus"].copy(), ppc["gen"][:, :21].copy(), ppc["branch"][:, :13].copy()
    k = int(np.flatnonzero(bus[:, 0] == 2)[0])
    bus[k, 1] = 3
    bus[k, 8] = -3.0
    bus[:, 9] = 138.0  # BASE_KV is 0 in case14; pandapower needs a voltage level (pu unchanged)
    return float(ppc["baseMVA"]), bus, gen, branch


def case33bw_2slack():
    import sys

    sys.path.insert(0, str(ROOT))
    from engine.network import read_matpower

    net = read_matpower(ROOT / "tests" / "data" / "matpower" / "case33bw.m")
    bus, gen, branch = net.bus.copy(), net.gen.copy(), net.branch.copy()
    k = int(np.flatnonzero(bus[:, 0] == 18)[0])
    bus[k, 1] = 3
    bus[k, 7] = 0.99
    bus[k, 8] = -0.5
    g = gen[0].copy()
    g[0], g[1], g[2], g[5] = 18, 0.0, 0.0, 0.99
    gen = np.vstack([gen, g])
    return net.base_mva, bus, gen, branch


def solve_pypower(base_mva, bus, gen, branch) -> dict:
    from pypower.api import ppoption, runpf

    ppc = {"version": "2", "baseMVA": base_mva, "bus": bus.copy(), "gen": gen.copy(),
           "branch": branch.copy()}
    opt = ppoption(VERBOSE=0, OUT_ALL=0, PF_TOL=1e-12)
    r, ok = runpf(ppc, opt)
    assert ok
    ref = np.flatnonzero(r["bus"][:, 1] == 3)
    p, q = [], []
    for b in ref:
        on = (r["gen"][:, 0] == r["bus"][b, 0]) & (r["gen"][:, 7] > 0)
        p.append(float(r["gen"][on, 1].sum()))
        q.append(float(r["gen"][on, 2].sum()))
    return {"vm_pu": r["bus"][:, 7].tolist(), "va_deg": r["bus"][:, 8].tolist(),
            "slack_bus": r["bus"][ref, 0].astype(int).tolist(), "slack_p_mw": p, "slack_q_mvar": q}


def solve_pandapower(base_mva, bus, gen, branch) -> dict:
    import pandapower as pp
    from pandapower.converter.pypower.from_ppc import from_ppc

    ppc = {"version": "2", "baseMVA": base_mva, "bus": bus.copy(), "gen": gen.copy(),
           "branch": branch.copy()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = from_ppc(ppc, f_hz=50, validate_conversion=False)
        pp.runpp(net, calculate_voltage_angles=True, tolerance_mva=1e-11, init="flat",
                 trafo_model="pi", max_iteration=50)
    # from_ppc indexes pandapower's buses by the case's bus numbers
    eg = net.ext_grid.sort_values("bus")
    assert len(eg) == int((bus[:, 1] == 3).sum()), net.ext_grid
    res = net.res_ext_grid.loc[eg.index]
    rb = net.res_bus.loc[bus[:, 0].astype(int)]
    # no generator at the slack buses besides the ext_grid in these cases
    return {"vm_pu": rb.vm_pu.to_numpy().tolist(),
            "va_deg": rb.va_degree.to_numpy().tolist(),
            "slack_bus": eg["bus"].astype(int).tolist(),
            "slack_p_mw": res.p_mw.to_numpy().tolist(),
            "slack_q_mvar": res.q_mvar.to_numpy().tolist()}


def main() -> None:
    out = {}
    for name, make, note in (
            ("case14_2slack", case14_2slack,
             "PYPOWER case14 with bus 2 a second slack (BUS_TYPE 3, VG 1.045, VA -3 deg), BASE_KV 138."),
            ("case33bw_2slack", case33bw_2slack,
             "MATPOWER case33bw (converted to MW and pu) with bus 18 a second slack "
             "(VG 0.99, VA -0.5 deg).")):
        base, bus, gen, branch = make()
        write_m(HERE / f"{name}.m", name, base, bus, gen, branch, note)
        out[name] = {"pypower": solve_pypower(base, bus, gen, branch),
                     "pandapower": solve_pandapower(base, bus, gen, branch)}
        a, b = out[name]["pypower"], out[name]["pandapower"]
        print(name, "pypower vs pandapower: vm",
              np.max(np.abs(np.subtract(a["vm_pu"], b["vm_pu"]))), "va",
              np.max(np.abs(np.subtract(a["va_deg"], b["va_deg"]))), "P",
              np.max(np.abs(np.subtract(a["slack_p_mw"], b["slack_p_mw"]))), "Q",
              np.max(np.abs(np.subtract(a["slack_q_mvar"], b["slack_q_mvar"]))))
    (HERE / "reference.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
