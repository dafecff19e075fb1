import numpy as np
import pytest
import torch

# Small, fast settings that every estimator test can start from.
TINY = dict(
    n_members=3, hidden_layer_sizes=(16,), lr=0.01, max_epochs=30, batch_size=32, random_state=0
)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed numpy's and torch's global generators before every test."""
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def tiny():
    """Keyword arguments for a small, fast deep ensemble."""
    return dict(TINY)


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
