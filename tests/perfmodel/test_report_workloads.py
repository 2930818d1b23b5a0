"""perfmodel.workloads: data shipped with packages, Keras models (TF part marked slow)."""

import numpy as np
import pytest

from perfmodel.errors import DataError
from perfmodel.workloads import co2_series, co2_windows, digits_images, load_workload


def test_digits_resized_keep_the_digit():
    x, y = digits_images(size=24, n=50)
    assert x.shape == (50, 24, 24, 1) and x.dtype == np.float32 and len(y) == 50
    assert 0 <= x.min() and x.max() <= 1
    from sklearn.datasets import load_digits
    small = load_digits().images[0] / 16
    # downsampling the resized image back to 8x8 gives about the original
    assert np.abs(x[0, 1::3, 1::3, 0] - small).mean() < 0.15


def test_co2_windows_predict_the_next_value():
    s = co2_series()
    assert not s.isna().any() and len(s) > 2000
    x, y = co2_windows(window=10)
    assert x.shape == (len(s) - 10, 10, 1)
    z = (s.to_numpy() - s.mean()) / s.to_numpy().std()
    assert np.allclose(x[5, :, 0], z[5:15], atol=1e-5) and y[5] == pytest.approx(z[15], abs=1e-5)


def test_bad_arguments():
    with pytest.raises(DataError, match="unknown workload 'text'"):
        load_workload("text")
    with pytest.raises(DataError, match="window"):
        co2_windows(window=1)
    with pytest.raises(DataError, match="size"):
        digits_images(size=4)
    w = load_workload("digits", n=10)
    with pytest.raises(DataError, match="batch size"):
        next(w.batches(0))
    assert [len(b) for b in w.batches(4)] == [4, 4, 2]


@pytest.mark.slow
@pytest.mark.tf
@pytest.mark.parametrize("name", ["digits", "co2"])
def test_models_run_inference(name):
    w = load_workload(name, n=8)
    model = w.build_model()
    out = model.predict(w.x, verbose=0)
    assert out.shape[0] == 8 and np.all(np.isfinite(out))
