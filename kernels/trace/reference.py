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

Per consumer (:func:`trace_consumers_reference`): consumer ``n`` takes ``cons[t, n]`` MWh of
the hour's pool, so its energy by source and the part of it the batteries discharged are::

    by[t, n, k]  = s[k] * cons[t, n] / sum_k s[k]
    via[t, n, k] = (sum_b dis[t, b] * comp[b, k]) * cons[t, n] / sum_k s[k]

(0 in an hour with no supply); ``sum_k by[t, n, k] = cons[t, n]``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["trace_consumers_reference", "trace_mix_reference"]

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


def trace_consumers_reference(direct: np.ndarray, dis: np.ndarray, ch: np.ndarray,
                              soc0: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray,
                              sigma: np.ndarray, init_comp: np.ndarray, cons: np.ndarray,
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`trace_mix_reference` and each consumer's energy by source.

    Parameters
    ----------
    direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp
        As :func:`trace_mix_reference`.
    cons : (T, N) array [MWh]
        What each consumer takes from the bus in each hour.

    Returns
    -------
    mix, comp
        As :func:`trace_mix_reference`.
    by : (T, N, K) array [MWh]
        Each consumer's energy by original source.
    via : (T, N, K) array [MWh]
        The part of ``by`` that the batteries discharged (by the source that charged them).
    """
    direct = np.asarray(direct, dtype=np.float64)
    cons = np.asarray(cons, dtype=np.float64)
    T, K = direct.shape
    B = len(soc0)
    mix, comps = trace_mix_reference(direct, dis, ch, soc0, eta_c, eta_d, sigma, init_comp)
    # the battery contents each hour starts from: the composition after the hour before
    before = np.concatenate([np.asarray(init_comp, np.float64).reshape(1, B, K),
                             comps[:-1]]) if B else np.zeros((T, 0, K))
    bat = np.einsum("tb,tbk->tk", np.asarray(dis, np.float64).reshape(T, B), before)
    s = direct + bat
    tot = s.sum(axis=1)
    share = np.divide(cons, tot[:, None], out=np.zeros_like(cons), where=tot[:, None] > _EPS)
    return mix, comps, s[:, None, :] * share[:, :, None], bat[:, None, :] * share[:, :, None]
