"""Declarative page parameters: one table per page drives its widgets, defaults and caps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torchstart.errors import TorchstartError


@dataclass(frozen=True)
class IntParam:
    """A whole-number setting with an inclusive range; ``max_value`` is the cap."""

    label: str
    default: int
    min_value: int
    max_value: int
    step: int = 1
    help: str = ""

    def check(self, value: int) -> int:
        """Return ``value`` if in range, else raise a message that names the limit."""
        if not isinstance(value, (int,)) or isinstance(value, bool):
            raise TorchstartError(f"{self.label} must be a whole number, got {value!r}.")
        if value < self.min_value:
            raise TorchstartError(f"{self.label} must be at least {self.min_value:,}; got {value:,}.")
        if value > self.max_value:
            raise TorchstartError(
                f"{self.label} is capped at {self.max_value:,} in this playground; got {value:,}. "
                "Pick a smaller value."
            )
        return value


@dataclass(frozen=True)
class FloatParam:
    """A real-valued setting with an inclusive range; ``log`` hints a log-scale input."""

    label: str
    default: float
    min_value: float
    max_value: float
    step: float | None = None
    format: str | None = None
    help: str = ""

    def check(self, value: float) -> float:
        """Return ``value`` if finite and in range, else raise a message that names the limit."""
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise TorchstartError(f"{self.label} must be a finite number, got {value}.")
        if not self.min_value <= value <= self.max_value:
            raise TorchstartError(
                f"{self.label} must be between {self.min_value:g} and {self.max_value:g}; got {value:g}."
            )
        return value


@dataclass(frozen=True)
class ChoiceParam:
    """One choice among fixed options; ``default`` must be one of them."""

    label: str
    options: tuple[Any, ...]
    default: Any
    help: str = ""
    labels: dict[Any, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default not in self.options:
            raise ValueError(f"default {self.default!r} not in options of {self.label}")

    def check(self, value: Any) -> Any:
        """Return ``value`` if it is one of the options, else raise."""
        if value not in self.options:
            allowed = ", ".join(map(str, self.options))
            raise TorchstartError(f"{self.label} must be one of {allowed}; got {value!r}.")
        return value

    def label_for(self, value: Any) -> str:
        """The text shown for an option."""
        return self.labels.get(value, str(value))


@dataclass(frozen=True)
class BoolParam:
    """An on/off setting."""

    label: str
    default: bool = False
    help: str = ""

    def check(self, value: Any) -> bool:
        """Return ``value`` as a bool."""
        return bool(value)


Param = IntParam | FloatParam | ChoiceParam | BoolParam
