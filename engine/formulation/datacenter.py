"""The data center: inflexible IT load, flexible jobs inside their windows, PUE.

IT load ``it[s, t] = inflex[s, t] + sum_j flex[j, t]`` with ``0 <= flex[j, t] <= Pmax_j``
only for ``release_j <= t < deadline_j`` (no variable exists outside the window, so no
job can run there), ``sum_t flex[j, t] = E_j`` (every job finishes by its deadline) and
``it[s, t] <= IT capacity`` (group ``datacenter/it_capacity``, written only for the
(site, hour) slots where the jobs' maximum powers could exceed the room left by the
inflexible load; elsewhere the bounds imply it, and with no such slot the group is absent).
Facility power ``PUE[s, t] * it[s, t]`` (PUE a parameter,
so the model stays linear) is withdrawn from the site bus; its inflexible part is the
right-hand side of the balance.
"""
from __future__ import annotations

import numpy as np

from engine.formulation import Formulation


def add(f: Formulation) -> None:
    jobs = f.data.jobs
    J = len(jobs.names)
    if J == 0:
        return
    T = f.T
    lengths = jobs.deadline - jobs.release
    job_of = np.repeat(np.arange(J), lengths)
    t_of = jobs.release[job_of] + (np.arange(job_of.size) - np.repeat(np.cumsum(lengths) - lengths,
                                                                       lengths))
    site_of = jobs.site[job_of]
    flex = f.model.add_variables("job/power_mw", job_of.size, ub=jobs.max_power_mw[job_of])
    cols = flex.idx
    f.model.add_constraints("job/energy", J, [(cols, 1.0, job_of)], lb=jobs.energy_mwh,
                            ub=jobs.energy_mwh)
    # IT capacity, one row per (site, hour) where the jobs' power bounds could exceed it: a
    # row their bounds already imply cannot bind, so it is not written (a presolve HiGHS
    # would otherwise repeat on every solve)
    head = np.array([sd.it_capacity_mw - sd.inflexible_it_mw for sd in f.data.sites]).ravel()
    slot = site_of * T + t_of
    reach = np.bincount(slot, weights=jobs.max_power_mw[job_of], minlength=head.size)
    binding = reach > head
    sel = binding[slot]
    if sel.any():
        used, row_of = np.unique(slot[sel], return_inverse=True)
        f.model.add_constraints("datacenter/it_capacity", used.size,
                                [(cols[sel], 1.0, row_of)], ub=head[used])
    pue = np.array([sd.pue for sd in f.data.sites])[site_of, t_of]
    f.inject(cols, site_of, -pue, t_of=t_of)
    f.facility(cols, site_of, t_of, pue)
    f.meta["job"] = {"names": list(jobs.names), "job_of": job_of, "t_of": t_of, "site": site_of,
                     "pue": pue}
