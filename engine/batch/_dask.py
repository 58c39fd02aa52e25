"""The batch runner on a Dask cluster (``distributed``): see :mod:`engine.batch.runner`."""
from __future__ import annotations

from typing import Any

from engine.batch._tasks import Plan, Tasks, failed_row, item_tuple
from engine.batch.sweep import SweepItem
from engine.batch.worker import BatchContext, BatchOptions, TaskResult, solve_task, warm


class DaskRunner:
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
