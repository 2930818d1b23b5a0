"""The main job end to end on the local CPU (``make demo``).

1. profiles three networks layer by layer under two thread settings (real measurements on this machine);
2. profiles one network as a whole over a small Latin-hypercube design of software knobs;
3. exports the measurement table to CSV and prints a summary;
4. fits the layer-wise predictor on three networks and predicts a fourth it has not seen;
5. writes the report of what it measured on this CPU (``report/``: profile, prediction, decision);
6. writes a second report from the shipped NVIDIA H200 tables (``report-h200/``: real GPU power and energy,
   replayed from ``datasets/h200-torch/``, not measured on this machine), whose prediction section is the
   tables' model (``TableLayerwisePredictor`` fitted on the synthetic networks, both execution modes).

Everything goes under ``--out`` (default ``out/``). Re-running resumes from the store.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

LAYER_NETWORKS = ("tiny_cnn", "tiny_mobilenet", "mobilenet", "mobilenetv3small")
HELD_OUT = "mobilenetv3small"
LAYER_CONFIGS = ("threads=1", "threads=2")
DESIGN_NETWORK = "mobilenetv2"
DESIGN_KNOBS = "threads,batch,onednn"
H200_DIR = Path(__file__).resolve().parents[1] / "datasets" / "h200-torch"
H200_TABLES = ("eager.csv.gz", "graph.csv.gz")
H200_STD_FOLDS = 2  # the std's spread measured on networks left out of two folds (4, the default, takes twice as long)


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter is not for users
    ap = argparse.ArgumentParser(prog="perfmodel.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out", help="output folder (default: out)")
    ap.add_argument("--samples", type=int, default=6, help="configurations in the design (default 6)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    store = os.path.join(args.out, "demo.sqlite")
    from perfmodel.cli import main as cli

    t0 = time.monotonic()
    _step(f"1. layer-wise profile of {', '.join(LAYER_NETWORKS)} under {' / '.join(LAYER_CONFIGS)}")
    argv1 = ["profile", "--network", ",".join(LAYER_NETWORKS), "--level", "layer", "--store", store,
             "--campaign", "layers", "--quick"]
    for c in LAYER_CONFIGS:
        argv1 += ["--config", c]
    if cli(argv1) != 0:
        return 1

    _step(f"2. whole-network profile of {DESIGN_NETWORK} over an LHS design of {DESIGN_KNOBS}")
    if cli(["profile", "--network", DESIGN_NETWORK, "--level", "network", "--design", "lhs", "--samples",
            str(args.samples), "--knobs", DESIGN_KNOBS, "--config", "batch=1", "--store", store,
            "--campaign", "design", "--quick"]) != 0:
        return 1

    _step("3. export")
    table = os.path.join(args.out, "measurements.csv")
    if cli(["export", "--store", store, "-o", table]) != 0:
        return 1
    import pandas as pd

    df = pd.read_csv(table)
    whole = df[(df["view"] == "whole") & (df["status"] == "ok")]
    print(whole[["campaign", "network", "config", "runtime_s", "other_load", "contended"]].to_string(index=False))
    if whole["power_w"].isna().all():
        print(f"power/energy: {whole['power_sensor'].iloc[0]} (columns left empty)")

    _step("4. layer-wise predictor")
    model = _predict(df, args.out)

    _step("5. report of the measurements on this CPU")
    _report(df, model, args.out)

    _step("6. report of the shipped NVIDIA H200 measurements (replayed, with real GPU power and energy)")
    _report_h200(args.out)
    print(f"\ndemo finished in {time.monotonic() - t0:.0f} s; results in {os.path.abspath(args.out)}/")
    return 0


def _noted(call):
    """``call()``, its warnings printed as notes (once each) instead of as Python warnings."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    for msg in sorted({str(w.message) for w in caught}):
        print(f"  note: {msg}")
    return result


def _predict(df, out: str):
    from perfmodel.models.layerwise import LayerwisePredictor
    from profiling.networks import load_network

    layer_rows = df[df["campaign"] == "layers"]
    train = layer_rows[layer_rows["network"] != HELD_OUT]
    model = _noted(lambda: LayerwisePredictor().fit(train))
    path = os.path.join(out, "layerwise-model.json")
    model.save(path)
    _, spec = load_network(HELD_OUT)
    configs = [{"threads": 1, "batch": 1}, {"threads": 2, "batch": 1}]
    pred = _noted(lambda: model.predict(spec, configs))
    measured = layer_rows[(layer_rows["network"] == HELD_OUT) & (layer_rows["view"] == "whole")]
    seen = ", ".join(n for n in LAYER_NETWORKS if n != HELD_OUT)
    print(f"trained on {seen}; predicting {HELD_OUT}, which it has not seen:")
    for cfg, (_, p) in zip(configs, pred.iterrows()):
        m = measured[measured["threads"] == cfg["threads"]]["runtime_s"]
        meas = f"measured {m.iloc[0] * 1e3:.2f} ms ({p['runtime_s'] / m.iloc[0] - 1:+.0%})" if len(m) else "not measured"
        print(f"  threads={cfg['threads']}: predicted {p['runtime_s'] * 1e3:.2f} "
              f"+- {p['runtime_s_std'] * 1e3:.2f} ms (1 std), {meas}")
    if (pred["runtime_s_std"] > pred["runtime_s"]).any():
        print("  (the std is the error on each training network when it is left out and predicted by the others;\n"
              "   with three networks, one left out takes layer types the others lack, hence a std this wide)")
    print("  (three small training networks: a smoke test; accuracy figures are in docs/models.md)")
    print(f"model saved to {path}")
    return model


def _report(df, model, out: str) -> None:
    import warnings

    from perfmodel.reports import write_report

    t0 = time.monotonic()
    design = df[(df["campaign"] == "design") & (df["status"] == "ok")].copy()
    design["onednn"] = design["onednn"].astype(int)
    seen = ", ".join(n for n in LAYER_NETWORKS if n != HELD_OUT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report says what it could not compute
        paths = write_report(design, knobs=DESIGN_KNOBS.split(","), objectives=["runtime_s"],
                             out_dir=os.path.join(out, "report"), source="measured:cpu (this machine, make demo)",
                             title=f"This CPU: {len(LAYER_NETWORKS)} networks layer by layer, {DESIGN_NETWORK} over "
                                   "threads, batch, oneDNN",
                             profile_table=df, model=model,
                             model_label=f"layerwise-model.json (fitted in step 4 on {seen})")
    print(f"report written: {paths['html']} (also report.md, equations.json; {time.monotonic() - t0:.0f} s)")


def _report_h200(out: str) -> None:
    """The report of the shipped H200 tables: real measurements, replayed (labelled so in the report)."""
    import warnings

    from perfmodel.reports import write_report
    from perfmodel.tables import read_table

    import pandas as pd

    from perfmodel.models.table_layerwise import TableLayerwisePredictor

    missing = [name for name in H200_TABLES if not (H200_DIR / name).is_file()]
    if missing:  # an installation without the repository's datasets/ folder
        print(f"H200 report skipped: {H200_DIR / missing[0]} is not there (it ships with the repository)")
        return
    t0 = time.monotonic()
    os.makedirs(out, exist_ok=True)
    tables = {name: read_table(H200_DIR / name, allow_nan_objectives=True) for name in H200_TABLES}
    table = pd.concat(list(tables.values()), ignore_index=True)
    # the model of these tables (TableLayerwisePredictor: unit models, composition, network correction and power
    # per execution mode) learns the synthetic networks of both tables and predicts the application networks it
    # never saw, in CUDA-graph and eager mode, compared with their measurements
    train = table[table["network"].astype(str).str.startswith("synthetic")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TableLayerwisePredictor(std_folds=H200_STD_FOLDS).fit(train)
        model.save(os.path.join(out, "layerwise-model-h200.json"))
        t_fit = time.monotonic() - t0
        paths = write_report(table, knobs=["batch", "cuda_graph"], objectives=["runtime_s", "energy_j"],
                             out_dir=os.path.join(out, "report-h200"),
                             source="replayed measurements from an NVIDIA H200 (datasets/h200-torch: measured "
                                    "2026-12-04 with this project's PyTorch executor and NVML sensor; replayed "
                                    "here, not measured on this machine)",
                             title="Replayed: NVIDIA H200 measurements (43 networks, batch 1/8/64, CUDA graphs "
                                   "on/off, board power and energy)",
                             model=model, model_table=table,
                             model_label=f"layerwise-model-h200.json (fitted here on "
                                         f"{len(model.trained_networks())} synthetic networks of both tables)")
    print(f"report written: {paths['html']} (model fitted in {t_fit:.0f} s, report {time.monotonic() - t0 - t_fit:.0f}"
          " s; replayed H200 measurements, real GPU power and energy)")


if __name__ == "__main__":
    sys.exit(main())
