import pytest
import torch

from skens.utils import resolve_device
from tests.conftest import requires_cuda


def test_auto_picks_what_is_available():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cpu():
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize("bad", ["tpu", "gpu0", "cuda:x", ""])
def test_unknown_devices_are_rejected(bad):
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")


@requires_cuda
def test_cuda_device_index_out_of_range():
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")
