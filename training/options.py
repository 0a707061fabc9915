"""Typed trainer options: what ``--option KEY=JSON`` may set, with defaults and checks.

Each trainer declares a frozen dataclass of its own settings (``Task.Options``);
``TrainConfig.options`` (a plain dict, as saved in ``config.json``) is read into it
once, refusing an unknown key with the list of known ones, and the model card
records the values actually used.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T", bound="TrainerOptions")


@dataclass(frozen=True)
class TrainerOptions:
    """Base of every trainer's options (none of its own)."""

    @classmethod
    def from_dict(cls: type[T], values: dict[str, Any], trainer: str = "") -> T:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            known = ", ".join(sorted(names)) or "none"
            raise ConfigError(
                f"unknown option {unknown[0]!r} for the {trainer or cls.__name__} trainer "
                f"(its options: {known})"
            )
        hints = typing.get_type_hints(cls)
        converted = {k: _convert(v, hints.get(k)) for k, v in values.items()}
        try:
            return cls(**converted)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"bad option for the {trainer or cls.__name__} trainer: {err}"
            ) from None

    def to_card(self) -> dict[str, Any]:
        """JSON-safe values (tuples as lists) for the model card and config echo."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


def _convert(value: Any, hint: Any) -> Any:
    """JSON gives lists where a tuple is meant, and ints where a float is meant."""
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
