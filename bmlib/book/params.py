"""Chapter parameters: declared specs and one clear error for a bad value.

Every chapter has one cell tagged ``parameters`` holding literals only (papermill injects
overrides after it). The next cell declares a :class:`ParamSpec` and validates the values::

    SPEC = ParamSpec(EPOCHS=Int(minimum=1, maximum=200), **standard_params())
    params = SPEC.validate(globals())

A bad value raises :class:`ParameterError` whose message names the parameter, the bad
value and what is allowed, e.g. ``EPOCHS=-1 is out of range: allowed 1 <= EPOCHS <= 200``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from bmlib.core.device import KNOWN_DEVICE_TYPES, PRECISIONS, is_valid_device_spec

PROFILES = ("full", "smoke")


class ParameterError(ValueError):
    """A chapter parameter has the wrong type, an out-of-range value or an unknown name."""


@dataclass(frozen=True)
class Int:
    """An integer parameter (bools are rejected) within optional inclusive bounds."""

    minimum: int | None = None
    maximum: int | None = None
    help: str = ""

    def check(self, name: str, value: Any) -> int:
        __tracebackhide__ = True  # IPython shows only the message
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(
                f"{name}={value!r} has type {type(value).__name__}: allowed an int"
                f"{_range_text(name, self.minimum, self.maximum)}"
            )
        _check_range(name, value, self.minimum, self.maximum)
        return value

    def describe(self) -> str:
        return "int" + _range_text("x", self.minimum, self.maximum)


@dataclass(frozen=True)
class Float:
    """A real parameter (ints accepted and converted) within optional inclusive bounds."""

    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def check(self, name: str, value: Any) -> float:
        __tracebackhide__ = True  # IPython shows only the message
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(
                f"{name}={value!r} has type {type(value).__name__}: allowed a number"
                f"{_range_text(name, self.minimum, self.maximum)}"
            )
        value = float(value)
        if value != value:  # NaN
            raise ParameterError(f"{name}=nan is not a number: allowed a finite number")
        _check_range(name, value, self.minimum, self.maximum)
        return value

    def describe(self) -> str:
        return "float" + _range_text("x", self.minimum, self.maximum)


@dataclass(frozen=True)
class Choice:
    """A parameter whose value must be one of a fixed set of literals."""

    options: tuple[Any, ...]
    help: str = ""

    def check(self, name: str, value: Any) -> Any:
        __tracebackhide__ = True  # IPython shows only the message
        if value not in self.options or type(value) not in {type(o) for o in self.options}:
            allowed = ", ".join(repr(o) for o in self.options)
            raise ParameterError(f"{name}={value!r} is not allowed: choose one of {allowed}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class Bool:
    """A true/false parameter."""

    help: str = ""

    def check(self, name: str, value: Any) -> bool:
        __tracebackhide__ = True  # IPython shows only the message
        if not isinstance(value, bool):
            raise ParameterError(
                f"{name}={value!r} has type {type(value).__name__}: allowed True or False"
            )
        return value

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class Device:
    """A device spec: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."""

    help: str = "where to run: 'auto' picks cuda, then mps, then cpu"

    def check(self, name: str, value: Any) -> str:
        __tracebackhide__ = True  # IPython shows only the message
        if not isinstance(value, str) or not is_valid_device_spec(value):
            raise ParameterError(
                f"{name}={value!r} is not a known device: choose one of "
                f"{', '.join(repr(d) for d in KNOWN_DEVICE_TYPES)} or 'cuda:N'"
            )
        return value

    def describe(self) -> str:
        return "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"


@dataclass(frozen=True)
class IntList:
    """A non-empty list (or tuple) of integers, each within optional bounds."""

    minimum: int | None = None
    maximum: int | None = None
    min_length: int = 1
    help: str = ""

    def check(self, name: str, value: Any) -> tuple[int, ...]:
        __tracebackhide__ = True  # IPython shows only the message
        if not isinstance(value, (list, tuple)):
            raise ParameterError(
                f"{name}={value!r} has type {type(value).__name__}: allowed a list of ints"
            )
        if len(value) < self.min_length:
            raise ParameterError(
                f"{name}={value!r} is too short: allowed a list of at least "
                f"{self.min_length} int(s)"
            )
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ParameterError(
                    f"{name}={value!r} holds {item!r}: allowed a list of ints"
                    f"{_range_text('each', self.minimum, self.maximum)}"
                )
            _check_range(name, item, self.minimum, self.maximum, label=f"{name} item {item!r}")
        return tuple(value)

    def describe(self) -> str:
        return "list of int" + _range_text("each", self.minimum, self.maximum)


@dataclass(frozen=True)
class Range:
    """An uncertain assumption: ``[low, most likely, high]``, three numbers in order."""

    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def check(self, name: str, value: Any) -> tuple[float, float, float]:
        __tracebackhide__ = True  # IPython shows only the message
        numbers = (isinstance(value, (list, tuple)) and len(value) == 3
                   and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in value))
        if not numbers:
            raise ParameterError(f"{name}={value!r}: allowed [low, most likely, high], "
                                 "three numbers")
        low, mode, high = (float(v) for v in value)
        if not low <= mode <= high or low == high:
            raise ParameterError(f"{name}={value!r}: need low <= most likely <= high and "
                                 "low < high")
        for item in (low, high):
            _check_range(name, item, self.minimum, self.maximum, label=f"{name} end {item!r}")
        return (low, mode, high)

    def describe(self) -> str:
        return "[low, most likely, high]" + _range_text("each", self.minimum, self.maximum)


@dataclass(frozen=True)
class Date:
    """A calendar date written ``"YYYY-MM-DD"``."""

    help: str = ""

    def check(self, name: str, value: Any) -> str:
        __tracebackhide__ = True  # IPython shows only the message
        import datetime as dt

        try:
            return dt.date.fromisoformat(value).isoformat() if isinstance(value, str) else \
                _bad_date(name, value)
        except ValueError:
            return _bad_date(name, value)

    def describe(self) -> str:
        return "a date 'YYYY-MM-DD'"


def _bad_date(name: str, value: Any) -> str:
    __tracebackhide__ = True
    raise ParameterError(f"{name}={value!r} is not a date: allowed 'YYYY-MM-DD', e.g. '2026-11-30'")


Spec = Int | Float | Choice | Bool | Device | IntList | Range | Date


def _range_text(name: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" with {low} <= {name} <= {high}"
    if low is not None:
        return f" with {name} >= {low}"
    if high is not None:
        return f" with {name} <= {high}"
    return ""


def _check_range(
    name: str, value: float, low: float | None, high: float | None, label: str | None = None
) -> None:
    __tracebackhide__ = True
    if (low is not None and value < low) or (high is not None and value > high):
        what = label or f"{name}={value!r}"
        raise ParameterError(f"{what} is out of range: allowed{_range_text(name, low, high)}")


class Params(Mapping[str, Any]):
    """Validated, read-only chapter parameters with attribute access (``params.SEED``)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("chapter parameters are read-only once validated")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Params({body})"


@dataclass(frozen=True)
class ParamSpec:
    """The declared parameters of one chapter: name -> spec."""

    specs: dict[str, Spec] = field(default_factory=dict)

    def __init__(self, **specs: Spec) -> None:
        object.__setattr__(self, "specs", dict(specs))

    def validate(self, namespace: Mapping[str, Any]) -> Params:
        """Check every declared parameter found in ``namespace`` (usually ``globals()``).

        Raises :class:`ParameterError` for the first bad value, naming it, or when a
        declared parameter is missing from the namespace.
        """
        __tracebackhide__ = True  # IPython shows only the message
        values: dict[str, Any] = {}
        for name, spec in self.specs.items():
            if name not in namespace:
                raise ParameterError(
                    f"parameter {name} is missing: the parameters cell must define it "
                    f"({spec.describe()})"
                )
            values[name] = spec.check(name, namespace[name])
        return Params(values)

    def check_names(self, names: list[str]) -> None:
        """Raise if any of ``names`` is not a declared parameter."""
        unknown = [n for n in names if n not in self.specs]
        if unknown:
            raise ParameterError(
                f"unknown parameter(s) {', '.join(unknown)}: this chapter has "
                f"{', '.join(sorted(self.specs))}"
            )

    def describe(self) -> dict[str, str]:
        """Name -> human-readable allowed values, for docs and error messages."""
        return {name: spec.describe() for name, spec in self.specs.items()}


def standard_params(device: bool = True, precision: bool = False) -> dict[str, Spec]:
    """The parameters every chapter shares: PROFILE and SEED, DEVICE if it computes on a
    device, and PRECISION if it trains there in a precision the hardware decides
    (``"auto"``; ``"float32"``/``"bf16"`` force it, see :mod:`bmlib.core.device`)."""
    specs: dict[str, Spec] = {
        "PROFILE": Choice(PROFILES, help="'full' is what the book shows; 'smoke' is CI's run"),
        "SEED": Int(minimum=0, maximum=2**31 - 1, help="seed for every random generator"),
    }
    if device:
        specs["DEVICE"] = Device()
    if precision:
        specs["PRECISION"] = Choice(PRECISIONS, help="'auto' decides from the hardware")
    return specs
