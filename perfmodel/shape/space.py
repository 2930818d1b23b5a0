"""Design spaces of wide-ResNet shapes (depth, width), as in Shape_DNN, Table 2.

Ranges are half-open like Python's ``range``: ``min, min + step, ...`` while the value is below ``max``.
This is what reproduces the sizes printed in Table 2 (A 135, B 45, C 180, D1/D2 119 shapes).
Widths are exact fractions (``"1/16"``), so no shape is lost to floating-point rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import ConfigError

__all__ = ["Shape", "ShapeSpace", "PRESETS", "parse_range"]


def _frac(value) -> Fraction:
    try:
        f = Fraction(str(value).strip()) if not isinstance(value, Fraction) else value
    except (ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"{value!r} is not a number or fraction (e.g. 0.5 or 1/16)") from exc
    return f.limit_denominator(10_000)


@dataclass(frozen=True, order=True)
class Shape:
    """One network shape: ``depth`` (number of conv layers, 6n+4) and ``width`` (channel multiplier)."""

    depth: int
    width: Fraction

    @property
    def blocks_per_group(self) -> int:
        return (self.depth - 4) // 6

    def label(self) -> str:
        return f"({self.depth}, {_fmt(self.width)})"

    def to_dict(self) -> dict:
        return {"depth": self.depth, "width": _fmt(self.width), "width_f": float(self.width)}


def _fmt(w: Fraction) -> str:
    return str(w.numerator) if w.denominator == 1 else f"{w.numerator}/{w.denominator}"


@dataclass(frozen=True)
class ShapeSpace:
    """Depth and width ranges (min, max exclusive, step); see Shape_DNN Table 2.

    Depths that are not of the wide-ResNet form ``6n + 4`` (n >= 1) are rejected with a clear error,
    because such a network cannot be built.
    """

    depth_min: int
    depth_max: int
    depth_step: int
    width_min: Fraction
    width_max: Fraction
    width_step: Fraction

    def __post_init__(self) -> None:
        for name in ("width_min", "width_max", "width_step"):
            object.__setattr__(self, name, _frac(getattr(self, name)))
        for name in ("depth_min", "depth_max", "depth_step"):
            v = getattr(self, name)
            if int(v) != v:
                raise ConfigError(f"{name} must be an integer, got {v!r}")
            object.__setattr__(self, name, int(v))
        if self.depth_step <= 0 or self.width_step <= 0:
            raise ConfigError("depth and width steps must be positive")
        if self.width_min <= 0:
            raise ConfigError(f"width_min must be > 0, got {_fmt(self.width_min)}")
        if self.depth_min >= self.depth_max or self.width_min >= self.width_max:
            raise ConfigError("empty design space: each min must be below its max (max is exclusive)")
        bad = [d for d in self.depths if d < 10 or (d - 4) % 6]
        if bad:
            raise ConfigError(f"depth {bad[0]} is not a wide-ResNet depth (6n+4, n>=1: 10, 16, 22, ...);"
                              " use a depth_min of that form and a step that is a multiple of 6")

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(range(self.depth_min, self.depth_max, self.depth_step))

    @property
    def widths(self) -> tuple[Fraction, ...]:
        out, w = [], self.width_min
        while w < self.width_max:
            out.append(w)
            w += self.width_step
        return tuple(out)

    def shapes(self) -> list[Shape]:
        """All shapes, ordered by depth then width."""
        return [Shape(d, w) for d in self.depths for w in self.widths]

    def __len__(self) -> int:
        return len(self.depths) * len(self.widths)

    @classmethod
    def parse(cls, depth: str, width: str) -> ShapeSpace:
        """Build from ``"min:max:step"`` strings, e.g. ``parse("10:30:6", "1/4:5/4:1/4")``."""
        d, w = parse_range(depth, "depth"), parse_range(width, "width")
        return cls(int(d[0]), int(d[1]), int(d[2]), *w)

    def to_dict(self) -> dict:
        return {"depth": [self.depth_min, self.depth_max, self.depth_step],
                "width": [_fmt(self.width_min), _fmt(self.width_max), _fmt(self.width_step)],
                "size": len(self)}


def parse_range(text: str, what: str) -> tuple[Fraction, Fraction, Fraction]:
    parts = str(text).split(":")
    if len(parts) != 3:
        raise ConfigError(f"{what} must be MIN:MAX:STEP (max exclusive), got {text!r}", param=what)
    return tuple(_frac(p) for p in parts)  # type: ignore[return-value]


#: The design spaces of Shape_DNN, Table 2 (L2 coefficients: 5e-4, except D2: 1e-4).
PRESETS: dict[str, tuple[ShapeSpace, float]] = {
    "A": (ShapeSpace(10, 60, 6, Fraction(1, 16), 1, Fraction(1, 16)), 5e-4),
    "B": (ShapeSpace(10, 60, 6, 1, 6, 1), 5e-4),
    "C": (ShapeSpace(10, 60, 6, 1, 6, Fraction(1, 4)), 5e-4),
    "D1": (ShapeSpace(16, 53, 6, 2, Fraction(21, 2), Fraction(1, 2)), 5e-4),
    "D2": (ShapeSpace(16, 53, 6, 2, Fraction(21, 2), Fraction(1, 2)), 1e-4),
    # Small space for scikit-learn's digits on a laptop CPU (not in the seed).
    "digits": (ShapeSpace(10, 29, 6, Fraction(1, 4), Fraction(5, 4), Fraction(1, 4)), 5e-4),
}
