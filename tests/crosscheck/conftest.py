"""Import disentanglement_lib 1.5's metric modules without TensorFlow.

They import ``gin.tf`` (which needs TF) but only use ``gin.configurable``/``gin.REQUIRED``, so an
empty ``gin.tf`` module suffices; gin-config 0.4 keeps the ``blacklist`` keyword they use. Bindings
follow the study configs: 20-bin histogram discretiser, prune threshold 0.05.
"""

import sys
import types

import pytest

gin = pytest.importorskip("gin", reason="crosscheck needs gin-config 0.4 (tox installs it)")
if "gin.tf" not in sys.modules:
    stub = types.ModuleType("gin.tf")
    sys.modules["gin.tf"] = stub
    gin.tf = stub
pytest.importorskip("disentanglement_lib", reason="crosscheck needs disentanglement-lib==1.5 (installed --no-deps by tox)")

from disentanglement_lib.evaluation.metrics import factor_vae as _dlib_fvae  # noqa: E402,F401  (registers prune_dims)
from disentanglement_lib.evaluation.metrics import utils as _dlib_utils  # noqa: E402,F401

gin.parse_config(
    "discretizer.discretizer_fn = @histogram_discretizer\n"
    "discretizer.num_bins = 20\n"
    "prune_dims.threshold = 0.05\n"
)
