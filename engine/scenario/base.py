"""The building blocks of every input model: the validated base class, numeric field types
and the conversion of pydantic's errors into :class:`~engine.errors.ScenarioError`.

Component input models (``engine/components/*.py``) and the scenario container both build
on these; this module imports nothing else of the engine but its errors.
"""
from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from engine.errors import ScenarioError, format_path

__all__ = ["MAX_MAGNITUDE", "Amount", "Cost", "Efficiency", "Finite", "Fraction", "Model",
           "NonNeg", "Positive", "PositiveAmount", "PowerFactor", "check_magnitude",
           "to_scenario_error"]

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


NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
#: A non-negative price, cost or penalty (currency per MWh, per t, per MW-month), at most
#: :data:`MAX_MAGNITUDE`.
Cost = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(check_magnitude)]
#: A non-negative power or energy (MW, MWh), at most :data:`MAX_MAGNITUDE`.
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(check_magnitude)]
#: A positive power or energy (MW, MWh), at most :data:`MAX_MAGNITUDE`.
PositiveAmount = Annotated[float, Field(gt=0, allow_inf_nan=False),
                           AfterValidator(check_magnitude)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


PowerFactor = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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




def to_scenario_error(exc: ValidationError) -> ScenarioError:
    lines = []
    for err in exc.errors(include_url=False):
        loc = format_path(tuple(err["loc"]))
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
            if isinstance((err.get("ctx") or {}).get("error"), ScenarioError) and loc:
                # a nested model's own error already starts with its field path
                lines.extend(f"{loc}{'' if m.startswith('[') else '.'}{m}" for m in msg.split("; "))
            else:
                lines.append(f"{loc}: {msg}" if loc else msg)
            continue
        ctx = err.get("ctx") or {}
        kind = err["type"]
        words = {
            "greater_than_equal": ("must be >=", "ge"),
            "greater_than": ("must be >", "gt"),
            "less_than_equal": ("must be <=", "le"),
            "less_than": ("must be <", "lt"),
        }
        if kind in words:
            word, key = words[kind]
            msg = f"{word} {ctx.get(key)}"
        elif kind == "extra_forbidden":
            msg = "unknown field (misspelled?)"
        elif kind == "missing":
            lines.append(f"{loc}: required field is missing")
            continue
        else:
            msg = msg[0].lower() + msg[1:]
        lines.append(f"{loc}: {msg}, got {_short(err.get('input'))}")
    return ScenarioError("; ".join(lines))


def deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b
