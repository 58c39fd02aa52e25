"""Compute jobs (training runs): work to deliver inside a window, preemptible or not, in GPU
blocks, and with GPU power capping.

For job ``j`` with window ``[release_j, deadline_j)`` and hour ``t`` (variables exist only
inside the window, so no job can run outside it)::

    0 <= p[j, t] <= Pmax_j                              (job/power_mw, IT MW)

*Preemptible* jobs (an LP)::

    sum_t p[j, t] = E_j                                 (job/energy: done by the deadline)

*Gang blocks* (``gpu_block``; only when asked, a MILP): the job's GPUs come in blocks of
``B`` GPUs, block power ``Pb = B * kW per GPU / 1000``; integer ``n[j, t]`` in
``[0, floor(Pmax / Pb)]`` and ``p[j, t] = Pb * n[j, t]`` (job/gang). ``E_j`` must be a whole
number of block-hours.

*Non-preemptible* jobs (``preemptible: false``; a MILP): once started the job runs at its
fixed power ``P_j`` (``max_power_mw``, or ``gpus`` x kW per GPU, else the IT capacity) for
``d_j = ceil(E_j / P_j)`` contiguous hours; the last hour draws the remainder
``E_j - (d_j - 1) P_j`` (a partial last hour is allowed, so any energy is accepted). Binary
starts ``s[j, tau]`` exist only for the feasible starts ``release_j <= tau <= deadline_j - d_j``::

    sum_tau s[j, tau] = 1                               (job/start_once)
    p[j, t] = sum_{k=0..d_j-1} prof_j[k] * s[j, t - k]  (job/run; prof = P, ..., P, last)

This is the time-indexed formulation (its LP relaxation is the convex hull of one job's
schedules); ``sum_t p = E_j`` follows from it, so no energy row is written. A job whose run
cannot fit its window is refused at validation.

*Power-capped* jobs (``power_cap``; preemptible, an LP): the job is quantified in work,
``gpu_hours`` at full speed, counted here in MWh at full power ``W_j = gpu_hours * kW/1000``
(the energy the work takes uncapped). With ``P_full_j = gpus * kW / 1000`` and the upper
concave hull ``h`` of the origin and the job's throughput curve (segments ``a_k + b_k x``,
see :mod:`engine.components._gpu_power` for the default curve and its source)::

    0 <= w[j, t] <= P_full_j                            (job/work_mwh)
    w[j, t] <= a_k * P_full_j + b_k * p[j, t]   for each hull segment k (job/throughput)
    sum_t w[j, t] = W_j                                 (job/work)

so the optimizer picks when and how hard each capped job runs; energy saved is
``W_j - sum_t p[j, t]``.

Outages: at a data center whose jobs pause in outages (``pauses_jobs_in_outages``: with
service tiers, by default), every job's power is 0 in the grid's outage hours
(``grid.outage_hours``): its bound is ``Pmax_j (1 - out[s, t])``, so a preemptible job
does its energy in the other hours of its window, a non-preemptible run never spans an
outage hour and a capped job does no work there. A job that cannot then finish is refused
at validation. A preemptible job with ``restart_energy_mwh = R_j`` pays for each pause: for
each outage block ``[a, b)`` inside its window (``release_j < a``, ``b < deadline_j``), the
energy to write its checkpoint and reload it is drawn in the block's first hour back, in
proportion to how much of the job was running when the grid went down::

    restart[j, b] = R_j * p[j, a - 1] / Pmax_j          (IT MW at hour b; in the bus
                                                         balance, the facility load and the
                                                         IT capacity row of hour b)

(exact when the job runs at full power before the outage; a job that finished in hour
``a - 1`` is charged too, so the figure is an upper bound there.)

IT capacity, all jobs::

    sum_{j at s} p[j, t] <= IT capacity_s - inflex[s, t]
        (group ``datacenter/it_capacity``, written only for the (site, hour) slots where the
        jobs' maximum powers could exceed the room left by the inflexible load; elsewhere the
        bounds imply it, and with no such slot the group is absent)

Facility power ``PUE[s, t] * p[j, t]`` is withdrawn from the site bus and declared as
variable facility load (for the green-share floor).

The window, energy, run, throughput and capacity rows are the shared deferrable-energy
formulation of :mod:`engine.components._deferrable` (EV charging sessions use it too).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

import engine.components._deferrable as dfr
from engine.components._deferrable import run_shape
from engine.components._gpu_power import PowerCap, hull_segments, hull_value
from engine.components._sites import hosts, is_placed, max_power_at
from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.scenario.base import Amount, Bool, Integer, Model, NonNeg, PositiveAmount

__all__ = ["COMPONENT", "Job", "JobData", "PowerCap", "job_energy_mwh", "job_max_power_mw",
           "job_site", "run_shape"]

class Job(Model):
    """A compute job (e.g. a training run) with a window and an energy or work need.

    Give either ``energy_mwh`` (IT energy) or ``gpu_hours`` (converted with the site's
    ``it_power_per_gpu_kw``). The job runs inside ``[release_h, deadline_h)`` at no more than
    ``max_power_mw`` (default: the site's IT capacity; or ``gpus`` times the power per GPU).
    ``sites`` lists the sites it may run at (empty: any site with a data center). A job with
    several sites, or with data (``data_gb`` at ``home_region``) to move to its one site, is
    placed by :mod:`engine.components.placement` (an LP split across sites, or one site
    with ``single_site: true``; ``checkpoint_gb`` > 0 makes it one run that migrates by
    moving its checkpoint). ``tenant`` owns it (for the tenant ledger).

    ``preemptible: false`` makes it one contiguous run at that fixed power, lasting
    ``ceil(energy / power)`` hours (the last hour may be partial); the optimizer picks the
    start. ``gpu_block`` (GPUs per block) makes a preemptible job run a whole number of
    blocks each hour (gang scheduling; its energy must be a whole number of block-hours).
    ``power_cap`` (``{}`` for the default curve) lets the optimizer cap the job's power per
    GPU: the job then needs ``gpus`` and ``gpu_hours`` (work at full speed) and runs at the
    speed its throughput curve gives (see :class:`PowerCap`). ``restart_energy_mwh``
    (preemptible jobs): IT energy a pause in a grid outage costs the job, writing its
    checkpoint and reloading it (module docstring).
    """

    name: str
    energy_mwh: Amount | None = None
    gpu_hours: NonNeg | None = None
    release_h: Annotated[Integer, Field(ge=0)] = 0
    deadline_h: Annotated[Integer, Field(ge=1)]
    max_power_mw: PositiveAmount | None = None
    gpus: Annotated[Integer, Field(ge=1)] | None = None
    preemptible: Bool = True
    gpu_block: Annotated[Integer, Field(ge=1)] | None = None
    power_cap: PowerCap | None = None
    sites: list[str] = Field(default_factory=list)
    restart_energy_mwh: Amount | None = None
    data_gb: NonNeg = 0.0
    home_region: str | None = None
    single_site: Bool = False
    checkpoint_gb: NonNeg = 0.0
    tenant: str | None = None

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
        if self.power_cap is not None:
            if not self.preemptible:
                raise ValueError("power_cap: a capped job must be preemptible (a non-preemptible "
                                 "job runs at its fixed power); set preemptible: true")
            if self.gpus is None:
                raise ValueError("power_cap: a capped job needs gpus (its GPU count)")
            if self.gpu_hours is None:
                raise ValueError("power_cap: a capped job is specified in work: give gpu_hours "
                                 "(GPU-hours at full speed) instead of energy_mwh")
            if self.gpu_block is not None:
                raise ValueError("gpu_block: gang blocks and power_cap cannot be combined yet")
        if self.restart_energy_mwh is not None and not self.preemptible:
            raise ValueError("restart_energy_mwh: a non-preemptible job never spans an outage "
                             "(its run avoids outage hours), so it has no restart to pay; "
                             f"drop it or set preemptible: true, got {self.restart_energy_mwh}")
        if self.gpu_block is not None:
            if self.gpus is not None and self.gpus % self.gpu_block:
                raise ValueError(f"gpus: must be a multiple of gpu_block={self.gpu_block}, got "
                                 f"{self.gpus}")
            if self.gpu_hours is not None and not dfr.whole(self.gpu_hours / self.gpu_block):
                raise ValueError(
                    f"gpu_hours: must be a whole number of block-hours (a multiple of gpu_block="
                    f"{self.gpu_block}), got {self.gpu_hours:g}")
        return self


@dataclass
class JobData:
    """Jobs as arrays (one entry per job).

    ``energy_mwh`` is the need at full power (for a capped job, the energy its work takes
    uncapped). Non-preemptible jobs: ``duration_h`` > 0 hours at ``max_power_mw``, the last
    at ``last_power_mw``. Gang jobs: ``block_mw`` > 0. Capped jobs: ``full_power_mw`` > 0 and
    their hull segments ``cap_a``, ``cap_b`` (per job, None if uncapped), ``cap_best`` the
    most efficient cap (NaN if uncapped).
    """

    names: list[str]
    site: np.ndarray  # site position
    release: np.ndarray
    deadline: np.ndarray
    energy_mwh: np.ndarray
    max_power_mw: np.ndarray
    gpu_kw: np.ndarray = None  # type: ignore[assignment]
    preemptible: np.ndarray = None  # type: ignore[assignment]
    duration_h: np.ndarray = None  # type: ignore[assignment]
    last_power_mw: np.ndarray = None  # type: ignore[assignment]
    block_mw: np.ndarray = None  # type: ignore[assignment]
    full_power_mw: np.ndarray = None  # type: ignore[assignment]
    cap_a: list[np.ndarray | None] = None  # type: ignore[assignment]
    cap_b: list[np.ndarray | None] = None  # type: ignore[assignment]
    cap_best: np.ndarray = None  # type: ignore[assignment]
    restart_mwh: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        J = len(self.names)
        defaults = {"gpu_kw": np.ones(J), "preemptible": np.ones(J, bool),
                    "duration_h": np.zeros(J, np.int64), "last_power_mw": np.zeros(J),
                    "block_mw": np.zeros(J), "full_power_mw": np.zeros(J),
                    "cap_best": np.full(J, np.nan), "restart_mwh": np.zeros(J)}
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.cap_a is None:
            self.cap_a = [None] * J
        if self.cap_b is None:
            self.cap_b = [None] * J

    @property
    def capped(self) -> np.ndarray:
        return self.full_power_mw > 0

    @property
    def contiguous(self) -> np.ndarray:
        """Non-preemptible jobs with a run to place."""
        return ~self.preemptible & (self.duration_h > 0)

    @property
    def gang(self) -> np.ndarray:
        """Preemptible jobs run in whole GPU blocks."""
        return self.preemptible & (self.block_mw > 0)


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
    if is_placed(scenario, job):
        return  # checked by the placement
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
    where = f"between release_h={job.release_h} and deadline_h={job.deadline_h}"
    # the IT capacity left by the inflexible load, per hour of the window
    inflex = dc.inflexible_it_mw
    if inflex is None and dc.inflexible_utilization_fraction is not None:
        inflex = np.multiply(dc.inflexible_utilization_fraction, dc.it_capacity_mw)
    room = np.full(hours, dc.it_capacity_mw)
    if inflex is not None:
        window = np.broadcast_to(np.asarray(inflex, dtype=np.float64), (scenario.horizon_h,))[
            job.release_h:job.deadline_h]
        room = np.maximum(dc.it_capacity_mw - window, 0.0)
    if dc.pauses_jobs_in_outages and site.grid is not None and site.grid.outage_hours:
        # the job pauses in the grid's outage hours: no room there
        out = np.asarray(site.grid.outage_hours, dtype=np.int64) - job.release_h
        room[out[(out >= 0) & (out < hours)]] = 0.0
        where += " (outage hours excluded: jobs pause in outages)"
    block = job.gpu_block * dc.it_power_per_gpu_kw / 1000.0 if job.gpu_block else 0.0
    if block and not dfr.whole(energy / block):
        raise ValueError(
            f"{path}.energy_mwh: job {job.name!r} runs in blocks of {job.gpu_block} GPUs "
            f"({block:g} MW), so its energy must be a whole number of block-hours; got "
            f"{energy:g} MWh = {energy / block:g} block-hours")
    if not job.preemptible:
        _check_run(path, job, energy, pmax, block, room, where)
        return
    if job.power_cap is not None:
        full = job.gpus * dc.it_power_per_gpu_kw / 1000.0  # type: ignore[operator]
        most = float(full * hull_value(job.power_cap, np.minimum(pmax, room) / full).sum())
        if energy > most * (1 + 1e-9) + 1e-12:
            raise ValueError(
                f"{path}.gpu_hours: job {job.name!r} needs {job.gpu_hours:g} GPU-hours at full "
                f"speed ({energy:g} MWh at full power) but can do at most "
                f"{most * 1000 / dc.it_power_per_gpu_kw:g} {where} (IT capacity and "
                "inflexible load included)")
        return
    if block:
        if pmax < block * (1 - 1e-9):
            raise ValueError(
                f"{path}.gpu_block: a block of {job.gpu_block} GPUs draws {block:g} MW, more "
                f"than job {job.name!r} may draw ({pmax:g} MW)")
        per_hour = block * np.floor(np.minimum(pmax, room) / block + 1e-9)
    else:
        per_hour = np.minimum(pmax, room)
    if energy > pmax * hours * (1 + 1e-9):
        raise ValueError(
            f"{path}: job {job.name!r} needs {energy:g} MWh but can draw at most "
            f"{pmax:g} MW x {hours} h = {pmax * hours:g} MWh {where}"
        )
    most = float(per_hour.sum())
    if energy > most * (1 + 1e-9) + 1e-12:
        raise ValueError(
            f"{path}: job {job.name!r} needs {energy:g} MWh but the IT capacity left by "
            f"the inflexible load at site {site.name!r}"
            + (f" in whole blocks of {block:g} MW" if block else "")
            + f" allows at most {most:g} MWh {where}"
        )


def _check_run(path: str, job: Job, energy: float, power: float, block: float,
               room: np.ndarray, where: str) -> None:
    """A non-preemptible run must fit its window and, at some start, the IT room."""
    if block and not dfr.whole(power / block):
        raise ValueError(
            f"{path}.max_power_mw: non-preemptible job {job.name!r} runs at {power:g} MW, not "
            f"a whole number of {job.gpu_block}-GPU blocks ({block:g} MW)")
    dfr.check_run(path, f"job {job.name!r}", energy, power, room, where)


def job_site(scenario: Any, job: Job) -> Any:
    """The one site a job runs at (a job allowed at several is placed by the placement)."""
    hosts = [s for s in scenario.sites if s.datacenter is not None]
    candidates = [s for s in hosts if not job.sites or s.name in job.sites]
    if len(candidates) > 1:
        raise ValueError(
            f"job {job.name!r} may run at sites {[s.name for s in candidates]}: it has no one "
            "site (Result.placement says where it ran)"
        )
    if not candidates:
        raise ValueError(f"job {job.name!r}: none of its sites {job.sites} has a datacenter")
    return candidates[0]


def job_energy_mwh(scenario: Any, job: Job) -> float:
    """IT energy of a job at full power [MWh] (a capped job's work, in the energy it takes
    uncapped; a job in GPU-hours at several sites: when they draw the same kW per GPU)."""
    if job.energy_mwh is not None:
        return job.energy_mwh
    kw = {scenario.sites[s].datacenter.it_power_per_gpu_kw for s in hosts(scenario, job)}
    if len(kw) != 1:
        raise ValueError(f"job {job.name!r}: its energy depends on the site it runs at "
                         f"({sorted(kw)} kW per GPU); see Result.placement")
    return float(job.gpu_hours) * kw.pop() / 1000.0


def job_max_power_mw(scenario: Any, job: Job) -> float:
    """Largest IT power a job may draw [MW] (at several sites: their sum)."""
    return sum(max_power_at(job, scenario.sites[s].datacenter) for s in hosts(scenario, job))


def prepare_scenario(data: Any) -> dict[str, Any]:
    scenario = data.scenario
    site_pos = {s.name: i for i, s in enumerate(scenario.sites)}
    jobs = [j for j in scenario.jobs if not is_placed(scenario, j)]  # others: the placement's
    J = len(jobs)
    energy = np.array([job_energy_mwh(scenario, j) for j in jobs], dtype=np.float64)
    pmax = np.array([job_max_power_mw(scenario, j) for j in jobs], dtype=np.float64)
    gpu_kw = np.array([job_site(scenario, j).datacenter.it_power_per_gpu_kw for j in jobs],
                      dtype=np.float64)
    preemptible = np.array([j.preemptible for j in jobs], dtype=bool)
    duration = np.zeros(J, np.int64)
    last = np.zeros(J)
    for k in np.flatnonzero(~preemptible):
        duration[k], last[k] = run_shape(float(energy[k]), float(pmax[k]))
    block = np.array([(j.gpu_block or 0) for j in jobs], dtype=np.float64) * gpu_kw / 1000.0
    full = np.zeros(J)
    cap_a: list[np.ndarray | None] = [None] * J
    cap_b: list[np.ndarray | None] = [None] * J
    best = np.full(J, np.nan)
    for k, job in enumerate(jobs):
        if job.power_cap is not None:
            full[k] = job.gpus * gpu_kw[k] / 1000.0
            cap_a[k], cap_b[k], best[k] = hull_segments(job.power_cap)
    return {"jobs": JobData(
        names=[j.name for j in jobs],
        site=np.array([site_pos[job_site(scenario, j).name] for j in jobs], dtype=np.int64),
        release=np.array([j.release_h for j in jobs], dtype=np.int64),
        deadline=np.array([j.deadline_h for j in jobs], dtype=np.int64),
        energy_mwh=energy, max_power_mw=pmax, gpu_kw=gpu_kw, preemptible=preemptible,
        duration_h=duration, last_power_mw=last, block_mw=block, full_power_mw=full,
        cap_a=cap_a, cap_b=cap_b, cap_best=best,
        restart_mwh=np.array([j.restart_energy_mwh or 0.0 for j in jobs], dtype=np.float64),
    )}


def add(f: Formulation) -> None:
    jobs = f.data.jobs
    J = len(jobs.names)
    if J == 0:
        return
    T = f.T
    m = f.model
    w = dfr.windows(jobs.release, jobs.deadline)  # one entry per (job, hour of its window)
    job_of, t_of = w.owner, w.t_of
    site_of = jobs.site[job_of]
    # jobs pause in the grid's outage hours at data centers that say so (module docstring)
    paused = np.zeros((f.S, T), bool)
    for s, sd in enumerate(f.data.sites):
        up = getattr(sd, "grid_available", np.zeros(0, bool))
        if getattr(sd, "jobs_pause", False) and np.size(up):
            paused[s] = ~np.asarray(up, bool)
    ub = np.where(paused[site_of, t_of], 0.0, jobs.max_power_mw[job_of])
    flex = m.add_variables("job/power_mw", job_of.size, ub=ub)
    cols = flex.idx
    meta: dict[str, Any] = {"names": list(jobs.names), "job_of": job_of, "t_of": t_of,
                            "site": site_of}
    capped, contiguous = jobs.capped, jobs.contiguous
    plain = ~capped & ~contiguous
    if plain.any():
        dfr.add_energy(m, "job/energy", cols, job_of, plain,
                       lb=jobs.energy_mwh[plain], ub=jobs.energy_mwh[plain])
    if jobs.gang.any():
        sel = jobs.gang[job_of]
        jg = job_of[sel]
        nmax = np.floor(jobs.max_power_mw / np.where(jobs.gang, jobs.block_mw, 1.0) + 1e-9)
        n = m.add_variables("job/blocks", jg.size, ub=nmax[jg], integer=True)
        m.add_constraints("job/gang", jg.size, [(cols[sel], 1.0), (n.idx, -jobs.block_mw[jg])],
                          lb=0.0, ub=0.0)
    if contiguous.any():
        meta["start"] = dfr.add_runs(m, "job", cols, w, contiguous, jobs.release,
                                     jobs.duration_h, jobs.max_power_mw, jobs.last_power_mw)
    if capped.any():
        meta["work"] = dfr.add_capped(m, "job", cols, job_of, capped, jobs.full_power_mw,
                                      jobs.energy_mwh, jobs.cap_a, jobs.cap_b)
    # IT load entries: each job-hour, and each restart after an outage (module docstring)
    rs = restarts(jobs, w, paused)
    it_cols = np.concatenate([cols, cols[rs["entry"]]])
    it_site = np.concatenate([site_of, rs["site"]])
    it_t = np.concatenate([t_of, rs["t"]])
    it_coef = np.concatenate([np.ones(cols.size), rs["coef"]])
    reach = np.concatenate([jobs.max_power_mw[job_of], jobs.restart_mwh[job_of[rs["entry"]]]])
    # IT capacity, one row per (site, hour) where the jobs' power bounds could exceed it
    head = np.array([sd.it_capacity_mw - sd.inflexible_it_mw for sd in f.data.sites]).ravel()
    dfr.add_capacity(m, "datacenter/it_capacity", it_cols, it_site * T + it_t, reach, head,
                     coef=it_coef)
    pue = np.array([sd.pue for sd in f.data.sites])[it_site, it_t] * it_coef
    f.inject(it_cols, it_site, -pue, t_of=it_t)
    f.facility(it_cols, it_site, it_t, pue)
    meta["pue"] = pue[:cols.size]
    meta["restart"] = dict(rs, pue=pue[cols.size:])   # PUE x R / Pmax of each restart entry
    f.meta["job"] = meta


def restarts(jobs: JobData, w: dfr.Windows, paused: np.ndarray) -> dict[str, np.ndarray]:
    """The restart entries of preemptible jobs with ``restart_mwh`` (module docstring): for
    each outage block ``[a, b)`` of a job's site strictly inside its window, the entry of
    ``p[j, a - 1]`` (``entry``), the site and hour ``b`` it loads, and ``R_j / Pmax_j``."""
    entry, site, hour, coef = [], [], [], []
    for j in np.flatnonzero((jobs.restart_mwh > 0) & jobs.preemptible).tolist():
        s, r0, d = int(jobs.site[j]), int(jobs.release[j]), int(jobs.deadline[j])
        down = paused[s, r0:d]
        a = np.flatnonzero(down[1:] & ~down[:-1]) + 1      # block starts after a running hour
        ends = np.flatnonzero(~down[1:] & down[:-1]) + 1  # first hours back
        for a_k in a.tolist():
            later = ends[ends > a_k]
            if later.size:                                  # the block ends inside the window
                entry.append(int(w.first[j]) + a_k - 1)
                site.append(s)
                hour.append(r0 + int(later[0]))
                coef.append(jobs.restart_mwh[j] / jobs.max_power_mw[j])
    return {"entry": np.array(entry, np.int64), "site": np.array(site, np.int64),
            "t": np.array(hour, np.int64), "coef": np.array(coef, np.float64)}


def extract(r: Extraction) -> None:
    """The flexible IT load per site, the per-job table and the long job-power table.

    Per job: ``energy_mwh`` (need at full power), ``delivered_mwh`` (IT energy drawn),
    ``work_gpu_h`` (work done, GPU-hours at full speed), ``energy_saved_mwh`` (capping: the
    work's energy at full power minus the energy drawn), ``mean_power_cap_fraction`` (capped
    jobs: the cap per GPU of each hour it runs, ``max(p / P_full, most efficient cap)`` as
    below that cap it runs part of the hour, weighted by the hour's work), ``start_h``
    (non-preemptible jobs). KPIs ``job_completion`` (work done over work needed) and
    ``job_energy_saved_mwh``.
    """
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
        r.kpis["job_energy_saved_mwh"] = 0.0
        r.kpis["job_restart_energy_mwh"] = 0.0
        return
    T = f.T
    names = r.site_names
    flex = r.val("job/power_mw")
    job_of, t_of = meta["job_of"], meta["t_of"]
    J = len(meta["names"])
    np.add.at(r.flexible_it_mw, (meta["site"], t_of), flex)
    jd = data.jobs
    rs = meta["restart"]
    restart = flex[rs["entry"]] * rs["coef"]
    np.add.at(r.flexible_it_mw, (rs["site"], rs["t"]), restart)
    restart_j = np.bincount(job_of[rs["entry"]], weights=restart, minlength=J)
    delivered = np.bincount(job_of, weights=flex, minlength=J)
    done = delivered.copy()  # work done, in MWh at full power
    mean_cap = np.full(J, np.nan)
    work = r.val("job/work_mwh")
    if work is not None:
        sel = meta["work"]["sel"]
        jc = job_of[sel]
        wj = np.bincount(jc, weights=work, minlength=J)
        done[jd.capped] = wj[jd.capped]
    if work is not None and r.want_tables:  # the cap per GPU: the jobs table only
        p = flex[sel]
        cap = np.maximum(p / jd.full_power_mw[jc], jd.cap_best[jc])
        w_run = np.where(p > 1e-9, work, 0.0)
        num = np.bincount(jc, weights=w_run * cap, minlength=J)
        den = np.bincount(jc, weights=w_run, minlength=J)
        mean_cap = np.where(jd.capped & (den > 0), num / np.where(den > 0, den, 1.0), np.nan)
    start_h = np.full(J, np.nan)
    starts = r.val("job/start")
    if starts is not None and r.want_tables:
        s_job, s_t = meta["start"]["job"], meta["start"]["t"]
        order = np.lexsort((-starts, s_job))  # per job, the start with the largest value
        jobs_with, at = np.unique(s_job[order], return_index=True)
        start_h[jobs_with] = s_t[order][at]
    saved = np.where(jd.capped, done - delivered, 0.0)
    need = float(jd.energy_mwh.sum())
    r.kpis["job_completion"] = float(done.sum()) / need if need > 0 else 1.0
    r.kpis["job_energy_saved_mwh"] = float(saved.sum())
    r.kpis["job_restart_energy_mwh"] = float(restart_j.sum())
    if not r.want_tables:
        return
    prices = np.array([sd.grid_import_price if sd.grid_import_price.size else np.zeros(T)
                       for sd in data.sites])
    paid = np.bincount(job_of, weights=flex * prices[meta["site"], t_of], minlength=J)
    jobs_df = pd.DataFrame({
        "job": jd.names,
        "site": [names[s] for s in jd.site],
        "release_h": jd.release,
        "deadline_h": jd.deadline,
        "preemptible": jd.preemptible,
        "start_h": start_h,
        "energy_mwh": jd.energy_mwh,
        "delivered_mwh": delivered,
        "work_gpu_h": done * 1000.0 / jd.gpu_kw,
        "energy_saved_mwh": saved,
        "restart_mwh": restart_j,
        "mean_power_cap_fraction": mean_cap,
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


COMPONENT = Component(
    name="jobs", field="jobs", level="scenario", schema=list[Job],
    default=Field(default_factory=list), check=check, prepare_scenario=prepare_scenario,
    add=add, extract=extract,
)
