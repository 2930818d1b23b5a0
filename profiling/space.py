"""Typed, immutable configuration spaces.

A :class:`ConfigSpace` is an ordered tuple of knobs (integer, ordinal, continuous, categorical, boolean), a
tuple of constraints between knobs, and optionally a finite candidate set (the configurations that exist in
a recorded table).  It validates configurations, parses ``"threads=2,batch=1"`` strings, maps
configurations to vectors in the unit cube and back, enumerates and samples designs, and round-trips
through JSON.

Platforms declare their knobs with it; :mod:`perfmodel` re-exports it.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import operator
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from .atomic import atomic_write
from .encoding import Encoding, parse_bool, parse_config, parse_scalar
from .errors import ConfigError
from .jsonio import load_json

SPACE_FORMAT_VERSION = 1

Value = int | float | str | bool


# --------------------------------------------------------------------------------------------- knobs
def identifier_for(name: str) -> str:
    """The identifier ``name`` could become: every character that is not a letter, digit or '_' made '_', and
    a leading '_' where it would start with a digit (``scheduler.policy`` -> ``scheduler_policy``)."""
    fixed = re.sub(r"\W", "_", name)
    return fixed if fixed.isidentifier() else f"_{fixed}"


def is_knob_name(name: object) -> bool:
    """True for an identifier or identifiers joined by dots, as sysctl names are (``vm.swappiness``): a name
    a constraint can write as it is."""
    return isinstance(name, str) and all(part.isidentifier() for part in name.split("."))


def knob_name_for(name: str) -> str:
    """The knob name ``name`` could take: :func:`identifier_for` of each dot-separated part."""
    return ".".join(identifier_for(part) if part else "_" for part in name.split("."))


@dataclass(frozen=True)
class Knob:
    """Base class of a knob; see the concrete subclasses."""

    name: str
    kind: ClassVar[str] = "knob"

    def __post_init__(self) -> None:
        if not is_knob_name(self.name):
            hint = f", e.g. {knob_name_for(self.name)!r}" if isinstance(self.name, str) and self.name else ""
            raise ConfigError(f"knob name {self.name!r} must be an identifier (letters, digits, '_'), or "
                              f"identifiers joined by '.'{hint}")

    # Finite knobs list their levels; a continuous knob without discretisation returns None.
    @property
    def levels(self) -> tuple[Value, ...] | None:
        raise NotImplementedError

    @property
    def default_value(self) -> Value:
        raise NotImplementedError

    def validate(self, value: Any) -> Value:
        """Return ``value`` coerced to the knob's type, or raise :class:`ConfigError`."""
        raise NotImplementedError

    def parse(self, text: str) -> Value:
        """Parse a value written as text (from a CLI string or CSV cell)."""
        return self.validate(_parse_scalar(text))

    def to_unit(self, value: Value) -> float:
        """Map a valid value to [0, 1]: its position among the levels (designs and samplers draw in the unit
        cube). Model features come from :class:`profiling.encoding.Encoding` instead."""
        levels = self.levels
        assert levels is not None
        if len(levels) == 1:
            return 0.5
        return levels.index(self.validate(value)) / (len(levels) - 1)

    def from_unit(self, u: float) -> Value:
        """Map ``u`` in [0, 1] to the nearest allowed value."""
        levels = self.levels
        assert levels is not None
        i = int(math.floor(float(np.clip(u, 0.0, 1.0)) * len(levels)))
        return levels[min(i, len(levels) - 1)]

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind}
        for k, v in self.__dict__.items():
            d[k] = list(v) if isinstance(v, tuple) else v
        return d

    def describe(self) -> str:
        levels = self.levels
        if levels is None:
            return f"{self.name}: {self.kind}"
        shown = ", ".join(map(str, levels[:8])) + (", ..." if len(levels) > 8 else "")
        return f"{self.name}: {self.kind} {{{shown}}} (default {self.default_value})"


@dataclass(frozen=True)
class Integer(Knob):
    """Integer knob ``low..high`` in steps of ``step``."""

    low: int = 0
    high: int = 1
    step: int = 1
    default: int | None = None
    kind: ClassVar[str] = "integer"

    def __post_init__(self) -> None:
        super().__post_init__()
        for attr in ("low", "high", "step"):
            if not isinstance(getattr(self, attr), (int, np.integer)) or isinstance(getattr(self, attr), bool):
                raise ConfigError(f"knob {self.name!r}: {attr} must be an integer")
        if self.high < self.low or self.step < 1:
            raise ConfigError(f"knob {self.name!r}: need low <= high and step >= 1")
        if self.default is not None:
            self.validate(self.default)

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1, self.step))

    @property
    def default_value(self) -> int:
        return self.low if self.default is None else int(self.default)

    def validate(self, value: Any) -> int:
        if (isinstance(value, bool) or not _is_number(value) or not math.isfinite(float(value))
                or float(value) != int(float(value))):
            raise ConfigError(f"knob {self.name!r} takes an integer, got {value!r}")
        v = int(float(value))
        if v < self.low or v > self.high or (v - self.low) % self.step:
            raise ConfigError(
                f"knob {self.name!r}: {v} is out of range {self.low}..{self.high}"
                + (f" step {self.step}" if self.step != 1 else "")
            )
        return v


@dataclass(frozen=True)
class Ordinal(Knob):
    """Knob with an ordered tuple of numeric levels (e.g. the frequencies a board accepts)."""

    values: tuple[float | int, ...] = ()
    default: float | int | None = None
    kind: ClassVar[str] = "ordinal"

    def __post_init__(self) -> None:
        super().__post_init__()
        vals = tuple(self.values)
        if not vals:
            raise ConfigError(f"knob {self.name!r} needs at least one level")
        if not all(_is_number(v) and not isinstance(v, bool) for v in vals):
            raise ConfigError(f"knob {self.name!r}: ordinal levels must be numbers")
        if any(not math.isfinite(float(v)) for v in vals):
            raise ConfigError(f"knob {self.name!r}: levels must be finite")
        clean = tuple(sorted(set(int(v) if float(v) == int(float(v)) else float(v) for v in vals)))
        object.__setattr__(self, "values", clean)
        if self.default is not None:
            self.validate(self.default)

    @property
    def levels(self) -> tuple[float | int, ...]:
        return self.values

    @property
    def default_value(self) -> float | int:
        return self.values[0] if self.default is None else self.validate(self.default)

    def validate(self, value: Any) -> float | int:
        if isinstance(value, bool) or not _is_number(value):
            raise ConfigError(f"knob {self.name!r} takes one of {list(self.values)}, got {value!r}")
        for level in self.values:
            if math.isclose(float(level), float(value), rel_tol=1e-9, abs_tol=1e-12):
                return level
        raise ConfigError(f"knob {self.name!r}: {value!r} is not one of {list(self.values)}")


@dataclass(frozen=True)
class Continuous(Knob):
    """Real-valued knob in ``[low, high]``; ``n_levels`` discretises it to equally spaced allowed levels."""

    low: float = 0.0
    high: float = 1.0
    n_levels: int | None = None
    log: bool = False
    default: float | None = None
    kind: ClassVar[str] = "continuous"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (_is_number(self.low) and _is_number(self.high)) or not self.low < self.high:
            raise ConfigError(f"knob {self.name!r}: need numeric low < high")
        if self.log and self.low <= 0:
            raise ConfigError(f"knob {self.name!r}: a log-scaled knob needs low > 0")
        if self.n_levels is not None and (not isinstance(self.n_levels, int) or self.n_levels < 2):
            raise ConfigError(f"knob {self.name!r}: n_levels must be an integer >= 2")
        if self.default is not None:
            self.validate(self.default)

    def _warp(self, x: float) -> float:
        return math.log(x) if self.log else x

    def _unwarp(self, y: float) -> float:
        return math.exp(y) if self.log else y

    @property
    def levels(self) -> tuple[float, ...] | None:
        if self.n_levels is None:
            return None
        lo, hi = self._warp(self.low), self._warp(self.high)
        return tuple(float(self._unwarp(lo + (hi - lo) * i / (self.n_levels - 1))) for i in range(self.n_levels))

    @property
    def default_value(self) -> float:
        if self.default is not None:
            return self.validate(self.default)
        return self.from_unit(0.5)

    def validate(self, value: Any) -> float:
        if isinstance(value, bool) or not _is_number(value) or not math.isfinite(float(value)):
            raise ConfigError(f"knob {self.name!r} takes a number in [{self.low}, {self.high}], got {value!r}")
        v = float(value)
        if v < self.low - 1e-12 or v > self.high + 1e-12:
            raise ConfigError(f"knob {self.name!r}: {v} is outside [{self.low}, {self.high}]")
        levels = self.levels
        if levels is not None:
            for level in levels:
                if math.isclose(level, v, rel_tol=1e-9, abs_tol=1e-12):
                    return level
            raise ConfigError(f"knob {self.name!r}: {v} is not one of its levels {list(levels)}")
        return v

    def to_unit(self, value: Value) -> float:
        v = self.validate(value)
        lo, hi = self._warp(self.low), self._warp(self.high)
        return (self._warp(v) - lo) / (hi - lo)

    def from_unit(self, u: float) -> float:
        u = float(np.clip(u, 0.0, 1.0))
        if self.levels is not None:
            return self.levels[int(round(u * (self.n_levels - 1)))]
        lo, hi = self._warp(self.low), self._warp(self.high)
        return float(np.clip(self._unwarp(lo + u * (hi - lo)), self.low, self.high))


@dataclass(frozen=True)
class Categorical(Knob):
    """Unordered choice among strings."""

    choices: tuple[str, ...] = ()
    default: str | None = None
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        super().__post_init__()
        choices = tuple(str(c) for c in self.choices)
        if not choices or len(set(choices)) != len(choices):
            raise ConfigError(f"knob {self.name!r} needs distinct choices")
        object.__setattr__(self, "choices", choices)
        if self.default is not None:
            self.validate(self.default)

    @property
    def levels(self) -> tuple[str, ...]:
        return self.choices

    @property
    def default_value(self) -> str:
        return self.choices[0] if self.default is None else self.default

    def validate(self, value: Any) -> str:
        text = str(value)
        if text not in self.choices:
            raise ConfigError(f"knob {self.name!r}: {value!r} is not one of {list(self.choices)}")
        return text

    def parse(self, text: str) -> str:
        return self.validate(text.strip())


@dataclass(frozen=True)
class Boolean(Knob):
    """On/off knob; accepts true/false, on/off, yes/no, 1/0."""

    default: bool = False
    kind: ClassVar[str] = "boolean"

    @property
    def levels(self) -> tuple[bool, ...]:
        return (False, True)

    @property
    def default_value(self) -> bool:
        return bool(self.default)

    def validate(self, value: Any) -> bool:
        return parse_bool(value, self.name)  # the one rule: true/false, on/off, yes/no, 1/0

    def parse(self, text: str) -> bool:
        return self.validate(text)


KNOB_TYPES: dict[str, type[Knob]] = {k.kind: k for k in (Integer, Ordinal, Continuous, Categorical, Boolean)}


def knob_from_dict(d: Mapping[str, Any]) -> Knob:
    """Build a knob from :meth:`Knob.to_dict` output."""
    if not isinstance(d, Mapping) or "kind" not in d or "name" not in d:
        raise ConfigError("a knob entry needs 'kind' and 'name'")
    cls = KNOB_TYPES.get(d["kind"]) if isinstance(d["kind"], str) else None
    if cls is None:
        raise ConfigError(f"unknown knob kind {d['kind']!r}; expected one of {sorted(KNOB_TYPES)}")
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k != "kind"}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, OverflowError) as exc:  # hostile values in a file: one-line error
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"knob {str(d['name'])[:40]!r}: {exc}") from None


# ------------------------------------------------------------------------------------- constraints
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


# Bounds of every intermediate result: an expression builds no number, string or sequence larger than these
# (``((10**64)**64)**64`` or ``'a' * 10**10`` would otherwise take all memory). Checked before the operation.
MAX_INT_BITS = 4096      # about 1e1233, far beyond any knob arithmetic
MAX_SEQ_LEN = 10_000     # characters of a string (or items of a sequence) built by + or *
MAX_NODES = 1_000        # operators and operands in one constraint


def _bits(v: Any) -> int:
    return abs(int(v)).bit_length() if isinstance(v, (int, bool)) else 0


def _check_size(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse an operation whose result would exceed the bounds above (estimated before computing it)."""
    seq = (str, bytes, list, tuple)
    if isinstance(op, ast.Pow):
        if _is_number(right) and abs(float(right)) > 64:
            raise ConfigError("exponent larger than 64")
        if isinstance(left, int) and isinstance(right, int) and right > 0 and _bits(left) * right > MAX_INT_BITS:
            raise ConfigError(f"builds a number larger than 2**{MAX_INT_BITS}")
    elif isinstance(op, ast.Mult):
        if isinstance(left, seq) or isinstance(right, seq):
            n = right if isinstance(left, seq) else left
            s = left if isinstance(left, seq) else right
            if isinstance(n, int) and len(s) * max(int(n), 0) > MAX_SEQ_LEN:
                raise ConfigError(f"builds a string longer than {MAX_SEQ_LEN} characters")
        elif isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INT_BITS:
            raise ConfigError(f"builds a number larger than 2**{MAX_INT_BITS}")
    elif isinstance(op, ast.Add):
        if isinstance(left, seq) and isinstance(right, seq) and len(left) + len(right) > MAX_SEQ_LEN:
            raise ConfigError(f"builds a string longer than {MAX_SEQ_LEN} characters")
    elif isinstance(op, ast.Mod) and isinstance(left, (str, bytes)):
        # '%0999999999d' % 1 formats a string of any width: only numbers take a remainder here
        raise ConfigError("% takes numbers only")


def _dotted_name(node: ast.AST) -> str | None:
    """The knob name ``node`` writes: ``x`` for a name, ``vm.swappiness`` for names joined by dots; else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _names_in(node: ast.AST) -> set[str]:
    name = _dotted_name(node)
    if name is not None:
        return {name}
    return set().union(*(_names_in(child) for child in ast.iter_child_nodes(node)))


class _Substitute(ast.NodeTransformer):
    """Knob names of ``values`` replaced by their values (a dotted name replaced whole)."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = values

    def visit_Attribute(self, node: ast.AST) -> ast.AST:
        name = _dotted_name(node)
        if name is None:
            return self.generic_visit(node)
        return ast.copy_location(ast.Constant(self.values[name]), node) if name in self.values else node

    visit_Name = visit_Attribute


def _substituted(expression: str, values: Mapping[str, Any]) -> str | Constraint:
    """``expression`` with the knobs of ``values`` written as their values (unchanged when it names none)."""
    constraint = Constraint(expression)
    if not constraint.names & set(values):
        return constraint
    return ast.unparse(_Substitute(values).visit(constraint._tree))  # type: ignore[attr-defined]


def _safe_eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    # A tiny expression evaluator: constraints come from files and must never run code. Every intermediate
    # result is bounded (``_check_size``), so an expression cannot exhaust memory or time either.
    if isinstance(node, ast.Expression):
        return _safe_eval(node.body, env)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        if isinstance(node.value, int) and _bits(node.value) > MAX_INT_BITS:
            raise ConfigError(f"holds a number larger than 2**{MAX_INT_BITS}")
        return node.value
    name = _dotted_name(node)
    if name is not None:
        if name not in env:
            raise ConfigError(f"names unknown knob {name!r}")
        return env[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _safe_eval(node.left, env), _safe_eval(node.right, env)
        _check_size(node.op, left, right)
        return _BIN[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        v = _safe_eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else (+v if isinstance(node.op, ast.UAdd) else not v)
    if isinstance(node, ast.BoolOp):
        vals = [_safe_eval(v, env) for v in node.values]
        return all(vals) if isinstance(node.op, ast.And) else any(vals)
    if isinstance(node, ast.Compare):
        left = _safe_eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators):
            if type(op) not in _CMP:
                raise ConfigError("only <, <=, >, >=, ==, != compare")
            right = _safe_eval(comp, env)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    raise ConfigError(f"unsupported expression {ast.dump(node)[:60]}")


@dataclass(frozen=True)
class Constraint:
    """A boolean expression over knob names, e.g. ``"inter_op_threads <= threads"``."""

    expression: str

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise ConfigError(f"a constraint is a string expression, got {type(self.expression).__name__}")
        try:
            tree = ast.parse(self.expression, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: NUL bytes, long literals
            raise ConfigError(f"constraint {self.expression[:60]!r} is not a valid expression") from None
        if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
            raise ConfigError(f"constraint {self.expression[:60]!r} has more than {MAX_NODES} terms")
        object.__setattr__(self, "_tree", tree)

    @property
    def names(self) -> set[str]:
        return _names_in(self._tree)  # type: ignore[attr-defined]

    def __call__(self, config: Mapping[str, Any]) -> bool:
        try:
            return bool(_safe_eval(self._tree, config))  # type: ignore[attr-defined]
        except (ZeroDivisionError, OverflowError):
            return False
        except ConfigError as exc:  # a bound of _check_size: name the constraint
            raise ConfigError(f"constraint {self.expression[:60]!r}: {exc}") from None
        except (TypeError, ValueError, RecursionError) as exc:  # e.g. a categorical knob compared with a number
            raise ConfigError(f"constraint {self.expression[:60]!r} cannot be evaluated: "
                              f"{str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__}") from None
        except MemoryError:
            raise ConfigError(f"constraint {self.expression[:60]!r} needs more memory than this machine "
                              "has") from None


# ------------------------------------------------------------------------------------------ space
@dataclass(frozen=True)
class ConfigSpace:
    """Immutable, ordered set of knobs with constraints and an optional finite candidate set.

    Parameters
    ----------
    knobs : sequence of Knob
        The knobs, in the order used by vectors.
    constraints : sequence of str or Constraint
        Boolean expressions over knob names that every feasible configuration satisfies.
    candidates : sequence of mapping, optional
        When given, the space is exactly these configurations (e.g. the rows of a recorded table).
    name : str
        A label (the platform or table it describes).
    """

    knobs: tuple[Knob, ...]
    constraints: tuple[Constraint, ...] = ()
    candidates: tuple[tuple[Value, ...], ...] | None = None
    name: str = "space"
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        knobs = tuple(self.knobs)
        if not all(isinstance(k, Knob) for k in knobs):
            raise ConfigError("a ConfigSpace takes Knob objects")
        names = [k.name for k in knobs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"duplicate knob names: {', '.join(dupes)}")
        object.__setattr__(self, "knobs", knobs)
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(names)})
        cons = tuple(c if isinstance(c, Constraint) else Constraint(str(c)) for c in self.constraints)
        for c in cons:
            unknown = c.names - set(names)
            if unknown:
                raise ConfigError(f"constraint {c.expression!r} names unknown knob(s): {', '.join(sorted(unknown))}")
        object.__setattr__(self, "constraints", cons)
        if self.candidates is not None:
            rows = []
            seen = set()
            for cand in self.candidates:
                if isinstance(cand, Mapping):
                    missing = [n for n in names if n not in cand]
                    if missing:
                        raise ConfigError(f"candidate configuration lacks knob {missing[0]!r}")
                    row = tuple(k.validate(cand[k.name]) for k in knobs)
                else:
                    row = tuple(k.validate(v) for k, v in zip(knobs, cand, strict=True))
                if row not in seen:
                    seen.add(row)
                    rows.append(row)
            if not rows:
                raise ConfigError("a candidate space needs at least one configuration")
            object.__setattr__(self, "candidates", tuple(rows))
            object.__setattr__(self, "_candidate_set", frozenset(rows))

    # -- basics
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.knobs)

    def __len__(self) -> int:
        return len(self.knobs)

    def __iter__(self) -> Iterator[Knob]:
        return iter(self.knobs)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> Knob:
        try:
            return self.knobs[self._index[name]]
        except KeyError:
            raise ConfigError(f"unknown knob {name!r}; known knobs: {', '.join(self.names)}") from None

    @property
    def is_finite(self) -> bool:
        return self.candidates is not None or all(k.levels is not None for k in self.knobs)

    @property
    def size(self) -> int | float:
        """Number of configurations (before constraints for a grid); ``inf`` for a continuous space."""
        if self.candidates is not None:
            return len(self.candidates)
        if not self.is_finite:
            return math.inf
        return math.prod(len(k.levels) for k in self.knobs)  # type: ignore[arg-type]

    def default(self) -> dict[str, Value]:
        """The default configuration."""
        if self.candidates is not None:
            return dict(zip(self.names, self.candidates[0]))
        return {k.name: k.default_value for k in self.knobs}

    # -- validation
    def validate(self, config: Mapping[str, Any], *, fill_defaults: bool = True) -> dict[str, Value]:
        """Return a complete, type-checked configuration or raise :class:`ConfigError`.

        Unknown knob names, values out of range, constraint violations and (for a candidate space)
        configurations that are not candidates are errors.
        """
        if not isinstance(config, Mapping):
            raise ConfigError(f"a configuration is a mapping of knob names to values, got {type(config).__name__}")
        unknown = [k for k in config if k not in self._index]
        if unknown:
            raise ConfigError(f"unknown knob {unknown[0]!r}; known knobs: {', '.join(self.names)}")
        out: dict[str, Value] = {}
        for knob in self.knobs:
            if knob.name in config:
                out[knob.name] = knob.validate(config[knob.name])
            elif fill_defaults:
                out[knob.name] = knob.default_value
            else:
                raise ConfigError(f"configuration lacks knob {knob.name!r}")
        for c in self.constraints:
            if not c(out):
                raise ConfigError(f"configuration {format_config(out)} violates constraint {c.expression!r}")
        if self.candidates is not None and tuple(out[n] for n in self.names) not in self._candidate_set:
            raise ConfigError(f"configuration {format_config(out)} is not among the space's candidates")
        return out

    def is_feasible(self, config: Mapping[str, Any]) -> bool:
        try:
            self.validate(config)
        except ConfigError:
            return False
        return True

    def parse(self, text: str) -> dict[str, Value]:
        """Parse ``"threads=2,batch=1"`` into a validated configuration (missing knobs take defaults)."""
        return self.validate(self.parse_partial(text))

    def parse_partial(self, text: str) -> dict[str, Value]:
        """Parse ``"k=v,..."`` checking names and values but not filling defaults or checking constraints.

        The one configuration parser, :func:`profiling.encoding.parse_config`, with this space's knobs as the
        declared types.
        """
        return parse_config(text, self)

    # -- vectors
    def encoding(self, *, reference: bool = False, log: Sequence[str] = ()) -> Encoding:
        """The model features this space declares: :meth:`profiling.encoding.Encoding.from_space` (numbers,
        log-scaled continuous knobs as logs, booleans 0/1, categorical knobs one-hot, one-level knobs constant).

        :meth:`to_vector` is another thing: a configuration's position in the unit cube (a categorical knob at
        its choice's index), what designs and samplers draw in.
        """
        return Encoding.from_space(self, reference=reference, log=log)

    def to_vector(self, config: Mapping[str, Any], *, feasible: bool = True) -> np.ndarray:
        """Map a configuration to a point in the unit cube (one coordinate per knob).

        ``feasible=False`` checks each knob's value but not the constraints or the candidates (a point an
        optimiser proposes may be infeasible); every knob must then be given.
        """
        if not feasible:
            missing = [k.name for k in self.knobs if k.name not in config]
            if missing:
                raise ConfigError(f"configuration lacks knob {missing[0]!r}")
            return np.array([k.to_unit(config[k.name]) for k in self.knobs], dtype=float)
        cfg = self.validate(config, fill_defaults=True) if self.candidates is None else {
            k.name: k.validate(config[k.name]) for k in self.knobs}
        return np.array([k.to_unit(cfg[k.name]) for k in self.knobs], dtype=float)

    def to_matrix(self, configs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        rows = [self.to_vector(c) for c in configs]
        return np.array(rows, dtype=float).reshape(len(rows), len(self.knobs))

    def from_vector(self, vector: Sequence[float]) -> dict[str, Value]:
        """Map a point of the unit cube to the nearest allowed configuration (constraints not checked)."""
        v = np.asarray(vector, dtype=float).ravel()
        if v.shape[0] != len(self.knobs):
            raise ConfigError(f"vector has {v.shape[0]} coordinates, the space has {len(self.knobs)} knobs")
        return {k.name: k.from_unit(u) for k, u in zip(self.knobs, v)}

    # -- enumeration
    def grid(self) -> Iterator[dict[str, Value]]:
        """All feasible configurations (the candidates, or the full factorial of the levels)."""
        if self.candidates is not None:
            for row in self.candidates:
                yield dict(zip(self.names, row))
            return
        if not self.is_finite:
            raise ConfigError("a space with continuous knobs has no finite grid; give them n_levels")
        for combo in itertools.product(*(k.levels for k in self.knobs)):  # type: ignore[misc]
            cfg = dict(zip(self.names, combo))
            if all(c(cfg) for c in self.constraints):
                yield cfg

    def any_feasible(self, limit: int = 10**6) -> bool | None:
        """Whether some configuration meets the constraints; None for a continuous space or a grid of more than
        ``limit`` configurations, which are not gone through (a Jetson's with TensorFlow's knobs holds 10**8)."""
        if self.candidates is not None:
            return any(all(c(dict(zip(self.names, row))) for c in self.constraints) for row in self.candidates)
        if not self.is_finite or self.size > limit:
            return None
        return next(self.grid(), None) is not None

    def sample(self, n: int, design: str = "random", seed: int | None = 0) -> list[dict[str, Value]]:
        """Draw ``n`` feasible configurations with a design; see :func:`profiling.designs.sample`."""
        from .designs import sample

        return sample(self, n, design=design, seed=seed)

    # -- subspaces
    def subspace(self, names: Sequence[str]) -> ConfigSpace:
        """The knobs in ``names``; constraints that mention other knobs are dropped."""
        knobs = tuple(self[n] for n in names)
        keep = tuple(c for c in self.constraints if c.names <= set(names))
        return ConfigSpace(knobs, keep, None, self.name)

    def restrict(self, configs: Iterable[Mapping[str, Any]], name: str | None = None) -> ConfigSpace:
        """The same knobs, over exactly ``configs`` (feasible configurations of this space): a candidate space.

        E.g. the configurations a search may still ask once some are ruled out before it starts (a-priori
        constraints): a design drawn from it lands on ``configs`` alone, with this space's vectors.
        """
        rows = []
        for cfg in configs:
            out = self.validate(cfg)                  # its one-line error names a configuration outside the space
            rows.append(tuple(out[n] for n in self.names))
        if not rows:
            raise ConfigError("a restricted space needs at least one configuration")
        return ConfigSpace(self.knobs, self.constraints, tuple(rows), self.name if name is None else name)

    def where(self, *expressions: str | Constraint, fixed: Mapping[str, Value] | None = None) -> ConfigSpace:
        """This space with the conditions ``expressions`` on its knobs (``"cores <= 2"``) added to its constraints;
        a candidate space (a recorded table's rows) keeps the candidates that meet them.

        ``fixed`` holds the values of knobs that are not in this space but set for every configuration of it
        (the base a search varies the others from): a condition takes them as they are (``batch * threads <= 8``
        with ``batch`` fixed at 4 is ``4 * threads <= 8``). A condition naming another knob, or met by no
        configuration (where the space is small enough to go through, :meth:`any_feasible`), is a
        :class:`ConfigError`.
        """
        if not expressions:
            return self
        texts = [e.expression if isinstance(e, Constraint) else e for e in expressions]
        values = {k: v for k, v in (fixed or {}).items() if k not in self}
        narrowed = replace(self, constraints=(*self.constraints, *(_substituted(t, values) for t in texts)))
        if narrowed.any_feasible() is False:
            of = ", ".join(self.names) if len(self.names) <= 6 else f"the {len(self.names)} knobs"
            named = sorted({n for t in texts for n in Constraint(t).names if n in values})
            given = f" (with {format_config({n: values[n] for n in named})})" if named else ""
            raise ConfigError(f"no configuration of {of} meets {' and '.join(texts)}{given}")
        if self.candidates is None:  # a grid or a continuous space: its constraints filter what is drawn
            return narrowed
        return narrowed.restrict(c for c in narrowed.grid() if narrowed.is_feasible(c))

    # -- persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "perfmodel.ConfigSpace",
            "version": SPACE_FORMAT_VERSION,
            "name": self.name,
            "knobs": [k.to_dict() for k in self.knobs],
            "constraints": [c.expression for c in self.constraints],
            "candidates": None if self.candidates is None else [list(r) for r in self.candidates],
        }

    def to_json(self, path: str | None = None, indent: int | None = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write(path, text, error=ConfigError, what="configuration space file")
        return text

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConfigSpace:
        if not isinstance(d, Mapping) or d.get("format") != "perfmodel.ConfigSpace":
            raise ConfigError("not a configuration space (missing format 'perfmodel.ConfigSpace')")
        if d.get("version") != SPACE_FORMAT_VERSION:
            raise ConfigError(f"configuration space version {d.get('version')!r} is not supported "
                              f"(this library reads version {SPACE_FORMAT_VERSION})")
        try:
            knobs = tuple(knob_from_dict(k) for k in d.get("knobs", []))
            cands = d.get("candidates")
            return cls(knobs, tuple(d.get("constraints", [])),
                       None if cands is None else tuple(tuple(r) for r in cands), str(d.get("name", "space")))
        except (TypeError, ValueError, OverflowError) as exc:  # lists of the wrong shape or type in a file
            if isinstance(exc, ConfigError):
                raise
            why = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
            raise ConfigError(f"invalid configuration space: {why}") from None

    @classmethod
    def from_json(cls, text_or_path: str) -> ConfigSpace:
        """Load from a JSON string or a path to a JSON file."""
        return cls.from_dict(load_json(text_or_path, "configuration space", ConfigError))

    @classmethod
    def from_table(cls, table: Any, knobs: Sequence[str], name: str = "table") -> ConfigSpace:
        """The finite space of the distinct rows of ``table`` (a pandas DataFrame) over ``knobs``.

        Numeric columns become :class:`Ordinal` knobs with the observed levels; others :class:`Categorical`.
        """
        import pandas as pd

        missing = [k for k in knobs if k not in table.columns]
        if missing:
            raise ConfigError(f"table has no column {missing[0]!r}; columns: {', '.join(map(str, table.columns))}")
        if len(table) == 0:
            raise ConfigError("table has no rows")
        made: list[Knob] = []
        for k in knobs:
            col = table[k]
            if col.isna().any():
                raise ConfigError(f"knob column {k!r} has missing values")
            if pd.api.types.is_bool_dtype(col):
                made.append(Boolean(k))
            elif pd.api.types.is_numeric_dtype(col):
                made.append(Ordinal(k, tuple(float(v) if not float(v).is_integer() else int(v) for v in col.unique())))
            else:
                made.append(Categorical(k, tuple(sorted(map(str, col.unique())))))
        rows = [tuple(r) for r in table[list(knobs)].itertuples(index=False, name=None)]
        return cls(tuple(made), (), tuple(rows), name)


# ------------------------------------------------------------------------------------------ helpers
def _is_number(value: Any) -> bool:
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


_parse_scalar = parse_scalar  # the parser's number reading (profiling.encoding)


def format_config(config: Mapping[str, Any]) -> str:
    """``"a=1,b=2"``: the inverse of :meth:`ConfigSpace.parse`."""
    return ",".join(f"{k}={_fmt(v)}" for k, v in config.items())


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def config_key(config: Mapping[str, Any]) -> str:
    """Canonical text identity of a configuration (sorted keys), used to deduplicate and resume."""
    return json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in sorted(config.items())},
                      sort_keys=True, separators=(",", ":"))
