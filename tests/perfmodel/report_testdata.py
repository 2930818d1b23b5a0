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


# layer runtimes (s) at threads=1, batch=1: known shares per type; threads=2 halves every time, batch=4 doubles it
LAYERS = {"neta": [("conv1", "conv2d", 0.003), ("bn1", "batch_norm", 0.001), ("relu1", "activation", 0.0005)],
          "netb": [("conv1", "conv2d", 0.002), ("dw1", "depthwise_conv2d", 0.002), ("fc", "dense", 0.001)]}
WHOLE_OVER_SUM = 1.1      # whole network = 1.1 x the sum of its in-place layers
ISOLATED_OVER_INPLACE = 1.5
FLOPS = {"neta": 2e9, "netb": 1e9}


def profile_table(power: bool = True) -> pd.DataFrame:
    """A measurement table as 'perfmodel export' writes it: whole-network rows and inplace/isolated layer rows of
    two networks over threads x batch, every in-place layer measured twice (0.9x and 1.1x its time)."""
    rows = []
    for net, layers in LAYERS.items():
        for threads, batch in itertools.product((1, 2), (1, 4)):
            f = (0.5 if threads == 2 else 1.0) * (2.0 if batch == 4 else 1.0)
            config = f"threads={threads},batch={batch}"
            base = {"source": "simulated:test", "network": net, "threads": threads, "batch": batch, "config": config,
                    "status": "ok"}
            total = sum(t for _, _, t in layers) * f
            power_w = 10.0 + 5 * threads if power else np.nan
            rows.append({**base, "level": "network", "view": "whole", "layer": "", "layer_type": "",
                         "runtime_s": total * WHOLE_OVER_SUM, "flops": FLOPS[net], "power_w": power_w,
                         "energy_j": power_w * total * WHOLE_OVER_SUM})
            for name, kind, t in layers:
                for rep in (0.9, 1.1):
                    rows.append({**base, "level": "layer", "view": "inplace", "layer": name, "unit": name,
                                 "layer_type": kind, "runtime_s": t * f * rep, "flops": 1e8, "power_w": np.nan,
                                 "energy_j": np.nan})
                rows.append({**base, "level": "layer", "view": "isolated", "layer": name, "unit": name,
                             "layer_type": kind, "runtime_s": t * f * ISOLATED_OVER_INPLACE, "flops": 1e8,
                             "power_w": np.nan, "energy_j": np.nan})
    rows.append({"source": "simulated:test", "network": "neta", "config": "threads=1,batch=1", "status": "failed",
                 "level": "network", "view": "whole", "runtime_s": np.nan, "threads": 1, "batch": 1})
    return pd.DataFrame(rows)
