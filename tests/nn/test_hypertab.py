"""HyperTabNetwork: fixed feature masks, a hypernetwork, batched target networks."""

import copy
import io
import pickle

import pytest
import torch
import torch.nn.functional as F

from skens.nn import GaussianHyperTabNetwork, HyperTabNetwork, draw_feature_masks


def _net(in_features=10, out_features=3, n_members=6, seed=0, **params):
    return HyperTabNetwork(
        in_features, out_features, n_members,
        generator=torch.Generator().manual_seed(seed), **params,
    )


@pytest.mark.parametrize(
    "in_features, subsample, k",
    [(10, 0.5, 5), (7, 0.5, 3), (1, 0.5, 1), (3, 0.2, 1), (4, 1.0, 4), (30, 0.8, 24)],
)
def test_masks_select_exactly_k_features(in_features, subsample, k):
    net = _net(in_features, subsample=subsample, n_members=20)
    assert net.n_selected == k
    assert net.masks.dtype == torch.bool and net.masks.shape == (20, in_features)
    assert (net.masks.sum(dim=1) == k).all()
    # The index lists the selected columns in increasing order.
    assert net.feature_index.shape == (20, k)
    for mask, index in zip(net.masks, net.feature_index):
        assert index.tolist() == mask.nonzero()[:, 0].tolist()


def test_draw_feature_masks_is_uniform_and_checked():
    masks = draw_feature_masks(4000, 5, 2, generator=torch.Generator().manual_seed(0))
    # Each feature is selected with probability 2/5.
    torch.testing.assert_close(masks.float().mean(0), torch.full((5,), 0.4), atol=0.03, rtol=0)
    with pytest.raises(ValueError, match="n_selected"):
        draw_feature_masks(2, 5, 0)
    with pytest.raises(ValueError, match="n_selected"):
        draw_feature_masks(2, 5, 6)


def test_masks_are_reproducible_with_a_generator():
    a, b, c = _net(seed=3), _net(seed=3), _net(seed=4)
    assert torch.equal(a.masks, b.masks)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.masks, c.masks)


def test_masks_survive_to_deepcopy_and_pickle():
    net = _net().eval()
    x = torch.randn(8, 10)
    masks, out = net.masks.clone(), net(x)
    moved = copy.deepcopy(net).to(torch.float64).to("cpu").to(torch.float32)
    assert torch.equal(moved.masks, masks)
    assert "masks" in net.state_dict() and "feature_index" in net.state_dict()
    loaded = pickle.loads(pickle.dumps(net))
    assert torch.equal(loaded.masks, masks)
    torch.testing.assert_close(loaded(x), out)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    other = _net(seed=99).eval()
    other.load_state_dict(torch.load(buffer))
    assert torch.equal(other.masks, masks)
    torch.testing.assert_close(other(x), out)


def test_output_shapes_and_member_subsets():
    net = _net().eval()
    x = torch.randn(8, 10)
    out = net(x)
    assert out.shape == (8, 6, 3)
    torch.testing.assert_close(net(x, members=[4, 1]), out[:, [4, 1]])
    torch.testing.assert_close(net(x, members=torch.tensor([2])), out[:, [2]])
    with net.restrict_members([5, 0]):
        torch.testing.assert_close(net(x), out[:, [5, 0]])
    assert net._active is None
    # Member-specific rows: one mini-batch per evaluated member.
    xs = torch.randn(6, 8, 10)
    specific = net(xs)
    assert specific.shape == (8, 6, 3)
    for m in range(6):
        torch.testing.assert_close(specific[:, m], net(xs[m], members=[m])[:, 0])
    torch.testing.assert_close(net(xs[:2], members=[3, 4])[:, 1], net(xs[1], members=[4])[:, 0])
    with pytest.raises(ValueError, match="Member-specific"):
        net(xs[:3])
    with pytest.raises(ValueError, match="members must be"):
        net(x, members=[6])
    with pytest.raises(ValueError, match="members must be"):
        net(x, members=[])


def test_forward_matches_the_reference_target_network():
    """Each member is the reference's InsertableNet on ``x[:, mask]``."""
    net = _net(hidden_dims=(7, 5)).eval()
    x = torch.randn(8, 10)
    out = net(x)
    weights = net.generate_weights(net.masks)
    assert weights.shape == (6, net.n_target_weights)
    assert net.target_shapes == [(5, 7), (7, 5), (5, 3)]
    for m in range(6):
        h, offset = x[:, net.masks[m]], 0
        for i, (d_in, d_out) in enumerate(net.target_shapes):
            w = weights[m, offset : offset + d_in * d_out].reshape(d_out, d_in)
            b = weights[m, offset + d_in * d_out : offset + d_in * d_out + d_out]
            offset += d_in * d_out + d_out
            h = F.linear(h, w, b)
            if i < len(net.target_shapes) - 1:
                h = F.relu(h)
        torch.testing.assert_close(out[:, m], h)


def test_hypernetwork_follows_the_reference_layout():
    net = _net()
    layers = list(net.hypernetwork)
    kinds = [type(layer).__name__ for layer in layers]
    # Linear(d,128) ReLU Linear(128,64) ReLU Linear(64,64) Linear(64,P), as in the reference.
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Linear"]
    assert layers[0].in_features == 10 and layers[-1].out_features == net.n_target_weights
    # One hidden layer of 10: 5*10+10 + 10*3+3.
    assert net.n_target_weights == 93


def test_members_differ_and_weights_depend_on_the_mask():
    net = _net(n_members=8).eval()
    x = torch.randn(16, 10)
    out = net(x)
    for i in range(8):
        for j in range(i + 1, 8):
            if not torch.equal(net.masks[i], net.masks[j]):
                assert not torch.allclose(out[:, i], out[:, j])
    w = net.generate_weights(net.masks)
    assert not torch.allclose(w[0], w[1])
    # Changing one mask bit changes the generated weights; the same mask, the same weights.
    mask = net.masks[:1].clone()
    flipped = mask.clone()
    flipped[0, 0] = ~flipped[0, 0]
    assert not torch.allclose(net.generate_weights(mask), net.generate_weights(flipped))
    torch.testing.assert_close(net.generate_weights(mask), w[:1])


def test_gradients_reach_only_the_hypernetwork_through_the_evaluated_mask():
    net = _net()
    loss = net(torch.randn(8, 10), members=[2]).sum()
    loss.backward()
    first = net.hypernetwork[0].weight.grad
    # The first layer's input is the mask: only its selected columns get a gradient.
    assert torch.equal(first.abs().sum(0) > 0, net.masks[2])


def test_keep_members():
    net = _net().eval()
    x = torch.randn(8, 10)
    out = net(x)
    sub = copy.deepcopy(net).keep_members([3, 1])
    assert sub.n_members == 2 and sub.masks.shape == (2, 10)
    torch.testing.assert_close(sub(x), out[:, [3, 1]])
    sub.n_members = 1  # an inconsistent slice is refused, not silently wrong
    with pytest.raises(RuntimeError, match="masks"):
        sub(x)


def test_categorical_codes_are_embedded_before_masking():
    g = torch.Generator().manual_seed(0)
    net = HyperTabNetwork(4, 2, 5, categorical_cardinalities=(6, 3), generator=g).eval()
    assert net.n_inputs == net.embedding.out_features > 4
    assert net.masks.shape == (5, net.n_inputs)
    x = torch.cat([torch.randn(7, 2), torch.randint(0, 3, (7, 2)).float()], dim=1)
    assert net(x).shape == (7, 5, 2)
    assert net(x.expand(5, 7, 4)).shape == (7, 5, 2)


def test_gaussian_network():
    net = GaussianHyperTabNetwork(10, 2, 6, generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(8, 10)
    mean, var = net(x)
    assert mean.shape == var.shape == (8, 6, 2) and (var > 0).all()
    sub_mean, sub_var = net(x, members=[3])
    torch.testing.assert_close(sub_mean, mean[:, [3]])
    torch.testing.assert_close(sub_var, var[:, [3]])


def test_parameter_checks():
    with pytest.raises(ValueError, match="subsample"):
        _net(subsample=0.0)
    with pytest.raises(ValueError, match="subsample"):
        _net(subsample=1.5)
    with pytest.raises(ValueError, match="hidden_dims"):
        _net(hidden_dims=(4, 0))
    with pytest.raises(ValueError, match="n_members"):
        _net(n_members=0)
    # No hidden layer: a linear target network per mask.
    assert _net(hidden_dims=()).target_shapes == [(5, 3)]


def test_select_members_takes_a_subset_of_masks():
    from skens.nn import select_members

    net = HyperTabNetwork(6, 2, n_members=5, generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(7, 6)
    subset = select_members(net, [4, 1])
    torch.testing.assert_close(subset(x), net(x)[:, [4, 1]])
    assert net.n_members == 5  # the original is untouched


def test_keep_members_checks_first_and_stacking_is_refused():
    from skens.nn import select_members, stack_members

    net = HyperTabNetwork(6, 2, n_members=4, generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(5, 6)
    before = net(x)
    with pytest.raises(ValueError, match="needs the members"):
        net.keep_members(None)
    torch.testing.assert_close(net(x), before)  # unchanged by the refused call
    with pytest.raises(ValueError, match="cannot join HyperTab"):
        stack_members([select_members(net, [0, 1]), select_members(net, [2, 3])])
