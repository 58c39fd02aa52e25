"""The batch runner on a Dask cluster (``distributed``): see :mod:`engine.batch.runner`;
and :func:`local_cluster`, a Dask ``LocalCluster`` set up for batches of short scenarios."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine.batch._tasks import Plan, Tasks, failed_row, item_tuple
from engine.batch.sweep import SweepItem
from engine.batch.worker import BatchContext, BatchOptions, TaskResult, solve_task, warm

#: Dask settings of a cluster the engine starts itself (:func:`local_cluster`). A batch's
#: scenarios are short (~10 ms), its tasks few and uniform and its data small, so Dask's
#: per-second background work is what it pays for: measured on 2 cores
#: (``benchmarks/BATCH_RESULTS.md``), an idle LocalCluster of 2 workers took 0.07 CPU-second
#: per second with Dask's defaults and 0.011 with these; under a batch the workers' event
#: loops and the client/scheduler/nanny loop took 0.75-1 ms of CPU per scenario beside the
#: solve's ~8 (0.4-0.5 ms with these). Each entry drops work a batch does not use:
#:
#: * ``worker.profile.enabled``: the statistical profiler samples every worker thread's
#:   stack at 100 Hz, in the worker's event loop;
#: * ``admin.tick.interval``: each server's event-loop health check, 50 times a second by
#:   default (only warns when a loop was blocked for seconds);
#: * ``admin.system-monitor.interval`` and ``worker.memory.monitor-interval``: psutil
#:   readings (2 and 10 a second per process by default; the nanny still kills a worker
#:   past its memory limit, within a second);
#: * ``scheduler.work-stealing``: the runner keeps two equal tasks per worker, nothing to
#:   balance; ``scheduler.active-memory-manager.start``: batches hold no replicated data (the
#:   context travels as a worker plugin).
#:
#: And ``worker.preload``: each worker process imports the solve path when it starts
#: (:mod:`engine.batch._preload`, as the local pool's forkserver does), not in its first
#: batch's warm-up.
#:
#: Applied only inside :func:`local_cluster` (``dask.config.set`` as a context: a service's
#: global Dask configuration is never changed); a cluster started elsewhere can be given
#: the same settings (e.g. ``dask.config.set(DASK_CONFIG)`` around its start, or in the
#: workers' YAML).
DASK_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
    "distributed.worker.preload": ["engine.batch._preload"],
}


@contextmanager
def local_cluster(n_workers: int | None = None, threads_per_worker: int = 1,
                  config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
    """A Dask ``LocalCluster`` of worker processes with :data:`DASK_CONFIG`, and its client.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: the CPU count).
    threads_per_worker : int
        Threads per worker (1: a scenario's simplex solve uses one thread).
    config : dict, optional
        Dask settings applied over :data:`DASK_CONFIG` (e.g.
        ``{"distributed.worker.preload": []}``: no preload).
    **kwargs
        Passed to ``distributed.LocalCluster``. ``dashboard_address`` defaults to ``":0"``, a
        free port: the scheduler always starts its HTTP server (the dashboard only when
        bokeh is installed), on Dask's 8787 by default, which another cluster on the
        machine may hold.

    Yields
    ------
    distributed.Client
        A client of the cluster (``engine.batch.run(sweep, executor=client)``); the cluster
        and the client close on leaving the ``with`` block.

    Notes
    -----
    The settings are applied with ``dask.config.set`` as a context while the cluster and
    its client start: the scheduler, the nannies and the worker processes (a nanny passes
    its configuration to the worker it starts, also to a replacement of a dead worker)
    keep them; this process's Dask configuration is unchanged after the call.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("a Dask cluster needs distributed: pip install 'wattbit[dask]'") \
            from exc
    import multiprocessing

    kwargs.setdefault("dashboard_address", ":0")
    with dask.config.set({**DASK_CONFIG, **(config or {})}):
        cluster = LocalCluster(n_workers=n_workers or multiprocessing.cpu_count(),
                               threads_per_worker=threads_per_worker, processes=True, **kwargs)
        try:
            client = Client(cluster)
        except BaseException:
            cluster.close()
            raise
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class DaskRunner:
    #: task sizes (:class:`engine.batch._tasks.Tasks`): measured on a LocalCluster of 2
    #: workers, a task cost ~5 ms of the driver's CPU (client, scheduler) whatever its size;
    #: halving the number of tasks (larger ones first, none below 0.1 s of work) halved the
    #: driver's CPU per scenario (``benchmarks/BATCH_RESULTS.md``)
    task_share, min_task_s = 2, 0.1

    def __init__(self, executor: Any, base: Any, options: BatchOptions,
                 ctx: BatchContext) -> None:
        self.executor, self.base, self.options, self.ctx = executor, base, options, ctx
        self._plugin = None
        self.client = None
        self.own = False
        self.crashes = 0
        self._warm: list = []

    def start(self) -> None:
        if self.client is not None:
            return
        try:
            from distributed import Client
        except ImportError as exc:
            raise ImportError("a Dask executor needs distributed: pip install "
                              "'wattbit[dask]'") from exc
        if isinstance(self.executor, Client):
            self.client = self.executor
        elif isinstance(self.executor, str):
            self.client = Client(self.executor)
            self.own = True
        else:
            raise TypeError(f"executor must be a distributed.Client or a scheduler address, "
                            f"got {type(self.executor).__name__}")
        from engine.batch._dask_plugin import ContextPlugin

        # the context (the parametric map) goes to every worker once, as a plugin: also to
        # a worker started later (e.g. after one died); tasks name it by its token
        self._plugin = ContextPlugin(self.ctx)
        self.client.register_plugin(self._plugin)
        # one warm-up task pinned to each worker (it primes that worker's thread too)
        for addr in self.client.scheduler_info()["workers"]:
            self._warm.append(self.client.submit(warm, self.base, self.options,
                                                 self.ctx.token, pure=False,
                                                 workers=[addr], allow_other_workers=False))

    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info()["workers"]))

    def warm_columns(self) -> list[str] | None:
        """The store columns of the first warm-up with a solution (None if none had one)."""
        from distributed import as_completed

        for fut in as_completed(self._warm):
            if fut.status == "finished" and fut.result()[1] is not None:
                return fut.result()[1]
        return None

    def close(self) -> None:
        if self.client is not None:
            for f in self._warm:
                f.cancel()
            if self._plugin is not None:
                try:
                    self.client.unregister_worker_plugin(self._plugin.name)
                except Exception:  # noqa: BLE001  (a closed cluster: nothing to undo)
                    pass
                self._plugin = None
            if self.own:
                self.client.close()
        self.client = None

    def run(self, tasks: Tasks, emit, plan: Plan) -> None:
        from distributed import as_completed

        client = self.client
        depth = 2 * self.n_workers()  # tasks queued per worker: the next is always there
        inflight: dict[Any, tuple[list[SweepItem], str]] = {}
        ac = as_completed()

        def submit() -> None:
            task, name = tasks.next(), plan.name()
            # the key names the task: a retried task keeps it, and writes the same part
            fut = client.submit(solve_task, [item_tuple(it, self.ctx) for it in task],
                                self.options, 1, self.ctx.token, plan.sink(name),
                                key=f"wattbit-batch-{name}", pure=False)
            inflight[fut] = (task, name)
            ac.add(fut)

        try:
            while tasks and len(inflight) < depth:
                submit()
            for fut in ac:
                task, name = inflight.pop(fut)
                # not fut.status: a finished task's result held by a worker that has died
                # since is "lost" and computed again; result() waits for it
                try:
                    res = fut.result()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # noqa: BLE001  (KilledWorker, cancelled, ...)
                    self.crashes += type(exc).__name__ == "KilledWorker"
                    res = plan.recover(name) or TaskResult(rows=[failed_row(
                        it, "crashed", f"{type(exc).__name__}: {exc}", 0) for it in task])
                fut.release()
                emit(res)
                while tasks and len(inflight) < depth:
                    submit()
        finally:
            for fut in inflight:
                fut.cancel()
