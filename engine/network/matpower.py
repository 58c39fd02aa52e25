"""MATPOWER case files and the :class:`Network` they describe.

``read_matpower`` parses a MATPOWER ``.m`` case file without MATLAB into a
:class:`Network` (arrays in MW/MVAr and per unit); the power flow of a network is in
:mod:`engine.network.powerflow`.

MATPOWER's distribution cases (``case33bw``, ``case69``, ...) give R and X in
ohms and loads in kW, and convert them with MATLAB statements at the end of the
file. The reader recognises exactly those statements (the ``idx_bus``/``idx_brch``
index definitions, ``Vbase = mpc.bus(1, BASE_KV) * 1e3``, ``Sbase = mpc.baseMVA * 1e6``,
the division of ``mpc.branch(:, [BR_R BR_X])`` by ``Vbase^2 / Sbase`` and of
``mpc.bus(:, [PD, QD])`` by ``1e3``), applies them in file order, and lists what it
applied in :attr:`Network.conversions`. Any other executable statement raises
:class:`NetworkError` naming its line: a case is never half-converted silently.

A case may have several slack (reference, ``BUS_TYPE`` 3) buses: each holds its own
voltage magnitude (its generator's ``VG``) and angle (the bus's ``VA``), as MATPOWER's
``newtonpf`` does with every REF bus. Newton-Raphson solves such cases; the radial sweep
and LinDistFlow need a single slack at the root of the feeder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from engine.errors import ScenarioError
from kernels.powerflow import PowerFlowInputError, SweepSolver, make_case
from kernels.powerflow._idx import BUS_I, PD, QD, RATE_A, VMAX, VMIN
from kernels.powerflow.case import PowerFlowCase

if TYPE_CHECKING:
    from kernels.powerflow.newton import NewtonSolver
    from kernels.powerflow.radial import Feeder

__all__ = ["Method", "Network", "NetworkError", "read_matpower"]

Method = Literal["auto", "nr", "sweep"]


class NetworkError(ScenarioError):
    """A network or its power-flow input is invalid; the message names the field and value.

    A :class:`~engine.errors.ScenarioError` (and so a ``ValueError``): bad input is one kind
    of error for a caller, whichever part of the engine found it.
    """


@dataclass(frozen=True)
class Network:
    """A power network in MATPOWER form (per-unit base, MW/MVAr, degrees).

    Attributes
    ----------
    name : str
        Case name (the file's stem).
    base_mva : float
        System base [MVA].
    bus, gen, branch : ndarray of float
        MATPOWER arrays, already converted to MW/MVAr and per unit.
    conversions : tuple of str
        Unit conversions the reader applied (empty for a plain case).

    Notes
    -----
    The arrays are copied and made read-only on construction: solvers built for a
    network are cached on it, so its data must not change underneath them. To vary
    demand use :func:`run_powerflow_timeseries`; to change the grid build a new
    ``Network``.
    """

    name: str
    base_mva: float
    bus: np.ndarray
    gen: np.ndarray
    branch: np.ndarray
    conversions: tuple[str, ...] = ()
    _solvers: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("bus", "gen", "branch"):
            a = np.array(getattr(self, name), dtype=np.float64)  # a private copy
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_bus(self) -> int:
        """Number of buses."""
        return int(self.bus.shape[0])

    @property
    def bus_numbers(self) -> np.ndarray:
        """External bus numbers (``BUS_I``) in the case's bus order."""
        return self.bus[:, BUS_I].astype(np.int64)

    @property
    def slacks(self) -> np.ndarray:
        """Positions (0-based, in the case's bus order) of the slack buses (``BUS_TYPE`` 3)."""
        return self._case().ref.astype(np.int64)

    @property
    def slack_bus_numbers(self) -> np.ndarray:
        """External bus numbers of the slack buses."""
        return self.bus_numbers[self.slacks]

    @property
    def slack(self) -> int:
        """Position (0-based, in the case's bus order) of the single slack bus.

        Raises
        ------
        NetworkError
            If the case has several slack buses (use :attr:`slacks`).
        """
        self._single_slack("slack")
        return int(self.slacks[0])

    def _single_slack(self, what: str) -> None:
        ref = self.slacks
        if ref.size != 1:
            raise NetworkError(f"network {self.name!r}: {what} needs a single slack bus; the case "
                               f"has {ref.size} slack buses (BUS_TYPE 3): "
                               f"{self.bus_numbers[ref].tolist()}")

    def bus_position(self, number: int) -> int:
        """0-based position of external bus ``number``.

        Raises
        ------
        NetworkError
            If the case has no such bus.
        """
        hit = np.flatnonzero(self.bus_numbers == int(number))
        if hit.size == 0:
            raise NetworkError(f"bus: {number} is not a bus of case {self.name!r}")
        return int(hit[0])

    def voltage_limits(self, vmin_pu: float | None = None,
                       vmax_pu: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper voltage limits per bus [pu]; the case's ``VMIN``/``VMAX`` unless
        given. The slacks' limits are open (their voltages are set points, not results)."""
        lo = self.bus[:, VMIN].copy() if vmin_pu is None else np.full(self.n_bus, float(vmin_pu))
        hi = self.bus[:, VMAX].copy() if vmax_pu is None else np.full(self.n_bus, float(vmax_pu))
        lo[self.slacks], hi[self.slacks] = 0.0, np.inf
        return lo, hi

    def branch_ratings_mva(self) -> np.ndarray:
        """``RATE_A`` of each in-service branch [MVA] (order of ``_case().f``); ``inf`` where
        the case gives 0 (MATPOWER's "unlimited")."""
        rate = self.branch[self._case().branch_index, RATE_A].astype(np.float64)
        rate[rate <= 0] = np.inf
        return rate

    def feeder(self) -> Feeder:
        """The radial tree of the network (for LinDistFlow).

        Raises
        ------
        NetworkError
            If the network is not a radial feeder the sweep can model, or has several
            slack buses (the tree has one root).
        """
        self._single_slack("LinDistFlow (constraints: lindistflow)")
        _, solver = self._solver("sweep")
        assert isinstance(solver, SweepSolver)
        return solver.feeder

    def _case(self) -> PowerFlowCase:
        if "case" not in self._solvers:
            try:
                self._solvers["case"] = make_case(self.base_mva, self.bus, self.gen, self.branch)
            except PowerFlowInputError as exc:
                raise NetworkError(f"network {self.name!r}: {exc}") from exc
        return self._solvers["case"]

    def _solver(self, method: Method) -> tuple[str, NewtonSolver | SweepSolver]:
        """The solver for ``method``, built once per network (symbolic work reused)."""
        case = self._case()
        if method in ("auto", "sweep"):
            if "sweep" not in self._solvers:
                try:
                    self._solvers["sweep"] = SweepSolver(case, self.bus, self.branch)
                except PowerFlowInputError as exc:
                    self._solvers["sweep"] = exc
            s = self._solvers["sweep"]
            if not isinstance(s, Exception):
                return "sweep", s
            if method == "sweep":
                raise NetworkError(f"network {self.name!r}: {s}") from s
        if "nr" not in self._solvers:
            # Imported here so that sweep-only callers never import Numba.
            from kernels.powerflow.newton import NewtonSolver

            self._solvers["nr"] = NewtonSolver(case)
        return "nr", self._solvers["nr"]


# --------------------------------------------------------------------------- reader

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_KNOWN_IDX = re.compile(r"^\[[A-Z_,]+\]=idx_(bus|brch|gen|cost)$")
# Normalised (whitespace removed) statements the distribution cases use to convert units.
_VBASE = "Vbase=mpc.bus(1,BASE_KV)*1e3"
_SBASE = "Sbase=mpc.baseMVA*1e6"
_OHMS = "mpc.branch(:,[BR_RBR_X])=mpc.branch(:,[BR_RBR_X])/(Vbase^2/Sbase)"
_KW = "mpc.bus(:,[PD,QD])=mpc.bus(:,[PD,QD])/1e3"


def _strip_comment(line: str) -> str:
    """Drop a MATLAB ``%`` comment, leaving ``%`` inside quoted strings alone."""
    quoted = False
    for k, ch in enumerate(line):
        if ch == "'":
            quoted = not quoted
        elif ch == "%" and not quoted:
            return line[:k]
    return line


def _parse_matrix(body: str, name: str, path: Path, line_no: int) -> np.ndarray:
    rows = []
    for raw in re.split(r"[;\n]", body):
        tokens = [tok for tok in re.split(r"[\s,]+", raw.strip()) if tok]
        if not tokens:
            continue
        try:
            rows.append([float(tok) for tok in tokens])
        except ValueError:
            raise NetworkError(f"{path.name}: mpc.{name} (from line {line_no}): "
                               f"non-numeric entry in row {raw.strip()!r}") from None
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise NetworkError(f"{path.name}: mpc.{name} (from line {line_no}): rows have "
                           f"different lengths {sorted(widths)}")
    return np.array(rows, dtype=np.float64)


def read_matpower(path: str | Path) -> Network:
    """Read a MATPOWER case file (format version 2).

    Parameters
    ----------
    path : str or Path
        A ``.m`` file defining ``mpc.baseMVA``, ``mpc.bus``, ``mpc.gen`` and ``mpc.branch``.

    Returns
    -------
    Network
        Arrays in MW/MVAr and per unit, after the file's own unit conversions
        (see the module docstring and :attr:`Network.conversions`).

    Raises
    ------
    NetworkError
        If a required field is missing or malformed, or the file contains MATLAB
        code the reader does not know how to apply.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise NetworkError(f"path: cannot read MATPOWER case {str(path)!r}: {exc}") from exc
    lines = [_strip_comment(ln) for ln in text.splitlines()]
    fields: dict[str, Any] = {}
    scalars: dict[str, float] = {}
    conversions: list[str] = []
    k = 0
    while k < len(lines):
        line = lines[k].strip()
        line_no = k + 1
        k += 1
        if not line or line.startswith("function"):
            continue
        m = re.match(r"^mpc\.(\w+)\s*=\s*([\[{])(.*)$", line)
        if m:
            name, opener, rest = m.groups()
            closer = "]" if opener == "[" else "}"
            body = [rest]
            while closer not in body[-1]:
                if k >= len(lines):
                    raise NetworkError(f"{path.name}: mpc.{name} (from line {line_no}) "
                                       f"has no closing {closer!r}")
                body.append(lines[k])
                k += 1
            joined = "\n".join(body)
            if opener == "[":
                fields[name] = _parse_matrix(joined[: joined.index("]")], name, path, line_no)
            continue  # cell arrays (bus names) are not needed for power flow
        # Plain statement; MATLAB continues lines ending in "...".
        stmt = line
        while stmt.endswith("...") and k < len(lines):
            stmt = stmt[:-3] + lines[k].strip()
            k += 1
        norm = re.sub(r"\s+", "", stmt).rstrip(";")
        m = re.match(r"^mpc\.(\w+)=(.+)$", norm)
        if m and (m.group(2).startswith("'") or _NUMBER.match(m.group(2))):
            fields[m.group(1)] = m.group(2).strip("'")
            continue
        if _KNOWN_IDX.match(norm):
            continue
        try:
            bus = fields["bus"]
            branch = fields["branch"]
        except KeyError:
            bus = branch = None
        if norm == _VBASE and bus is not None:
            scalars["Vbase"] = bus[0, 9] * 1e3
            continue
        if norm == _SBASE and "baseMVA" in fields:
            scalars["Sbase"] = float(fields["baseMVA"]) * 1e6
            continue
        if norm == _OHMS and branch is not None and {"Vbase", "Sbase"} <= scalars.keys():
            zbase = scalars["Vbase"] ** 2 / scalars["Sbase"]
            branch[:, 2:4] /= zbase
            conversions.append(f"branch R, X: ohm -> pu (Zbase = {zbase:.6g} ohm)")
            continue
        if norm == _KW and bus is not None:
            bus[:, [PD, QD]] /= 1e3
            conversions.append("bus Pd, Qd: kW/kVAr -> MW/MVAr")
            continue
        raise NetworkError(f"{path.name}: line {line_no}: unsupported MATLAB statement "
                           f"{stmt.strip()!r}; only MATPOWER's own unit conversions are applied")

    for name in ("baseMVA", "bus", "gen", "branch"):
        if name not in fields:
            raise NetworkError(f"{path.name}: mpc.{name} is missing")
    try:
        base_mva = float(fields["baseMVA"])
    except ValueError:
        raise NetworkError(f"{path.name}: mpc.baseMVA must be a number, "
                           f"got {fields['baseMVA']!r}") from None
    for name, cols in (("bus", 13), ("gen", 10), ("branch", 11)):
        a = fields[name]
        if a.ndim != 2 or a.shape[1] < cols:
            raise NetworkError(f"{path.name}: mpc.{name} needs >= {cols} columns, "
                               f"got shape {a.shape}")
    if str(fields.get("version", "2")) != "2":
        raise NetworkError(f"{path.name}: mpc.version must be '2', got {fields['version']!r}")
    return Network(name=path.stem, base_mva=base_mva, bus=fields["bus"], gen=fields["gen"],
                   branch=fields["branch"], conversions=tuple(conversions))


