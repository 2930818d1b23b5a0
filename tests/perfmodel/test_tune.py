"""PowerML cost-aware tuning: weights, objective, NumPy proxy workload, study loop."""

import math

import numpy as np
import pytest

from perfmodel.cli import main
from perfmodel.errors import ConfigError
from perfmodel.shape import numpy_workload as nw
from perfmodel.tune import check_weights, load_data, powerml_cost, search_space, select_energy_source


@pytest.mark.parametrize("a,b", [(0.7, 0.5), (-0.1, 0.2), (0.2, float("nan")), (1.0, 0.01)])
def test_bad_weights_are_refused(a, b):
    with pytest.raises(ConfigError, match="alpha|beta"):
        check_weights(a, b)


def test_objective_is_seed_003_eq_2_6():
    assert check_weights(0.5, 0.2) == pytest.approx(0.3)
    assert check_weights(0.5, 0.5) == 0.0
    assert powerml_cost(2.0, 3.0, 0.9, 0.5, 0.2) == pytest.approx(0.5 * 4 + 0.2 * 9 - 0.3 * 0.9)
    assert powerml_cost(1.0, 1.0, 1.0, 0.0, 0.0) == -1.0  # accuracy only


def test_search_spaces_follow_seed_003():
    d, c = search_space("dffr"), search_space("cnn")
    assert d.names == ("layers", "width", "batch_size") and d.size == 10 * 20 * 127
    assert c.names == ("layers", "filters", "kernel", "batch_size") and c.size == 10 * 5 * 10 * 127
    with pytest.raises(ConfigError, match="kind"):
        search_space("rnn")


def test_data_like_mnist_small():
    xtr, ytr, xte, yte = load_data()
    assert xtr.shape == (100, 8, 8, 1) and xte.shape == (100, 8, 8, 1)
    assert set(ytr) == {0, 1} and xtr.max() <= 1.0
    with pytest.raises(ConfigError):
        load_data(1000, 1000)


def _numeric_grad(f, p, eps=1e-5):
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        old = p[i]
        p[i] = old + eps
        up = f()
        p[i] = old - eps
        down = f()
        p[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def test_numpy_workload_learns_and_its_conv_matches_a_direct_convolution():
    rng = np.random.default_rng(0)
    x = rng.random((3, 5, 5, 2))
    W = rng.normal(size=(4, 4, 2, 3))  # even kernel: TF 'same' pads one more after
    got = nw._im2col(x, 4) @ W.reshape(-1, 3)
    xp = np.pad(x, ((0, 0), (1, 2), (1, 2), (0, 0)))
    ref = np.einsum("nhwijc,ijcf->nhwf",
                    np.stack([np.stack([xp[:, i:i + 5, j:j + 5] for j in range(4)], 3) for i in range(4)], 3), W)
    assert np.allclose(got.reshape(3, 5, 5, 3), ref)
    # one epoch of the NumPy training lowers the loss of a small CNN on digits 0/1
    xtr, ytr, _, _ = load_data()
    params = [rng.normal(0, 0.3, (3, 3, 1, 2)).astype(np.float32), np.zeros(2, np.float32),
              rng.normal(0, 0.1, (128, 2)).astype(np.float32), np.zeros(2, np.float32)]

    def loss(ps):
        p = nw.forward("cnn", ps, xtr)
        return -np.log(p[np.arange(len(ytr)), ytr] + 1e-9).mean()

    before = loss(params)
    for _ in range(3):
        nw.train_epoch("cnn", params, xtr, ytr, batch_size=10, lr=1e-2)
    assert loss(params) < before


def test_numpy_workload_gradients_are_right():
    rng = np.random.default_rng(1)
    x = rng.random((4, 3, 3, 1))
    y = np.array([0, 1, 1, 0])
    params = [rng.normal(0, 0.5, (2, 2, 1, 2)), np.zeros(2), rng.normal(0, 0.5, (18, 2)), np.zeros(2)]

    def loss():
        p = nw.forward("cnn", params, x)
        return -np.log(p[np.arange(4), y]).mean()

    # One Adam step from zero moments moves each weight by about -lr * sign(gradient).
    num = [_numeric_grad(loss, p) for p in params]
    new = [p.copy() for p in params]
    nw.train_epoch("cnn", new, x, y, batch_size=4, lr=1e-4)
    for p, q, g in zip(params, new, num):
        big = np.abs(g) > 1e-3
        assert np.all(np.sign(p - q)[big] == np.sign(g)[big])


@pytest.mark.tf
def test_numpy_forward_matches_keras():
    from perfmodel.tune import build_network

    xtr, *_ = load_data()
    for kind, cfg in (("dffr", {"layers": 2, "width": 5}), ("cnn", {"layers": 2, "filters": 2, "kernel": 4})):
        m = build_network(kind, cfg, num_classes=2)
        ref = m.predict(xtr[:20], verbose=0)
        got = nw.forward(kind, [w.astype(np.float64) for w in m.get_weights()], xtr[:20].astype(np.float64))
        assert np.allclose(got, ref, atol=1e-4)


class FakeEnergy:
    source = "fake:params"
    unit = "units"

    def costs(self, net, fit):
        fit()
        p = net.model.count_params()
        return 2.0 * p * (1 + 1 / net.config["batch_size"]), float(p)


@pytest.mark.slow
@pytest.mark.tf
def test_tune_normalises_by_the_first_iteration_and_records_the_source():
    from perfmodel.tune import tune

    r = tune("dffr", 0.3, 0.2, n_iter=3, energy=FakeEnergy(), epochs=1, n_init=2, data=load_data(20, 20))
    h = r.history
    assert len(h) == 3 and h["train_cost"].iloc[0] == 1.0 and h["infer_cost"].iloc[0] == 1.0
    for row in h.itertuples():
        assert math.isclose(row.cost, 0.3 * row.train_cost**2 + 0.2 * row.infer_cost**2 - 0.5 * row.score)
    assert (h["source"] == "fake:params").all() and r.to_dict()["cost_source"] == "fake:params"
    assert r.best["cost"] == h["cost"].min()


def test_energy_source_selection_without_sensor_or_model():
    import shutil

    with pytest.raises(ConfigError, match="needs a layer-wise model file") as info:
        select_energy_source("predicted")
    assert info.value.param == "model"
    if shutil.which("valgrind"):
        assert select_energy_source("auto").source in ("proxy:cachegrind",) or \
            select_energy_source("auto").source.startswith("measured:")


def test_cli_refuses_weights_above_one(capsys):
    assert main(["tune", "--alpha", "0.7", "--beta", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "alpha + beta" in err and "exceeds 1" in err
    assert main(["tune", "--alpha", "-0.1"]) == 2
    assert "alpha must be" in capsys.readouterr().err


def test_workload_script_phases_run_in_process():
    rng = np.random.default_rng(0)
    shapes = [[64, 3], [3], [3, 2], [2]]
    flat = np.concatenate([rng.normal(size=int(np.prod(s))) for s in shapes]).astype(np.float32)
    xtr, ytr, xte, _ = load_data(20, 20)
    arrays = {"params": flat, "x_train": xtr, "y_train": ytr, "x_test": xte}
    assert [p.shape for p in nw.unflatten(flat, shapes)] == [(64, 3), (3,), (3, 2), (2,)]
    for phase in ("none", "infer", "train"):
        nw.run({"kind": "dffr", "shapes": shapes, "batch_size": 4, "phase": phase, "repeats": 2}, arrays)
    with pytest.raises(SystemExit):
        nw.run({"kind": "dffr", "shapes": shapes, "phase": "bogus"}, arrays)


@pytest.mark.slow
@pytest.mark.tf
def test_proxy_costs_grow_with_the_network():
    import shutil

    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    from perfmodel.tune import Net, ProxyEnergy, build_network

    proxy = ProxyEnergy(infer_repeats=2)
    data = load_data(20, 20)
    out = {}
    for cfg in ({"layers": 1, "width": 2, "batch_size": 10}, {"layers": 6, "width": 20, "batch_size": 10}):
        m = build_network("dffr", cfg, num_classes=2)
        out[cfg["layers"]] = proxy.costs(Net("dffr", cfg, m, data, 1), lambda: None)
    assert all(v > 0 for pair in out.values() for v in pair)
    assert out[6][0] > out[1][0] and out[6][1] > out[1][1]
    assert proxy.source == "proxy:cachegrind"


class _WorkCounter:
    """A fake energy counter that the work drives: training adds 5 J, one inference pass 2 J."""

    name, has_energy_counter, proxy = "work", True, False

    def __init__(self, fail=False):
        self.total, self.fail, self.reads = 0.0, fail, 0

    def availability(self):
        return True, ""

    def read_energy_j(self):
        self.reads += 1
        if self.fail and self.reads == 2:  # the read that closes the training window fails
            raise OSError(5, "Input/output error")
        return {"total": self.total}

    def energy_wrap_j(self):
        return {}


def test_sensor_energy_is_the_energy_of_one_training_and_one_inference_pass():
    from types import SimpleNamespace

    from perfmodel.errors import OptimisationError
    from perfmodel.tune import SensorEnergy

    for sensor in (_WorkCounter(), _WorkCounter(fail=True)):
        def predict(x, batch_size, verbose, sensor=sensor):
            sensor.total += 2.0

        def fit(sensor=sensor):
            sensor.total += 5.0

        net = SimpleNamespace(model=SimpleNamespace(predict=predict), data=(None, None, np.zeros(3)), infer_batch=1)
        if not sensor.fail:
            assert SensorEnergy(sensor).costs(net, fit) == (pytest.approx(5.0), pytest.approx(2.0))
        else:  # a read that fails is no reading: never filled in
            with pytest.raises(OptimisationError, match="no energy reading"):
                SensorEnergy(sensor).costs(net, fit)


def test_cli_refuses_a_config_no_model_reads(capsys):
    # --config sets the configuration a layer-wise model predicts for; the proxy (or a sensor) measures this
    # machine as it is, so the setting would be silently ignored
    assert main(["tune", "--config", "threads=2", "--iters", "1", "--cost-source", "proxy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--config applies to --model predictions; the cost source here is proxy:cachegrind" in err
