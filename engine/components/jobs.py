"""Flexible compute jobs (training runs): energy to deliver inside a window.

For job ``j`` with window ``[release_j, deadline_j)`` and hour ``t``::

    0 <= flex[j, t] <= Pmax_j      only for release_j <= t < deadline_j (no variable exists
                                   outside the window, so no job can run there)
    sum_t flex[j, t] = E_j         (every job finishes by its deadline)
    sum_{j at s} flex[j, t] <= IT capacity_s - inflex[s, t]
        (group ``datacenter/it_capacity``, written only for the (site, hour) slots where the
        jobs' maximum powers could exceed the room left by the inflexible load; elsewhere the
        bounds imply it, and with no such slot the group is absent)

Facility power ``PUE[s, t] * flex[j, t]`` is withdrawn from the site bus and declared as
variable facility load (for the green-share floor).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.scenario.base import Amount, Bool, Integer, Model, NonNeg, PositiveAmount

__all__ = ["COMPONENT", "Job", "JobData", "job_energy_mwh", "job_max_power_mw", "job_site"]


class Job(Model):
    """A flexible compute job (e.g. a training run) with a window and an energy need.

    Give either ``energy_mwh`` (IT energy) or ``gpu_hours`` (converted with the site's
    ``it_power_per_gpu_kw``). The job runs inside ``[release_h, deadline_h)`` at no more than
    ``max_power_mw`` (default: the site's IT capacity; or ``gpus`` times the power per GPU).
    ``sites`` lists the sites it may run at (empty: any site with a data center); placement
    across sites comes with the East-data-West-compute release, so for now it must resolve
    to one site. Only preemptible jobs are built for now (a contiguous, non-preemptible run
    needs the start binaries of the microgrid release): ``preemptible: false`` is refused.
    """

    name: str
    energy_mwh: Amount | None = None
    gpu_hours: NonNeg | None = None
    release_h: Annotated[Integer, Field(ge=0)] = 0
    deadline_h: Annotated[Integer, Field(ge=1)]
    max_power_mw: PositiveAmount | None = None
    gpus: Annotated[Integer, Field(ge=1)] | None = None
    preemptible: Bool = True
    sites: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Job:
        if (self.energy_mwh is None) == (self.gpu_hours is None):
            raise ValueError("energy_mwh: give exactly one of energy_mwh and gpu_hours, got "
                             + ("both" if self.energy_mwh is not None else "neither"))
        if self.deadline_h <= self.release_h:
            raise ValueError(
                f"deadline_h: must be > release_h={self.release_h}, got {self.deadline_h}"
            )
        if self.max_power_mw is not None and self.gpus is not None:
            raise ValueError(f"max_power_mw: give max_power_mw or gpus, not both, got "
                             f"{self.max_power_mw} and gpus={self.gpus}")
        return self


@dataclass
class JobData:
    """Flexible jobs as arrays (one entry per job)."""

    names: list[str]
    site: np.ndarray  # site position
    release: np.ndarray
    deadline: np.ndarray
    energy_mwh: np.ndarray
    max_power_mw: np.ndarray


def check(scenario: Any) -> None:
    names = [s.name for s in scenario.sites]
    jnames = [j.name for j in scenario.jobs]
    dup = {n for n in jnames if jnames.count(n) > 1}
    if dup:
        raise ValueError(f"jobs: names must be unique, got duplicates {sorted(dup)}")
    for k, job in enumerate(scenario.jobs):
        _check_job(scenario, k, job, names)


def _check_job(scenario: Any, k: int, job: Job, site_names: list[str]) -> None:
    path = f"jobs[{k}]"
    unknown = [s for s in job.sites if s not in site_names]
    if unknown:
        raise ValueError(f"{path}.sites: unknown site {unknown[0]!r}; sites are {site_names}")
    if job.deadline_h > scenario.horizon_h:
        raise ValueError(
            f"{path}.deadline_h: must be <= horizon_h={scenario.horizon_h}, got {job.deadline_h}"
        )
    hosts = [s for s in scenario.sites if s.datacenter is not None]
    if not hosts:
        raise ValueError(f"{path}: no site has a datacenter to run job {job.name!r}")
    if not job.preemptible:
        raise ValueError(
            f"{path}.preemptible: job {job.name!r} is non-preemptible, which needs the start "
            "binaries of a later release; set preemptible: true for now"
        )
    try:
        site = job_site(scenario, job)
    except ValueError as exc:
        raise ValueError(f"{path}.sites: {exc}") from None
    dc = site.datacenter
    if dc is None:
        raise ValueError(f"{path}.sites: site {site.name!r} has no datacenter")
    energy = job_energy_mwh(scenario, job)
    pmax = job_max_power_mw(scenario, job)
    hours = job.deadline_h - job.release_h
    if energy > pmax * hours * (1 + 1e-9):
        raise ValueError(
            f"{path}: job {job.name!r} needs {energy:g} MWh but can draw at most "
            f"{pmax:g} MW x {hours} h = {pmax * hours:g} MWh between release_h="
            f"{job.release_h} and deadline_h={job.deadline_h}"
        )
    # the IT capacity left by the inflexible load bounds the job too
    inflex = dc.inflexible_it_mw
    if inflex is None and dc.inflexible_utilization_fraction is not None:
        inflex = np.multiply(dc.inflexible_utilization_fraction, dc.it_capacity_mw)
    if inflex is not None:
        window = np.broadcast_to(np.asarray(inflex, dtype=np.float64), (scenario.horizon_h,))[
            job.release_h:job.deadline_h]
        room = float(np.minimum(pmax, np.maximum(dc.it_capacity_mw - window, 0.0)).sum())
        if energy > room * (1 + 1e-9) + 1e-12:
            raise ValueError(
                f"{path}: job {job.name!r} needs {energy:g} MWh but the IT capacity left by "
                f"the inflexible load at site {site.name!r} allows at most {room:g} MWh "
                f"between release_h={job.release_h} and deadline_h={job.deadline_h}"
            )


def job_site(scenario: Any, job: Job) -> Any:
    """The one site a job runs at (multi-site placement is a later release)."""
    hosts = [s for s in scenario.sites if s.datacenter is not None]
    candidates = [s for s in hosts if not job.sites or s.name in job.sites]
    if len(candidates) > 1:
        raise ValueError(
            f"job {job.name!r} may run at sites {[s.name for s in candidates]}: placing jobs "
            "across sites ('East data, West compute') comes with a later release; list one "
            "site in jobs[].sites"
        )
    if not candidates:
        raise ValueError(f"job {job.name!r}: none of its sites {job.sites} has a datacenter")
    return candidates[0]

def job_energy_mwh(scenario: Any, job: Job) -> float:
    """IT energy of a job [MWh]."""
    if job.energy_mwh is not None:
        return job.energy_mwh
    dc = job_site(scenario, job).datacenter
    assert dc is not None
    return float(job.gpu_hours) * dc.it_power_per_gpu_kw / 1000.0

def job_max_power_mw(scenario: Any, job: Job) -> float:
    """Largest IT power a job may draw [MW]."""
    dc = job_site(scenario, job).datacenter
    assert dc is not None
    if job.max_power_mw is not None:
        return min(job.max_power_mw, dc.it_capacity_mw)
    if job.gpus is not None:
        return min(job.gpus * dc.it_power_per_gpu_kw / 1000.0, dc.it_capacity_mw)
    return dc.it_capacity_mw


def prepare_scenario(data: Any) -> dict[str, Any]:
    scenario = data.scenario
    site_pos = {s.name: i for i, s in enumerate(scenario.sites)}
    jobs = scenario.jobs
    return {"jobs": JobData(
        names=[j.name for j in jobs],
        site=np.array([site_pos[job_site(scenario, j).name] for j in jobs], dtype=np.int64),
        release=np.array([j.release_h for j in jobs], dtype=np.int64),
        deadline=np.array([j.deadline_h for j in jobs], dtype=np.int64),
        energy_mwh=np.array([job_energy_mwh(scenario, j) for j in jobs], dtype=np.float64),
        max_power_mw=np.array([job_max_power_mw(scenario, j) for j in jobs], dtype=np.float64),
    )}


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


def extract(r: Extraction) -> None:
    """The flexible IT load per site, the per-job table and the long job-power table."""
    import pandas as pd

    f = r.f
    data = f.data
    meta = f.meta.get("job")
    if meta is None:
        r.tables["jobs"] = pd.DataFrame()
        r.tables["job_power"] = pd.DataFrame({
            "job": pd.Series(dtype=str), "time": pd.Series(dtype=object),
            "power_mw": pd.Series(dtype=float)})
        r.kpis["job_completion"] = 1.0
        return
    T = f.T
    names = r.site_names
    flex = r.val("job/power_mw")
    job_of, t_of = meta["job_of"], meta["t_of"]
    J = len(meta["names"])
    np.add.at(r.flexible_it_mw, (meta["site"], t_of), flex)
    jd = data.jobs
    delivered = np.bincount(job_of, weights=flex, minlength=J)
    prices = np.array([sd.grid_import_price if sd.grid_import_price.size else np.zeros(T)
                       for sd in data.sites])
    paid = np.bincount(job_of, weights=flex * prices[meta["site"], t_of], minlength=J)
    jobs_df = pd.DataFrame({
        "job": jd.names,
        "site": [names[s] for s in jd.site],
        "release_h": jd.release,
        "deadline_h": jd.deadline,
        "energy_mwh": jd.energy_mwh,
        "delivered_mwh": delivered,
        "max_power_mw": jd.max_power_mw,
        # energy-weighted grid import price over the job's hours (a diagnostic)
        "mean_price_per_mwh": np.divide(paid, delivered, out=np.full(J, np.nan),
                                        where=delivered > 0),
    })
    r.tables["jobs"] = jobs_df
    # long format: one row per in-window hour (a wide table would hold J x T mostly zeros)
    r.tables["job_power"] = pd.DataFrame({
        "job": pd.Categorical.from_codes(job_of, categories=list(meta["names"])),
        "time": data.index[t_of],
        "power_mw": flex,
    })
    need = float(jobs_df["energy_mwh"].sum())
    r.kpis["job_completion"] = float(jobs_df["delivered_mwh"].sum()) / need if need > 0 else 1.0


COMPONENT = Component(
    name="jobs", field="jobs", level="scenario", schema=list[Job],
    default=Field(default_factory=list), check=check, prepare_scenario=prepare_scenario,
    add=add, extract=extract,
)
