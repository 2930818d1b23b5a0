"""Synthetic measurement tables with known equations, shared by the report tests."""

import itertools

import numpy as np
import pandas as pd


def synthetic_table(seed: int = 0, noise: float = 0.02) -> pd.DataFrame:
    """Two networks on a 4 x 4 x 3 grid of (threads, freq, batch) with known runtime and power equations.

    runtime_s = 0.5 + 0.25 * freq_ghz * batch + 0.03 * threads**2 (+ 0.3 for "big")
    power_w   = 2 + 1.5 * freq_ghz + 0.4 * threads * freq_ghz
    """
    rng = np.random.default_rng(seed)
    rows = []
    for net, extra in (("small", 0.0), ("big", 0.3)):
        for t, f, b in itertools.product((1, 2, 3, 4), (0.6, 1.0, 1.4, 1.8), (1, 2, 4)):
            rows.append({"network": net, "threads": t, "freq_ghz": f, "batch": b,
                         "runtime_s": 0.5 + 0.25 * f * b + 0.03 * t**2 + extra + rng.normal(0, noise),
                         "power_w": 2 + 1.5 * f + 0.4 * t * f + rng.normal(0, noise)})
    df = pd.DataFrame(rows)
    df["energy_j"] = df.runtime_s * df.power_w
    return df
