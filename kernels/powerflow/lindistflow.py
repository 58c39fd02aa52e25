"""LinDistFlow: the linearised DistFlow model of a radial feeder (Baran & Wu, 1989).

Dropping the loss terms of the DistFlow equations leaves, for every bus i,

    v_i = v_root + sum_j R_ij p_j + sum_j X_ij q_j,
    R_ij = 2 * sum of r_b over branches b on both root->i and root->j paths,
    X_ij = 2 * sum of x_b over the same branches,

with v = |V|^2 and p, q the net injections (generation minus demand). R and X are
what an LP needs to bound voltages linearly in the dispatch. Bus shunts and line
charging are ignored, as in the classic model.
"""

from __future__ import annotations

import numpy as np

from kernels.powerflow.radial import Feeder


def lindistflow(feeder: Feeder, v_root_pu: float = 1.0) -> tuple[float, np.ndarray, np.ndarray]:
    """Sensitivities of squared voltage magnitudes to active and reactive injections.

    Parameters
    ----------
    feeder : Feeder
        Radial feeder (see :func:`kernels.powerflow.make_feeder`).
    v_root_pu : float
        Slack voltage magnitude [pu].

    Returns
    -------
    v0_sq : float
        Squared voltage at every bus with no injections [pu^2].
    r_sens, x_sens : ndarray (nb, nb)
        ``d|V_i|^2/dp_j`` and ``d|V_i|^2/dq_j`` [pu^2 per pu of injection]; the
        slack's row and column are zero.
    """
    nb = feeder.order.shape[0]
    # path[j, b] = 1 when the branch feeding bus b lies on the path root -> j.
    path = np.zeros((nb, nb))
    for j in feeder.order[1:]:  # parents come first in breadth-first order
        path[j] = path[feeder.parent[j]]
        path[j, j] = 1.0
    r_sens = 2.0 * (path * feeder.z.real) @ path.T
    x_sens = 2.0 * (path * feeder.z.imag) @ path.T
    return v_root_pu**2, r_sens, x_sens


def lindistflow_ref(feeder: Feeder, v_root_pu: float = 1.0) -> tuple[float, np.ndarray, np.ndarray]:
    """Reference for :func:`lindistflow`: walk both paths bus pair by bus pair."""
    nb = feeder.order.shape[0]
    root = int(feeder.order[0])

    def path_to(i: int) -> set[int]:
        out = set()
        while i != root:
            out.add(i)  # the branch feeding bus i, named by i
            i = int(feeder.parent[i])
        return out

    paths = [path_to(i) for i in range(nb)]
    r_sens = np.zeros((nb, nb))
    x_sens = np.zeros((nb, nb))
    for i in range(nb):
        for j in range(nb):
            for b in paths[i] & paths[j]:
                r_sens[i, j] += 2.0 * feeder.z[b].real
                x_sens[i, j] += 2.0 * feeder.z[b].imag
    return v_root_pu**2, r_sens, x_sens
