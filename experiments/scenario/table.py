"""Reading one TOML table of a scenario: typed getters that know their path, and a check that
nothing unknown is left over.

Every getter records its key as allowed, so :meth:`Table.done` can name an unknown key together
with the keys the table takes; every error is a :class:`ScenarioError` that names the file, the
field's dotted path and what is allowed.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from experiments.scenario.errors import ScenarioError
from sim.units import brief, check_number, parse_bandwidth, parse_duration, parse_size

__all__ = ["NAME_MAX", "TEXT_MAX", "Table", "choices_text", "name_problem"]

NAME_MAX = 200
"""Longest name or other string in a scenario (characters): names make run ids, file names,
table cells and figure labels."""
TEXT_MAX = 4000
"""Longest free text a string field may hold when it asks for more than a name (a validation
case's notes: ``Table.string(key, max_length=TEXT_MAX)``)."""

_CHOICES_SHOWN = 20
"""Allowed values an error lists before it says how many there are in all."""


def choices_text(choices: tuple[str, ...]) -> str:
    """The allowed values for an error message: all of them, or the first
    :data:`_CHOICES_SHOWN` and how many there are (a file may define thousands of hosts)."""
    if len(choices) <= _CHOICES_SHOWN:
        return ", ".join(choices)
    return f"{', '.join(choices[:_CHOICES_SHOWN])}, ... ({len(choices):,} in all)"


def name_problem(value: str) -> str | None:
    """What breaks the name rules in ``value`` (1 to :data:`NAME_MAX` printable characters, not
    blank), or ``None``."""
    if value == "":
        return "empty; allowed: a name of 1 to 200 printable characters"
    if len(value) > NAME_MAX:
        return f"too long ({len(value)} characters); allowed: up to {NAME_MAX}"
    if not value.strip():
        return f"blank ({value!r}); allowed: a name with a visible character"
    bad = next((c for c in value if unicodedata.category(c)[0] == "C"), None)
    if bad is not None:
        return f"must not contain {bad!r}; got {brief(value)}; allowed: printable characters"
    return None


_T = TypeVar("_T")


class Table:
    """A TOML table being read. ``path`` is its dotted place in the file (``""`` for the top),
    ``source`` the file name errors start with."""

    def __init__(self, data: object, path: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{source}: {path or 'file'}: must be a table, got {brief(data)}")
        self.data: dict[str, Any] = dict(data)
        self.path = path
        self.source = source
        self.allowed: list[str] = []

    def path_of(self, key: str) -> str:
        """The dotted path of ``key`` in the file (what errors name)."""
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {self.path_of(key)}: {message}")

    def get(self, key: str, default: Any = None) -> Any:
        """The raw value (``default`` if absent); ``key`` becomes an allowed key."""
        self.allowed.append(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    @overload
    def string(
        self,
        key: str,
        default: str,
        choices: tuple[str, ...] | None = None,
        *,
        max_length: int = NAME_MAX,
    ) -> str: ...

    @overload
    def string(
        self,
        key: str,
        default: None = None,
        choices: tuple[str, ...] | None = None,
        *,
        max_length: int = NAME_MAX,
    ) -> str | None: ...

    def string(
        self,
        key: str,
        default: str | None = None,
        choices: tuple[str, ...] | None = None,
        *,
        max_length: int = NAME_MAX,
    ) -> str | None:
        """A string, one of ``choices`` if given, of at most ``max_length`` characters;
        ``default`` if absent (or ``None``)."""
        value = self.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {brief(value)}")
        if choices is not None and value not in choices:
            raise self.error(key, f"unknown value {brief(value)}; allowed: {choices_text(choices)}")
        if len(value) > max_length:
            raise self.error(
                key, f"too long ({len(value)} characters); allowed: up to {max_length}"
            )
        return value

    def name(self, key: str, required: str = "required") -> str:
        """A name: a string of 1 to :data:`NAME_MAX` printable characters, not blank.
        ``required`` is the message when it is missing."""
        value = self.string(key)
        if value is None or value == "":
            raise self.error(key, required)
        problem = name_problem(value)
        if problem is not None:
            raise self.error(key, problem)
        return value

    def integer(self, key: str, default: int, minimum: int = 0, maximum: float = math.inf) -> int:
        """A whole number in [``minimum``, ``maximum``] (not a bool; any ``numbers.Integral``,
        returned as an ``int``)."""
        value = self.get(key, default)
        try:
            whole = check_number(value, field="", minimum=minimum, maximum=maximum, integer=True)
            return int(whole)
        except ValueError as exc:
            raise self.error(key, str(exc).removeprefix(": ")) from None

    def number(
        self, key: str, default: float, minimum: float = 0.0, maximum: float = math.inf
    ) -> float:
        """A finite, not denormal number in [``minimum``, ``maximum``] (not a bool), as a
        float."""
        value = self.get(key, default)
        try:
            return check_number(value, field="", minimum=minimum, maximum=maximum)
        except ValueError as exc:
            raise self.error(key, str(exc).removeprefix(": ")) from None

    def boolean(self, key: str, default: bool) -> bool:
        """``true`` or ``false``."""
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {brief(value)}")
        return value

    def duration(self, key: str, default: object) -> float:
        """Seconds, from a number of seconds or a string with a unit (:func:`parse_duration`)."""
        return self._parsed(key, default, parse_duration)

    def bandwidth(self, key: str, default: object) -> float:
        """Bytes per second (:func:`parse_bandwidth`); ``math.inf`` if absent and ``default``
        is ``None``."""
        if self.get(key, default) is None:
            return math.inf
        return self._parsed(key, default, parse_bandwidth)

    def size(self, key: str, default: object) -> int:
        """Bytes, from an int or a string with a unit (:func:`parse_size`)."""
        return self._parsed(key, default, parse_size)

    def _parsed(self, key: str, default: object, parse: Callable[..., _T]) -> _T:
        """``parse(value, field=...)`` of the key's value; its ValueError as a ScenarioError."""
        try:
            return parse(self.get(key, default), field=self.path_of(key))
        except ValueError as exc:
            raise ScenarioError(f"{self.source}: {exc}") from None

    def done(self) -> None:
        """Raise for the first key no getter asked for, listing the allowed ones."""
        unknown = [k for k in self.data if k not in self.allowed]
        if unknown:
            key = str(unknown[0])
            if len(key) > NAME_MAX:
                key = f"{key[:40]}... ({len(key)} characters)"
            raise self.error(key, f"unknown key; allowed: {', '.join(sorted(set(self.allowed)))}")
