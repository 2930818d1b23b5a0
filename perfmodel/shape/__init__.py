"""Shape_DNN: choose the depth and width of a wide ResNet under size, latency, energy and
accuracy requirements, training only a fraction of the shapes and predicting the accuracy of the rest.

>>> from perfmodel.shape import ShapeSpace, DigitsTrainer, MeasuredCosts, Constraints, shape_search
>>> res = shape_search(ShapeSpace.parse("10:23:6", "1/4:5/4:1/4"), DigitsTrainer(epochs=3),
...                    MeasuredCosts(), constraints=Constraints(max_latency_s=0.01))  # doctest: +SKIP

TensorFlow loads only when a network is built or trained.
"""

from .accuracy import FEATURE_NAMES, InversePolynomialAccuracy, inverse_features
from .costs import CostPredictor, LayerwiseCosts, MeasuredCosts
from .generator import BuiltNetwork, build, build_wide_resnet, channels, count_params, size_bytes
from .search import GOALS, Constraints, SearchResult, shape_search
from .space import PRESETS, Shape, ShapeSpace
from .strategies import MODELLING, SAMPLING, n_to_train, select
from .training import DigitsTrainer, load_digits_split

__all__ = [
    "FEATURE_NAMES", "InversePolynomialAccuracy", "inverse_features", "CostPredictor", "LayerwiseCosts",
    "MeasuredCosts", "BuiltNetwork", "build", "build_wide_resnet", "channels", "count_params", "size_bytes",
    "GOALS", "Constraints", "SearchResult", "shape_search", "PRESETS", "Shape", "ShapeSpace", "MODELLING",
    "SAMPLING", "n_to_train", "select", "DigitsTrainer", "load_digits_split",
]
