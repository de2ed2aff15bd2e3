"""Shared test settings: a hypothesis profile that keeps CI fast, and the shared-data path."""
import os
import pathlib

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def fashion_mnist_dir():
    """The real Fashion-MNIST files beside the checkout; the test skips cleanly without them."""
    path = SHARED_DATA / "fashion-mnist"
    if not (path / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/fashion-mnist is not present")
    return path
