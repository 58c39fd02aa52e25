"""NumPy reference of the storage mixing-tank traceability recursion.

Each hour the energy supplied to a bus is a pool mixed from its sources; every sink
(facility load, battery charging, export) takes the pool's mix. A battery is a mixing
tank: what it discharges carries the mix of what it holds, and what it charges adds the
pool's mix of that hour. For hour ``t``, sources ``k`` and batteries ``b``::

    s[k]      = direct[t, k] + sum_b dis[t, b] * comp[b, k]
    mix[t, k] = s[k] / sum_k s[k]                    (0 if nothing is supplied)
    E[b, k]   = comp[b, k] * ((1 - sigma_b) * soc[b] - dis[t, b] / eta_d_b)
                + mix[t, k] * eta_c_b * ch[t, b]
    soc[b]    = sum_k max(E[b, k], 0);  comp[b, k] = max(E[b, k], 0) / soc[b]

The battery's stored energy before hour 0 has the composition ``init_comp``.
"""
from __future__ import annotations

import numpy as np

_EPS = 1e-12


def trace_mix_reference(
    direct: np.ndarray,
    dis: np.ndarray,
    ch: np.ndarray,
    soc0: np.ndarray,
    eta_c: np.ndarray,
    eta_d: np.ndarray,
    sigma: np.ndarray,
    init_comp: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pool mix of every hour and each battery's composition at the end of every hour.

    Parameters
    ----------
    direct : (T, K) array [MWh]
        Energy of each original source into the bus in each hour (battery excluded).
    dis, ch : (T, B) arrays [MWh]
        Battery discharge (delivered to the bus) and charge (taken from the bus).
    soc0 : (B,) array [MWh]
        Stored energy before the first hour.
    eta_c, eta_d, sigma : (B,) arrays [-]
        Charge and discharge efficiencies, self-discharge per hour.
    init_comp : (B, K) array [-]
        Source composition of ``soc0`` (rows sum to 1).

    Returns
    -------
    mix : (T, K) array [-]
        Source shares of the energy delivered to the bus's sinks in each hour.
    comp : (T, B, K) array [-]
        Composition of each battery's content after each hour.
    """
    direct = np.asarray(direct, dtype=np.float64)
    T, K = direct.shape
    B = len(soc0)
    comp = np.array(init_comp, dtype=np.float64).reshape(B, K)
    soc = np.array(soc0, dtype=np.float64)
    mix = np.zeros((T, K))
    comps = np.zeros((T, B, K))
    for t in range(T):
        s = direct[t] + dis[t] @ comp if B else direct[t].copy()
        tot = s.sum()
        if tot > _EPS:
            mix[t] = s / tot
        remain = (1.0 - sigma) * soc - dis[t] / eta_d
        E = np.maximum(comp * remain[:, None] + mix[t][None, :] * (eta_c * ch[t])[:, None], 0.0)
        soc = E.sum(axis=1)
        ok = soc > _EPS
        comp[ok] = E[ok] / soc[ok, None]
        comps[t] = comp
    return mix, comps
