import pytest
import torch

from skens.nn import FastDropout


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_fast_dropout_rate_and_scale(p):
    out = FastDropout(p)(torch.ones(400_000))
    assert abs(float((out == 0).float().mean()) - p) < 0.005
    kept = out[out != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - p)))


def test_fast_dropout_masks_are_independent_per_element():
    out = FastDropout(0.5)(torch.ones(4, 10_000))
    masks = (out != 0).float()
    # Rows are independent masks: their agreement is about 1/2, not 1.
    agreement = (masks[0] == masks[1]).float().mean()
    assert 0.45 < float(agreement) < 0.55


def test_fast_dropout_is_reproducible_under_a_seed():
    torch.manual_seed(3)
    a = FastDropout(0.2)(torch.ones(100))
    torch.manual_seed(3)
    b = FastDropout(0.2)(torch.ones(100))
    torch.testing.assert_close(a, b)


def test_fast_dropout_gradient_uses_the_mask():
    x = torch.ones(1000, requires_grad=True)
    out = FastDropout(0.5)(x)
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())


def test_fast_dropout_identity_in_eval_and_p_zero():
    x = torch.randn(10)
    torch.testing.assert_close(FastDropout(0.5).eval()(x), x)
    torch.testing.assert_close(FastDropout(0.0)(x), x)


def test_fast_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        FastDropout(1.0)
