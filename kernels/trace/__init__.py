"""Hourly traceability: attribute the energy of every hour to its original sources.

:func:`trace_mix` is the compiled (Cython, GIL released) kernel; :func:`trace_mix_reference`
the plain NumPy reference that tests compare it with. :func:`trace_consumers` (reference
:func:`trace_consumers_reference`) also attributes each hour's pool, the batteries'
mixed-source discharge included, to the bus's consumers.
"""
from __future__ import annotations

import numpy as np

from kernels.trace.reference import trace_consumers_reference, trace_mix_reference

try:
    from kernels.trace._tank import trace_consumers as _trace_consumers_c
    from kernels.trace._tank import trace_mix as _trace_mix_c
except ImportError as _exc:  # pragma: no cover - only without a build
    _trace_mix_c = _trace_consumers_c = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

__all__ = ["compiled_available", "trace_consumers", "trace_consumers_reference", "trace_mix",
           "trace_mix_reference"]


def compiled_available() -> bool:
    """Whether the Cython extension was built."""
    return _trace_mix_c is not None


def _contiguous(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp) -> tuple:
    """The tank's arguments as C-contiguous float64 arrays of the shapes the kernel takes."""
    c = lambda a, shape: np.ascontiguousarray(np.asarray(a, dtype=np.float64).reshape(shape))
    direct = np.ascontiguousarray(np.asarray(direct, dtype=np.float64))
    T, K = direct.shape
    B = int(np.size(soc0))
    return (direct, c(dis, (T, B)), c(ch, (T, B)), c(soc0, (B,)), c(eta_c, (B,)),
            c(eta_d, (B,)), c(sigma, (B,)), c(init_comp, (B, K)))


def trace_mix(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp):
    """Pool mix and battery compositions (see :func:`trace_mix_reference` for the equations).

    Raises
    ------
    ImportError
        If the Cython extension was not built (``pip install -e .`` builds it); the
        original import error is chained.
    """
    if _trace_mix_c is None:
        raise ImportError(
            "kernels.trace._tank is not built; run `pip install -e .`"
        ) from _IMPORT_ERROR
    return _trace_mix_c(*_contiguous(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp))


def trace_consumers(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp, cons):
    """Pool mix, battery compositions, and each consumer's energy by source with the part the
    batteries discharged (see :func:`trace_consumers_reference`; ``cons`` is ``(T, N)``).

    Raises
    ------
    ImportError
        If the Cython extension was not built; the original import error is chained.
    """
    if _trace_consumers_c is None:
        raise ImportError(
            "kernels.trace._tank is not built; run `pip install -e .`"
        ) from _IMPORT_ERROR
    args = _contiguous(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp)
    cons = np.ascontiguousarray(np.asarray(cons, dtype=np.float64).reshape(args[0].shape[0], -1))
    return _trace_consumers_c(*args, cons)
