"""Import modules in a background thread while HiGHS runs.

A short-lived process (``wattbit run``) needs pandas only after the solve: to build the
result tables and, in the CLI, pyarrow to write Parquet. Their imports take 0.4-0.8 s of
CPU, which a second core can spend while HiGHS solves: ``Highs.run()`` is a C++ call that
releases the GIL, so the import thread runs in parallel with it. On one core the thread
would only take time from the solver, so it is not started there.

Why this is safe
----------------
Python's import system takes a lock per module, so two threads may import different
modules at the same time; what can go wrong is (a) a deadlock when each thread holds the
lock of a module the other is importing, and (b) a thread seeing a module the other has
not finished initialising. Neither can happen here because, while the thread imports,
the main thread holds no import lock and imports nothing that these modules import:

* :func:`start` is called between ``build`` and the solve; from there until HiGHS returns,
  the main thread imports only ``engine.backends.highs`` and highspy (at its first
  solve), which share no module with pandas or pyarrow (``tests/test_lazy_pandas.py``
  checks that, and the same for what the main thread imports while pyarrow.parquet is
  still importing), and then sits in ``run()``, a C call without the GIL.
* after the solve, the main thread's ``import pandas`` finds the module being initialised
  by the thread and waits for that module's lock: it gets the finished module, never a
  partial one.

A failed import in the thread is logged at debug level and otherwise dropped on purpose:
a module that fails to import is removed from ``sys.modules``, so the main thread's own
``import pandas`` later runs the import again and raises the real error where it
matters. Nothing is hidden by the prefetch.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

#: Modules the solve path prefetches by default (every caller of ``optimize`` builds
#: result frames). The CLI adds what it writes with (``pyarrow.parquet``).
DEFAULT_MODULES: tuple[str, ...] = ("pandas",)
_extra: list[str] = []


def also_prefetch(*modules: str) -> None:
    """Add modules (in order, after :data:`DEFAULT_MODULES`) to what :func:`start` imports.

    For the process's owner, e.g. the CLI, which knows what it will import after the solve.
    """
    _extra.extend(m for m in modules if m not in _extra)


def start(modules: Iterable[str] | None = None) -> threading.Thread | None:
    """Import ``modules`` (default: :data:`DEFAULT_MODULES` and :func:`also_prefetch`'s) in
    a daemon thread, if any is not imported yet and the machine has two cores or more.

    Call it only where the main thread will import none of these modules' dependencies
    until it needs the modules themselves (see the module docstring).

    Returns
    -------
    threading.Thread or None
        The thread started, or None when there was nothing to do.
    """
    names = list(DEFAULT_MODULES) + _extra if modules is None else list(modules)
    missing = [m for m in names if m not in sys.modules]
    if not missing or _usable_cpus() < 2:
        return None
    thread = threading.Thread(target=_import_all, args=(missing,), name="wattbit-prefetch",
                              daemon=True)
    thread.start()
    return thread


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's affinity, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform (macOS, Windows)
        return os.cpu_count() or 1


def _import_all(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            # not lost: a failed import leaves no module behind, so the main thread's own
            # import of it raises the same error when (and if) it needs the module
            log.debug("background import of %s failed: %r", name, exc)
            return  # later names may depend on this one; let the main thread import them
