"""Power-flow kernels: plain arrays in, plain arrays out; nothing from ``engine``.

- :func:`make_case` turns MATPOWER arrays into a :class:`PowerFlowCase` (Ybus and bus types).
- :class:`NewtonSolver`: Newton–Raphson, polar, sparse, Numba, batched over snapshots.
- :class:`SweepSolver`: backward/forward sweep for radial feeders, Cython.
- :func:`dc_powerflow`: DC power flow, batched.
- :func:`lindistflow`: LinDistFlow sensitivities of squared voltage to injections.

Each has a NumPy/SciPy reference (``*_ref``) that the tests compare it with.
"""

from kernels.powerflow.admittance import Admittance, make_admittance
from kernels.powerflow.case import PowerFlowCase, branch_losses_pu, make_case
from kernels.powerflow.errors import NotRadialError, PowerFlowInputError
from kernels.powerflow.newton import NewtonSolver
from kernels.powerflow.radial import Feeder, SweepSolver, make_feeder

__all__ = [
    "Admittance",
    "Feeder",
    "NewtonSolver",
    "NotRadialError",
    "PowerFlowCase",
    "PowerFlowInputError",
    "SweepSolver",
    "branch_losses_pu",
    "make_admittance",
    "make_case",
    "make_feeder",
]
