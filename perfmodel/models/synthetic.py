"""Deprecated alias of :mod:`profiling.simulated` (simulated measurement tables are test data, not a model).

Importing this module warns; it will be removed one release after 2026-12. Use
``from profiling.simulated import synthetic_table, random_network, SOURCE``.
"""

import warnings

from profiling.simulated import SOURCE, random_network, synthetic_table

__all__ = ["random_network", "synthetic_table", "SOURCE"]

warnings.warn("perfmodel.models.synthetic is deprecated: import synthetic_table / random_network from "
              "profiling.simulated", DeprecationWarning, stacklevel=2)
