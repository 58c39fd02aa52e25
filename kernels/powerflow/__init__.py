"""Power-flow kernels: plain arrays in, plain arrays out; nothing from ``engine``.

- :func:`make_case` turns MATPOWER arrays into a :class:`PowerFlowCase` (Ybus and bus types).
- :class:`NewtonSolver`: Newton–Raphson, polar, sparse, Numba, batched over snapshots.
- :class:`SweepSolver`: backward/forward sweep for radial feeders, Cython.
- :class:`DCSolver`: DC power flow, B factorised once, batched.
- :func:`lindistflow`: LinDistFlow sensitivities of squared voltage to injections.

Each has a NumPy/SciPy reference (``*_ref``) that the tests compare it with.

:class:`NewtonSolver`, the DC solver and the admittance builder are imported on first
use: Numba and SciPy's sparse modules cost tenths of a second to import, which a caller
of the Cython sweep alone should not pay.
"""

from typing import Any

from kernels.powerflow.case import PowerFlowCase, branch_losses_pu, make_case
from kernels.powerflow.errors import NotRadialError, PowerFlowInputError
from kernels.powerflow.lindistflow import lindistflow, lindistflow_ref
from kernels.powerflow.radial import Feeder, SweepSolver, make_feeder

__all__ = [
    "Admittance",
    "DCSolver",
    "Feeder",
    "NewtonSolver",
    "NotRadialError",
    "PowerFlowCase",
    "PowerFlowInputError",
    "SweepSolver",
    "branch_losses_pu",
    "dc_ref",
    "lindistflow",
    "lindistflow_ref",
    "make_admittance",
    "make_case",
    "make_dc",
    "make_feeder",
]


_LAZY = {
    "NewtonSolver": "kernels.powerflow.newton",
    "DCSolver": "kernels.powerflow.dc",
    "dc_ref": "kernels.powerflow.dc",
    "make_dc": "kernels.powerflow.dc",
    "Admittance": "kernels.powerflow.admittance",
    "make_admittance": "kernels.powerflow.admittance",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
