"""One knob encoder and one configuration parser, shared by every command and model.

A configuration is written ``"threads=2,xla=on,governor=fast"``. :func:`parse_config` splits it and reads
each value by the knob's declared type: a :class:`~profiling.space.Knob` of a configuration space (a boolean
knob takes true/false, on/off, yes/no, 1/0; a categorical one its choices), or an :class:`EncodedKnob` that a
model learnt from its training table. A knob without a declared type (a model that does not know it yet)
gets numbers as numbers, ``true``/``false`` as booleans and anything else as text, which the model's own
encoding then reads with the same rules. So ``xla=on`` means "on" to every command: ``True`` for a boolean
knob, and the level ``"on"`` for a knob whose levels are words (the H200 models' ``cuda_graph=on``).

An :class:`Encoding` turns knob columns into the numeric features a regressor takes, with one rule for
every model:

* a knob constant in the training rows is left out of the features (it carries no information) and
  remembered; at prediction another value of a constant boolean or categorical knob is refused (the model
  never saw it), another number is predicted as the constant with a warning;
* a boolean knob (a column of booleans, of the words true/false, or a :class:`~profiling.space.Boolean`
  knob) is one 0/1 feature; its values are read with :func:`parse_bool`: any other value is a one-line
  error naming the knob and the value, never silently 0;
* a numeric knob (numbers, or numbers written as text) is one feature, its value or (``log``) its
  logarithm; a column of numbers with a stray word is an error (a typo, not a category). ``log="auto"``
  takes the logarithm of each numeric knob that :func:`log_scaled` calls a scale (three or more distinct
  positive levels: clocks, thread counts, batch sizes), the rule of every GP's inputs;
* any other knob is categorical: one 0/1 feature per level (levels sorted as text), or with ``reference``
  coding one per level but the first; a level unseen in training is refused in one line.

Both are immutable (frozen dataclasses) and persist as plain JSON lists (:meth:`Encoding.to_list`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .space import Knob

__all__ = ["TRUE_WORDS", "FALSE_WORDS", "BOOL_SPELLINGS", "KINDS", "LOG_MIN_LEVELS", "parse_bool", "is_bool_word",
           "parse_scalar", "split_config", "parse_config", "log_scaled", "EncodedKnob", "Encoding"]

TRUE_WORDS = ("true", "on", "yes", "1")
FALSE_WORDS = ("false", "off", "no", "0")
BOOL_SPELLINGS = "true/false, on/off, yes/no, 1/0"
KINDS = ("number", "bool", "category")
#: a numeric knob with at least this many distinct positive levels is a scale (see :func:`log_scaled`)
LOG_MIN_LEVELS = 3


# ------------------------------------------------------------------------------------------ values
def log_scaled(levels: Iterable[Any]) -> bool:
    """Whether a numeric knob with these levels is a scale that a GP should see as its logarithm.

    True for at least :data:`LOG_MIN_LEVELS` distinct finite positive numbers (booleans are not numbers
    here): clock frequencies, thread counts, batch sizes, whose effects are relative (twice the clock, not
    100 MHz more). Two levels are a switch, where a logarithm changes nothing a GP can use.
    """
    values = list(levels)
    if any(isinstance(v, (bool, np.bool_)) for v in values):
        return False
    try:
        v = np.unique(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        return False
    return len(v) >= LOG_MIN_LEVELS and bool(np.all(np.isfinite(v))) and bool(np.all(v > 0))


def is_bool_word(value: Any) -> bool:
    """Whether ``value`` is one of the accepted spellings of a boolean (a bool, 0/1, or a word)."""
    try:
        parse_bool(value)
    except ConfigError:
        return False
    return True


def parse_bool(value: Any, knob: str = "value", *, error: type[Exception] = ConfigError) -> bool:
    """``value`` as a boolean: a bool, the numbers 0/1, or true/false, on/off, yes/no, 1/0 (any case).

    Anything else raises ``error`` with a one-line message naming ``knob`` and the value.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if float(value) in (0.0, 1.0):
            return bool(float(value))
    elif isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        if word in ("1.0", "0.0"):  # a 0/1 column read back as floats and written as text
            return word == "1.0"
    raise error(f"knob {knob!r} takes on/off ({BOOL_SPELLINGS}), got {_short(value)}")


def parse_scalar(text: str) -> int | float | str:
    """``"2"`` -> 2, ``"0.5"`` -> 0.5, anything else the stripped text (no booleans: see :func:`parse_config`)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def split_config(text: str, *, error: type[Exception] = ConfigError, whole: str = "configuration",
                 what: str = "config item", name: str = "knob", example: str = "threads=2") -> list[tuple[str, str]]:
    """``"a=1, b=on"`` -> ``[("a", "1"), ("b", "on")]``: names and raw values, in order, each name once.

    ``whole``, ``what``, ``name`` and ``example`` word the errors (the list, an item, what its key names, a
    valid pair), so that other ``name=value`` lists (a reference point of objectives, say) use this parser."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    if not (text or "").strip():
        return out
    for part in text.split(","):
        if not part.strip():
            raise error(f"{whole} {text.strip()[:60]!r} has an empty item (two commas, or one at an end)")
        if "=" not in part:
            raise error(f"{what} {part.strip()[:60]!r} is not key=value: give {name}=value pairs, e.g. {example}")
        key, _, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not key:
            raise error(f"{what} {part.strip()[:60]!r} has no {name} name")
        if key in seen:
            raise error(f"{name} {key!r} is given twice")
        if not raw:
            raise error(f"{name} {key!r} has no value")
        seen.add(key)
        out.append((key, raw))
    return out


def parse_config(text: str, knobs: Any = None, *, error: type[Exception] = ConfigError,
                 allow_empty: bool = True) -> dict[str, Any]:
    """Parse ``"k=v,..."``, each value by its knob's declared type.

    Parameters
    ----------
    text : str
        The configuration.
    knobs : ConfigSpace, Encoding, or mapping of name -> Knob / EncodedKnob, optional
        The declared types. A :class:`~profiling.space.ConfigSpace` also refuses names it does not hold; with
        an :class:`Encoding` (or a mapping) a name it does not hold is read untyped.
    error : exception class
        Raised, with a one-line message, for a malformed item or a value the knob does not take.
    allow_empty : bool
        Whether an empty text (no item) is a valid, empty configuration.

    Untyped values: integers and decimals as numbers, ``true``/``false`` (any case) as booleans, anything
    else as text; the model that receives the configuration reads them by its own encoding
    (:meth:`Encoding.transform`), where ``on``/``yes``/``1`` are true for a boolean knob.
    """
    from .space import ConfigSpace, Knob

    items = split_config(text, error=error)
    if not items and not allow_empty:
        raise error(f"configuration {str(text)[:60]!r} is empty")
    typed: Mapping[str, Any]
    if isinstance(knobs, ConfigSpace):
        typed = {name: knobs[name] for name, _ in items}  # unknown names: ConfigError naming the known knobs
    elif isinstance(knobs, Encoding):
        typed = knobs.by_name
    else:
        typed = dict(knobs or {})
    out: dict[str, Any] = {}
    for key, raw in items:
        kind = typed.get(key)
        try:
            if isinstance(kind, Knob):
                out[key] = kind.parse(raw)
            elif isinstance(kind, EncodedKnob):
                out[key] = kind.parse(raw)
            else:
                out[key] = _untyped(raw)
        except ConfigError as exc:
            if error is ConfigError or isinstance(exc, error):
                raise
            raise error(str(exc)) from None
    return out


def _untyped(raw: str) -> Any:
    low = raw.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    return parse_scalar(raw)


# ------------------------------------------------------------------------------------------ encoder
@dataclass(frozen=True)
class EncodedKnob:
    """How one knob becomes features.

    Attributes
    ----------
    name : str
    kind : {"number", "bool", "category"}
    levels : tuple of str
        The levels of a categorical knob (feature order); for a constant knob, its one value as text.
    log : bool
        A numeric knob enters as its logarithm (values must be positive).
    """

    name: str
    kind: str
    levels: tuple[str, ...] = ()
    log: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"knob {self.name!r}: encoding kind {self.kind!r} is not one of {', '.join(KINDS)}")
        object.__setattr__(self, "levels", tuple(str(v) for v in self.levels))
        if self.kind == "category" and (not self.levels or len(set(self.levels)) != len(self.levels)):
            raise ConfigError(f"knob {self.name!r}: a categorical encoding needs distinct levels")

    # -- one value
    def parse(self, raw: str) -> Any:
        """A value written as text, read by this knob's kind (a category's level as written)."""
        if self.kind == "bool":
            return parse_bool(raw, self.name)
        if self.kind == "number":
            value = parse_scalar(raw)
            if isinstance(value, str):
                raise ConfigError(f"knob {self.name!r} takes a number, got {_short(raw)}")
            return value
        return self.level_of(raw)

    def level_of(self, value: Any, *, error: type[Exception] = ConfigError, source: str | None = None) -> str:
        """The categorical level ``value`` names (a boolean spelling names the level of the same truth
        when the levels are on/off words), or ``error`` naming the known levels."""
        text = str(value).strip()
        if text in self.levels:
            return text
        if is_bool_word(value) and len(self.levels) <= 2 and all(is_bool_word(v) for v in self.levels):
            truth = parse_bool(value)
            for level in self.levels:
                if parse_bool(level) == truth:
                    return level
        where = f"{source}: " if source else ""
        raise error(f"{where}knob {self.name!r} has the level {_short(value)}, unseen when the model was fitted "
                    f"(known: {', '.join(self.levels)})")

    # -- columns
    @property
    def columns(self) -> list[str]:
        """Feature names: ``knob=level`` per level of a categorical knob, else the knob's name."""
        return [f"{self.name}={lev}" for lev in self.levels] if self.kind == "category" else [self.name]

    def encode(self, values: Sequence[Any], *, error: type[Exception] = ConfigError,
               source: str | None = None) -> np.ndarray:
        """Features of ``values`` (one row each): shape ``(n, len(columns))``.

        Each distinct value is read once (tables of many rows repeat few knob values).
        """
        where = f"{source}: " if source else ""
        if self.kind == "number" and getattr(getattr(values, "dtype", None), "kind", "") in "iuf":
            x = np.asarray(values, dtype=float)  # a numeric column: no value to read one by one
            if np.isnan(x).any():
                raise error(f"{where}knob {self.name!r} has a missing value")
            return self._scaled(x, error, where)
        codes, distinct = _factorize(values)
        for v in distinct:
            if _missing(v):
                raise error(f"{where}knob {self.name!r} has a missing value")
        if self.kind == "category":
            idx = {lev: j for j, lev in enumerate(self.levels)}
            col = np.array([idx[self.level_of(v, error=error, source=source)] for v in distinct], dtype=int)
            out = np.zeros((len(codes), len(self.levels)))
            out[np.arange(len(codes)), col[codes]] = 1.0
            return out
        if self.kind == "bool":
            try:
                truth = np.array([float(parse_bool(v, self.name)) for v in distinct])
            except ConfigError as exc:
                raise error(f"{where}{exc}") from None
            return truth[codes].reshape(len(codes), 1)
        number = np.array([_number(v) for v in distinct], dtype=float)
        bad = np.flatnonzero(np.isnan(number))
        if len(bad):
            raise error(f"{where}knob {self.name!r} is not numeric (e.g. {_short(distinct[bad[0]])})")
        return self._scaled(number[codes], error, where)

    def _scaled(self, x: np.ndarray, error: type[Exception], where: str) -> np.ndarray:
        if self.log:
            if np.any(x <= 0):
                raise error(f"{where}knob {self.name!r} is log-scaled and takes positive numbers, "
                            f"got {_short(float(x[np.flatnonzero(x <= 0)[0]]))}")
            x = np.log(x)
        return x.reshape(len(x), 1)

    def same_as_constant(self, value: Any) -> bool:
        """Whether ``value`` is this constant knob's one value (levels[0]) by the knob's kind."""
        const = self.levels[0]
        if self.kind == "bool":
            return parse_bool(value, self.name) == parse_bool(const, self.name)
        if self.kind == "number":
            a, b = _number(value), _number(const)
            return not math.isnan(a) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        try:
            self.level_of(value)
        except ConfigError:
            return False
        return True

    # -- persistence
    def to_dict(self, constant: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if constant:
            d["value"] = self.levels[0]
        elif self.kind == "category":
            d["levels"] = list(self.levels)
        if self.log:
            d["log"] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EncodedKnob:
        if not isinstance(d, Mapping) or "name" not in d or "kind" not in d:
            raise ConfigError("a knob encoding entry needs 'name' and 'kind'")
        levels = d.get("levels", [d["value"]] if "value" in d else [])
        return cls(str(d["name"]), str(d["kind"]), tuple(levels), bool(d.get("log", False)))


@dataclass(frozen=True)
class Encoding:
    """How a model's knob columns become numeric features (see the module docstring for the rules).

    Attributes
    ----------
    knobs : tuple of EncodedKnob
        The encoded knobs, in feature order.
    constants : tuple of EncodedKnob
        Knobs constant in the training rows (left out of the features), each with its one value.
    reference : bool
        Categorical knobs get one feature per level but the first (reference coding, for an unpenalised
        least-squares fit with an intercept) instead of one per level.
    """

    knobs: tuple[EncodedKnob, ...] = ()
    constants: tuple[EncodedKnob, ...] = ()
    reference: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "knobs", tuple(self.knobs))
        object.__setattr__(self, "constants", tuple(self.constants))
        names = [k.name for k in self.knobs + self.constants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"knob {dupes[0]!r} is encoded twice")

    # -- learning
    @classmethod
    def learn(cls, df: pd.DataFrame, knobs: Sequence[str], *, error: type[Exception] = ConfigError,
              log: Iterable[str] | str = (), reference: bool = False, source: str | None = None,
              space: Any = None) -> Encoding:
        """The encoding of ``knobs`` that the rows of ``df`` call for.

        ``space``: an optional :class:`~profiling.space.ConfigSpace` whose declared knob types win over what
        the column looks like (a :class:`~profiling.space.Boolean` knob is boolean even when its column holds
        on/off words). ``log``: numeric knobs to encode as logarithms, or ``"auto"``: those whose values in
        ``df`` :func:`log_scaled` calls a scale.
        """
        import pandas as pd

        auto = isinstance(log, str) and log == "auto"
        if isinstance(log, str) and not auto:
            raise ValueError(f"log={log!r}: give knob names or 'auto'")
        log = set() if auto else set(log)
        where = f"{source}: " if source else ""
        made: list[EncodedKnob] = []
        constants: list[EncodedKnob] = []
        for k in knobs:
            if k not in df.columns:
                raise error(f"{where}the data have no column for the knob {k!r}")
            col = df[k]
            if col.isna().any():
                raise error(f"{where}knob {k!r} has a missing value in row {int(np.flatnonzero(col.isna())[0]) + 1}")
            declared = space[k] if space is not None and k in space else None
            kind = _declared_kind(declared) if declared is not None else _column_kind(col, k, error, where)
            if kind == "category":
                levels = tuple(sorted(map(str, col.unique())))
            elif kind == "bool":
                levels = ()
                try:
                    truths = {parse_bool(v, k) for v in col.unique()}
                except ConfigError as exc:
                    raise error(f"{where}{exc}") from None
            if auto and kind == "number" and log_scaled(pd.to_numeric(col, errors="coerce").dropna().unique()):
                log.add(k)
            enc = EncodedKnob(k, kind, levels if kind == "category" else (), k in log)
            if kind == "number":
                enc.encode(col, error=error, source=source)  # numbers, positive when log-scaled
            distinct = truths if kind == "bool" else set(col.astype(str) if kind == "category"
                                                         else pd.to_numeric(col).astype(float))
            if len(distinct) <= 1:
                first = col.iloc[0]
                value = str(parse_bool(first, k)).lower() if kind == "bool" else str(first)
                constants.append(EncodedKnob(k, kind, (value,), enc.log))
            else:
                made.append(enc)
        return cls(tuple(made), tuple(constants), reference)

    @classmethod
    def from_space(cls, space: Any, *, reference: bool = False, log: Iterable[str] = ()) -> Encoding:
        """The encoding a :class:`~profiling.space.ConfigSpace` declares: integer, ordinal and continuous knobs
        as numbers (a log-scaled continuous knob, and the numeric knobs named in ``log``, as logarithms),
        booleans 0/1, categorical knobs one-hot; a knob with one level is a constant."""
        log = set(log)
        made: list[EncodedKnob] = []
        constants: list[EncodedKnob] = []
        for knob in space.knobs:
            kind = _declared_kind(knob)
            levels = tuple(knob.levels) if kind == "category" else ()
            if knob.name in log and kind != "number":
                raise ConfigError(f"knob {knob.name!r} is {knob.kind}: only a numeric knob can be log-scaled")
            enc = EncodedKnob(knob.name, kind, levels, bool(getattr(knob, "log", False)) or knob.name in log)
            if knob.levels is not None and len(knob.levels) == 1:
                value = knob.levels[0]
                constants.append(EncodedKnob(knob.name, kind, (str(value).lower() if kind == "bool" else
                                                               str(value),), enc.log))
            else:
                made.append(enc)
        return cls(tuple(made), tuple(constants), reference)

    # -- names
    @property
    def by_name(self) -> dict[str, EncodedKnob]:
        return {k.name: k for k in self.knobs + self.constants}

    @property
    def used(self) -> list[str]:
        """The knobs that enter the features."""
        return [k.name for k in self.knobs]

    def columns_of(self, knob: EncodedKnob) -> list[str]:
        cols = knob.columns
        return cols[1:] if self.reference and knob.kind == "category" else cols

    @property
    def names(self) -> list[str]:
        """Feature names, in order (``knob=level`` for a categorical knob's levels)."""
        return [c for k in self.knobs for c in self.columns_of(k)]

    # -- transforming
    def transform(self, df: pd.DataFrame | Mapping[str, Any], *, error: type[Exception] = ConfigError,
                  source: str | None = None) -> np.ndarray:
        """Features of the rows of ``df`` (a DataFrame, or one configuration as a mapping): ``(n, len(names))``.

        Every encoded knob must be a column; a constant knob's column is optional and, when given, checked.
        """
        rows = _columns(df, [k.name for k in self.knobs + self.constants])
        n = len(df) if not isinstance(df, Mapping) else 1
        where = f"{source}: " if source else ""
        for c in self.constants:
            if c.name not in rows:
                continue
            values = rows[c.name]
            for v in dict.fromkeys(map(_hashable, values.unique() if hasattr(values, "unique") else values)):
                if _missing(v) or c.same_as_constant(v):
                    continue
                if c.kind == "number":
                    warnings.warn(f"{where}knob {c.name!r} was {c.levels[0]} in every training row: {v} is "
                                  f"predicted as {c.levels[0]} (the model cannot tell what it changes)",
                                  stacklevel=3)
                else:
                    raise error(f"{where}knob {c.name!r} has the value {_short(v)}, unseen when the model was "
                                f"fitted (it was {c.levels[0]} in every training row)")
        parts = []
        for k in self.knobs:
            if k.name not in rows:
                raise error(f"{where}knob {k.name!r} is missing (the model was fitted across its values)")
            x = k.encode(rows[k.name], error=error, source=source)
            parts.append(x[:, 1:] if self.reference and k.kind == "category" else x)
        return np.hstack(parts) if parts else np.empty((n, 0))

    def frame(self, df: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        """:meth:`transform` as a DataFrame with the feature names as columns and ``df``'s index."""
        import pandas as pd

        return pd.DataFrame(self.transform(df, **kwargs), index=df.index, columns=self.names)

    # -- persistence
    def to_list(self) -> list[dict[str, Any]]:
        """The encoded knobs as JSON-ready dicts (``{"name", "kind"[, "levels"][, "log"]}``)."""
        return [k.to_dict() for k in self.knobs]

    def constants_list(self) -> list[dict[str, Any]]:
        return [k.to_dict(constant=True) for k in self.constants]

    @classmethod
    def from_list(cls, items: Sequence[Mapping[str, Any]], constants: Sequence[Mapping[str, Any]] = (),
                  reference: bool = False) -> Encoding:
        return cls(tuple(EncodedKnob.from_dict(d) for d in items),
                   tuple(EncodedKnob.from_dict(d) for d in constants or ()), reference)


# ------------------------------------------------------------------------------------------ helpers
def _declared_kind(knob: Knob) -> str:
    kind = getattr(knob, "kind", "")
    if kind == "boolean":
        return "bool"
    if kind == "categorical":
        return "category"
    return "number"


def _column_kind(col: pd.Series, name: str, error: type[Exception], where: str) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_numeric_dtype(col):
        return "number"
    text = col.astype(str).str.strip()
    if set(text.str.lower()) <= {"true", "false"}:
        return "bool"
    as_num = pd.to_numeric(text, errors="coerce")
    if as_num.notna().all():
        return "number"
    if as_num.notna().any():  # mostly numbers with a stray word: a typo, not a category
        raise error(f"{where}knob {name!r} is not numeric (e.g. {_short(col[as_num.isna().to_numpy()].iloc[0])})")
    return "category"


def _columns(df: Any, names: Sequence[str]) -> dict[str, Any]:
    """The values of the columns ``names`` that ``df`` (a DataFrame, or one configuration) holds."""
    if isinstance(df, Mapping):
        return {k: [df[k]] for k in names if k in df}
    return {c: df[c] for c in names if c in df.columns}


def _number(v: Any) -> float:
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return math.nan
    return math.nan


def _missing(v: Any) -> bool:
    """None, NaN, pandas' NA / NaT."""
    if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
        return True
    return type(v).__name__ in ("NAType", "NaTType")


def _hashable(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _factorize(values: Any) -> tuple[np.ndarray, list]:
    """Row codes and the distinct values they index (in order of appearance)."""
    import pandas as pd

    dtype = getattr(values, "dtype", None)
    if dtype is not None and dtype != object:  # one type per column: pandas' hashing cannot mix True and 1
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return np.asarray(codes), [_hashable(u) for u in uniques]
    vals = values.tolist() if hasattr(values, "tolist") else list(values)
    index: dict[tuple[type, Any], int] = {}
    distinct: list = []
    codes = np.empty(len(vals), dtype=int)
    for i, v in enumerate(vals):
        k = _key(v)
        j = index.get(k)
        if j is None:
            j = index[k] = len(distinct)
            distinct.append(k[1])
        codes[i] = j
    return codes, distinct


def _key(v: Any) -> tuple[type, Any]:
    """A dictionary key of a value that keeps True, 1 and 1.0 apart (they hash alike)."""
    v = _hashable(v)
    return type(v), v


def _short(value: Any) -> str:
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= 40 else text[:37] + "..."
