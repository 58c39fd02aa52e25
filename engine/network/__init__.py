"""The network concern: MATPOWER cases, AC power flow, the AC check of a dispatch,
LinDistFlow limits in the LP, and the rounds that tighten them.

Modules (data flows down this list; none imports the scenario, results or api modules):

- :mod:`~engine.network.matpower`: :func:`read_matpower`, :class:`Network`, :class:`NetworkError`;
- :mod:`~engine.network.powerflow`: :func:`run_powerflow`, :func:`run_powerflow_timeseries`
  and their results;
- :mod:`~engine.network.attach`: a site's assets on buses (:func:`load_site_network`,
  :func:`~engine.network.attach.attach`, the bus demand of a dispatch);
- :mod:`~engine.network.check`: :func:`check_network`, :class:`NetworkCheck`;
- :mod:`~engine.network.lindistflow`: the LP component (``add``, ``add_losses``) and its
  sensitivities;
- :mod:`~engine.network.rounds`: ``network_rounds`` and ``background_hint``.

Cases with several slack buses (``BUS_TYPE`` 3) are solved by Newton-Raphson, each slack at
its own voltage set point; results report each slack's P and Q, and a site's grid import is
their sum. The radial sweep and LinDistFlow need a single slack.

``check_network`` and ``NetworkCheck`` (which need pandas) are imported on first use, so
that validating a scenario with a network does not import pandas.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.network.attach import load_site_network
from engine.network.matpower import Network, NetworkError, read_matpower
from engine.network.powerflow import (
    PowerFlowResult,
    TimeSeriesPowerFlowResult,
    run_powerflow,
    run_powerflow_timeseries,
)

if TYPE_CHECKING:  # pragma: no cover
    from engine.network.check import NetworkCheck, check_network

__all__ = [
    "Network",
    "NetworkCheck",
    "NetworkError",
    "PowerFlowResult",
    "TimeSeriesPowerFlowResult",
    "check_network",
    "load_site_network",
    "read_matpower",
    "run_powerflow",
    "run_powerflow_timeseries",
]

_LAZY = {"check_network": "engine.network.check", "NetworkCheck": "engine.network.check"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
