import pytest

from profiling.errors import SpecError
from profiling.networks import canonical_name, check_network, load_network

pytestmark = pytest.mark.tf


def test_names_are_normalised():
    assert canonical_name("MobileNet_V2") == "mobilenetv2"
    assert check_network("ResNet50") == "resnet50"


def test_unknown_network_suggests_close_names():
    with pytest.raises(SpecError, match="unknown network 'resnet5'.*resnet50"):
        check_network("resnet5")


def test_missing_and_wrong_model_files(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        check_network(str(tmp_path / "m.keras"))
    bad = tmp_path / "m.keras"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(SpecError, match="cannot load model"):
        load_network(str(bad))
    h5 = tmp_path / "m.h5"
    h5.write_bytes(b"x")
    with pytest.raises(SpecError, match="not a .keras file"):
        check_network(str(h5))


def test_builtin_spec_matches_keras_parameter_count():
    model, spec = load_network("tiny_resnet")
    assert spec.params() == model.count_params()
    add = spec.layer("b0_add")
    assert add.type == "add" and set(add.inputs) == {"stem", "b0_conv2"}
    assert spec.layer("cat").type == "concat"


def test_saved_model_round_trip(tmp_path):
    model, spec = load_network("tiny_cnn")
    path = tmp_path / "mine.keras"
    model.save(path)
    _, spec2 = load_network(str(path))
    assert spec2.name == "mine"
    assert [layer.type for layer in spec2.layers] == [layer.type for layer in spec.layers]
    assert spec2.flops() == spec.flops()


def test_application_flops_are_in_the_published_range():
    # ResNet50 at 224x224 is ~3.9-4.1 GMACs, i.e. 7.7-8.2 GFLOPs with a multiply-add counted as 2.
    _, spec = load_network("resnet50")
    assert 7.5e9 < spec.flops() < 8.3e9
    assert spec.summary()["types"]["conv2d"] == 53
