"""The building blocks of every input model: the validated base class, numeric field types
and the conversion of pydantic's errors into :class:`~engine.errors.ScenarioError`.

Component input models (``engine/components/*.py``) and the scenario container both build
on these; this module imports nothing else of the engine but its errors.

Numbers are taken as they are written, never converted from another type: a float field
takes an int or a float (or a NumPy number), never a boolean or a string; an int field
takes an int only (``336.0``, ``True`` and ``"336"`` are errors); a boolean field takes
``true``/``false`` only. Every float field is finite.
"""
from __future__ import annotations

import math
import numbers
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
)

from engine.errors import ScenarioError, format_path

__all__ = ["MAX_MAGNITUDE", "Amount", "Bool", "Cost", "Efficiency", "Finite", "Fraction",
           "Integer", "Model", "NonNeg", "Number", "Positive", "PositiveAmount", "PowerFactor",
           "check_magnitude", "to_scenario_error"]

#: Largest magnitude of a price, cost or penalty (currency per MWh, per t, per MW-month) and
#: of a power or energy (MW, MWh) that a scenario may hold. HiGHS takes |values| >= 1e20 as
#: infinite, and cost coefficients beyond ~1e10 next to the ~1 of the balance rows break its
#: simplex tolerances (the solve ends in "error"); 1e7 leaves room for products of a price
#: and a PUE or an emission factor and is far above any real tariff or asset.
MAX_MAGNITUDE = 1e7


def check_magnitude(value: float) -> float:
    """``value`` if ``|value| <= MAX_MAGNITUDE``, else a ``ValueError`` naming the limit."""
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(
            f"must be <= {MAX_MAGNITUDE:g} in magnitude (larger values are out of the "
            f"solver's numerical range), got {value:g}"
        )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # also numpy.bool_


def _number(value: Any) -> Any:
    """A real number as a float; booleans, strings and everything else are refused."""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise ValueError(f"must be a number, got {_short(value)}")
    return float(value)


def _integer(value: Any) -> Any:
    """An integer (Python or NumPy) as an int; booleans and floats (even 336.0) are refused."""
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise ValueError(f"must be an integer, got {_short(value)}")
    return int(value)


#: A finite real number (int or float, not a boolean or a string).
Number = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]
#: An integer (not a boolean, a float or a string).
Integer = Annotated[int, BeforeValidator(_integer)]
#: ``true`` or ``false`` (not 0/1 or "yes").
Bool = Annotated[bool, Strict()]

NonNeg = Annotated[Number, Field(ge=0.0)]
Positive = Annotated[Number, Field(gt=0.0)]
#: A non-negative price, cost or penalty (currency per MWh, per t, per MW-month), at most
#: :data:`MAX_MAGNITUDE`.
Cost = Annotated[Number, Field(ge=0.0), AfterValidator(check_magnitude)]
#: A non-negative power or energy (MW, MWh), at most :data:`MAX_MAGNITUDE`.
Amount = Annotated[Number, Field(ge=0.0), AfterValidator(check_magnitude)]
#: A positive power or energy (MW, MWh), at most :data:`MAX_MAGNITUDE`.
PositiveAmount = Annotated[Number, Field(gt=0.0), AfterValidator(check_magnitude)]
Fraction = Annotated[Number, Field(ge=0.0, le=1.0)]
Efficiency = Annotated[Number, Field(gt=0.0, le=1.0)]
Finite = Number
PowerFactor = Annotated[Number, Field(gt=0.0, le=1.0)]


class Model(BaseModel):
    # validate_assignment: a batch that edits a validated scenario in place gets the same
    # checks (field and model level) as a new one
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_default=True,
                              validate_assignment=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise to_scenario_error(exc) from None

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            # a model-level check fails after pydantic has stored the value: put it back, so
            # a rejected edit leaves the object as valid as it was
            if name in self.__dict__:
                self.__dict__[name] = old
            raise to_scenario_error(exc) from None


#: A field path at the start of a validator's message: ``deadline_h: ...``,
#: ``sites[0].grid.outage_hours: ...``, ``start/timezone: ...``.
_LEADING_PATH = re.compile(r"^([A-Za-z_][\w/]*(?:\[\d+\]|\.[A-Za-z_][\w/]*)*): (.*)$", re.DOTALL)

#: Plain words for pydantic's error types (the value is added as ``, got <value>``).
_TYPE_WORDS = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be finite",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "dataclass_type": "must be a mapping of fields",
}


def _join(loc: str, path: str) -> str:
    if not loc:
        return path
    if not path:
        return loc
    return loc + path if path.startswith("[") else f"{loc}.{path}"


def _split(message: str) -> tuple[str, str]:
    """``("path", "message")`` of a validator's message that starts with a field path."""
    m = _LEADING_PATH.match(message)
    return (m.group(1), m.group(2)) if m else ("", message)


def _items(exc: BaseException) -> list[tuple[str, str]]:
    """The ``(path, message)`` lines of a (nested) error raised inside a validator."""
    items = getattr(exc, "items", None)
    if isinstance(exc, ScenarioError) and isinstance(items, list):
        return items
    return [_split(str(exc))]


def _line(err: Any) -> list[tuple[str, str]]:
    loc = format_path(tuple(err["loc"]))
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), BaseException):
        # a validator's own message: it may start with a path below ``loc`` (or a nested
        # model's ScenarioError carries its lines), which is joined to ``loc``
        return [(_join(loc, p), m) for p, m in _items(ctx["error"])]
    if kind == "missing":
        return [(loc, "required field is missing")]
    bounds = {
        "greater_than_equal": ("must be >=", "ge"),
        "greater_than": ("must be >", "gt"),
        "less_than_equal": ("must be <=", "le"),
        "less_than": ("must be <", "lt"),
    }
    if kind in bounds:
        word, key = bounds[kind]
        msg = f"{word} {ctx.get(key)}"
    elif kind == "extra_forbidden":
        msg = "unknown field (misspelled?)"
    elif kind in _TYPE_WORDS:
        msg = _TYPE_WORDS[kind]
    elif kind == "literal_error":
        msg = f"must be {ctx.get('expected')}"
    elif kind == "too_short":
        msg = f"must have at least {ctx.get('min_length')} item(s)"
    elif kind == "too_long":
        msg = f"must have at most {ctx.get('max_length')} item(s)"
    else:
        msg = err["msg"]
        msg = msg[0].lower() + msg[1:] if msg else kind
    return [(loc, f"{msg}, got {_short(err.get('input'))}")]


def to_scenario_error(exc: ValidationError) -> ScenarioError:
    """One :class:`ScenarioError` for all of a validation's errors.

    Every line reads ``<path>: <message>, got <value>`` (a missing field: ``<path>:
    required field is missing``), lines joined by ``"; "``. The error keeps its lines as
    ``items`` (``(path, message)`` pairs), so that a model nested in another one (whose
    ``__init__`` raises a ScenarioError) gets its paths prefixed, never re-parsed.
    """
    items: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        for item in _line(err):
            if item not in items:
                items.append(item)
    error = ScenarioError("; ".join(f"{p}: {m}" if p else m for p, m in items))
    error.items = items  # type: ignore[attr-defined]
    return error


def deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b
