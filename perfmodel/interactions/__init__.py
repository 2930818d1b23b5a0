"""Interaction equations: which knobs drive an objective, and how they interact, in symbols.

>>> from perfmodel.interactions import fit_equation   # doctest: +SKIP
>>> m = fit_equation(df, ["core_freq", "gpu_freq"], "runtime_s")  # doctest: +SKIP
>>> print(m.text()); m.terms_; m.effects_               # doctest: +SKIP

See :class:`InteractionModel` for the method (CV degree, LassoCV selection, statsmodels OLS refit).
"""

from .design import KnobEncoding, Monomials, encode_knobs, monomials
from .model import InteractionModel, fit_equation

__all__ = ["InteractionModel", "fit_equation", "KnobEncoding", "Monomials", "encode_knobs", "monomials"]
