"""An on-disk cache of PV availability, keyed by everything that determines it.

Batch runs solve many scenarios of the same sites, and every process would otherwise import
pvlib (~0.9 s) and recompute the same profile. The key is a SHA-256 of the weather arrays,
the plant's and site's parameters, the time index and pvlib's installed version, so a
changed input or library never reads a stale entry.

Why not ``joblib.Memory``: it keys a call by pickling its arguments, and the arguments
here are pydantic models (whose pickles change with pydantic's internals and carry fields
that do not matter, such as the plant's name) and a tz-aware index (whose pickle depends on
the tz library); the key that is right is the short content key below (only the numbers
that determine the profile, and pvlib's version, which Memory does not track). Memory's
store is also a directory per call with metadata files, written without the atomic
rename that parallel batch workers need (two workers computing the same profile here
each write a temporary file and ``os.replace`` it). What is left is ~40 lines. Entries are ``.npy`` files under
``$WATTBIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/wattbit`` or ``~/.cache/wattbit``);
``WATTBIT_CACHE=0`` turns the cache off. A missing, unreadable or mis-shaped entry is simply
recomputed; a cache that cannot be written is skipped (logged), never an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """The cache directory, or None when caching is off."""
    if os.environ.get("WATTBIT_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    root = os.environ.get("WATTBIT_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wattbit"


def _pvlib_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pvlib")
    except PackageNotFoundError:  # pragma: no cover - pvlib is a dependency
        return "absent"


def pv_key(pv, weather, site, index: pd.DatetimeIndex) -> str:
    """Content key of one plant's availability.

    Parameters
    ----------
    pv, weather, site
        The plant, its site's weather and the site (scenario objects).
    index : pandas.DatetimeIndex
        The hours (tz-aware). They enter as the first hour with its UTC offset, the zone's
        name and the count, which fix every instant and local label.
    """
    hours = [str(index[0]), str(index.tz), len(index)]
    h = hashlib.sha256()
    meta = {
        "kind": "pv-v1",
        "pvlib": _pvlib_version(),
        "pv": pv.model_dump(mode="json", exclude={"name", "availability_fraction"}),
        "site": [site.latitude_deg, site.longitude_deg, site.altitude_m],
        "index": hours,
    }
    h.update(json.dumps(meta, sort_keys=True).encode())
    for name in ("ghi", "dni", "dhi", "temp_air", "wind_speed"):
        h.update(name.encode())
        h.update(np.ascontiguousarray(np.asarray(getattr(weather, name), np.float64)).tobytes())
    return h.hexdigest()


def cached_pv(key: str, n: int, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The cached profile of ``key`` if present and valid, else ``compute()`` (then stored)."""
    root = cache_dir()
    if root is None:
        return compute()
    path = root / "pv" / f"{key}.npy"
    try:
        values = np.load(path, allow_pickle=False)
        if values.shape == (n,) and values.dtype == np.float64 and np.isfinite(values).all():
            return values
    except (OSError, ValueError):
        pass
    values = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, values, allow_pickle=False)
        os.replace(tmp, path)  # atomic: parallel batch workers never read half a file
    except OSError as exc:
        log.info("PV availability cache not written (%s)", exc)
    return values
