"""Power-flow kernels: plain arrays in, plain arrays out; nothing from ``engine``.

- :func:`make_case` turns MATPOWER arrays into a :class:`PowerFlowCase` (Ybus and bus types).
- :class:`NewtonSolver`: Newton–Raphson, polar, sparse, Numba, batched over snapshots.
- :class:`SweepSolver`: backward/forward sweep for radial feeders, Cython.
- :class:`DCSolver`: DC power flow, B factorised once, batched.
- :func:`lindistflow`: LinDistFlow sensitivities of squared voltage to injections.

Each has a NumPy/SciPy reference (``*_ref``) that the tests compare it with.
"""

from kernels.powerflow.admittance import Admittance, make_admittance
from kernels.powerflow.case import PowerFlowCase, branch_losses_pu, make_case
from kernels.powerflow.dc import DCSolver, dc_ref, make_dc
from kernels.powerflow.errors import NotRadialError, PowerFlowInputError
from kernels.powerflow.lindistflow import lindistflow, lindistflow_ref
from kernels.powerflow.newton import NewtonSolver
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
