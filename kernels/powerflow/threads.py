"""Run a GIL-free kernel over contiguous chunks of snapshots on threads."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_chunks(run: Callable[[int, int], None], n_t: int, n_chunks: int) -> None:
    """Call ``run(start, stop)`` for ``n_chunks`` contiguous ranges covering ``range(n_t)``.

    With more than one chunk the calls run on threads, which only helps when
    ``run`` releases the GIL (the Cython sweep and the Numba ``nogil`` kernels do).
    Each chunk's first snapshot starts cold; the rest warm-start hour to hour.
    """
    n_chunks = max(1, min(int(n_chunks), n_t))
    if n_chunks == 1:
        run(0, n_t)
        return
    edges = [(n_t * c) // n_chunks for c in range(n_chunks + 1)]
    with ThreadPoolExecutor(n_chunks) as ex:
        # list() so that an exception raised in a chunk reaches the caller
        list(ex.map(run, edges[:-1], edges[1:]))
