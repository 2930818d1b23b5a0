"""Output constraints such as ``power_consumption<=3000`` (limits on measured values, not on knobs)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import OptimisationError

_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class OutputConstraint:
    """``metric op limit`` with ``op`` one of ``<=``, ``<``, ``>=``, ``>``.

    Written as ``g(x) <= 0`` (HyperPower style): :meth:`slack` is ``value - limit`` for an upper limit and
    ``limit - value`` for a lower one.
    """

    metric: str
    op: str
    limit: float

    @classmethod
    def parse(cls, text: str) -> OutputConstraint:
        m = _PATTERN.match(str(text))
        if not m:
            raise OptimisationError(f"constraint {text!r} is not of the form NAME<=NUMBER (or <, >=, >)")
        try:
            limit = float(m.group(3))
        except ValueError:
            raise OptimisationError(f"constraint {text!r}: {m.group(3)!r} is not a number") from None
        if not math.isfinite(limit):
            raise OptimisationError(f"constraint {text!r}: the limit must be finite")
        return cls(m.group(1), m.group(2), limit)

    @property
    def upper(self) -> bool:
        return self.op in ("<=", "<")

    def slack(self, value: float) -> float:
        return value - self.limit if self.upper else self.limit - value

    def satisfied(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return {"<=": value <= self.limit, "<": value < self.limit,
                ">=": value >= self.limit, ">": value > self.limit}[self.op]

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"


def parse_constraints(items) -> tuple[OutputConstraint, ...]:
    """Parse a sequence of strings or :class:`OutputConstraint` objects."""
    out = []
    for item in items or ():
        out.append(item if isinstance(item, OutputConstraint) else OutputConstraint.parse(item))
    return tuple(out)
