# Run from a checkout of commit 14d021c (before the one encoding): PYTHONPATH=<that checkout> python make_old_models.py tests/perfmodel/data
"""Writes model files with the code before the one encoding (run from a checkout of 14d021c)."""
import json, sys, warnings
import numpy as np, pandas as pd
from perfmodel.models import ConfigModel, LayerwisePredictor
from perfmodel.models.synthetic import synthetic_table, random_network
out = sys.argv[1]
rng = np.random.default_rng(0)
n = 30
df = pd.DataFrame({"freq": rng.choice([0.5, 1.0, 1.5, 2.0], n), "mode": rng.choice(["eco", "fast"], n),
                   "xla": rng.choice(["true", "false"], n), "const": 5})
df["runtime_s"] = 1.0 / df.freq * np.where(df["mode"] == "fast", 0.7, 1.0) * np.where(df.xla == "true", 0.9, 1.0) \
    * np.exp(rng.normal(0, 0.02, n))
m = ConfigModel(model="polynomial", knobs=["freq", "mode", "xla", "const"], target="runtime_s").fit(df)
m.save(f"{out}/old_config_model.json")
probe = df.head(6)
json.dump({"rows": probe.to_dict(orient="list"), "pred": m.predict(probe).tolist()},
          open(f"{out}/old_config_model_pred.json", "w"), indent=1)
table = synthetic_table(n_networks=4, seed=3)
lw = LayerwisePredictor(model="polynomial", std_folds=0).fit(table)
lw.save(f"{out}/old_layerwise_model.json")
net = random_network(np.random.default_rng(7), "user_net", n_blocks=4, hw=32)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    p = lw.predict(net, [{"threads": 2, "batch": 1}, {"threads": 1, "batch": 2}])
net.to_csv(f"{out}/old_layerwise_probe_net.csv", index=False)
json.dump({"configs": [{"threads": 2, "batch": 1}, {"threads": 1, "batch": 2}],
           "runtime_s": p["runtime_s"].tolist()}, open(f"{out}/old_layerwise_model_pred.json", "w"), indent=1)
