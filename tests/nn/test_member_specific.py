"""Per-member embeddings, member-specific batches and generator-owned randomness in skens.nn."""

import pytest
import torch
from torch.nn import functional as F

from skens.nn import (
    BatchEnsembleLinear,
    EnsembleLinear,
    EnsembleMLP,
    FastDropout,
    FeatureEmbedding,
    GaussianEnsembleMLP,
    PeriodicEmbedding,
    member_cross_entropy,
    member_gaussian_nll,
    member_squared_error,
)


def _rows(n=5, n_numeric=3, cardinalities=(4, 3)):
    numeric = torch.randn(n, n_numeric)
    codes = torch.stack([torch.randint(0, c, (n,)) for c in cardinalities], dim=1).float()
    return torch.cat([numeric, codes], dim=1)


def test_per_member_periodic_embedding_is_each_members_own():
    emb = PeriodicEmbedding(2, n_frequencies=3, d_embedding=4, sigma=1.0, n_members=3)
    assert emb.frequencies.shape == (3, 2, 3) and emb.weight.shape == (3, 2, 6, 4)
    x = torch.randn(5, 2)
    out = emb(x)
    assert out.shape == (3, 5, 8)
    for m in range(3):
        single = PeriodicEmbedding(2, n_frequencies=3, d_embedding=4, sigma=1.0)
        with torch.no_grad():
            single.frequencies.copy_(emb.frequencies[m])
            single.weight.copy_(emb.weight[m])
            single.bias.copy_(emb.bias[m])
        torch.testing.assert_close(out[m], single(x))
    assert not torch.allclose(out[0], out[1])  # members start different


def test_per_member_feature_embedding_reads_each_members_vectors():
    emb = FeatureEmbedding(3, [4, 3], embedding_dims=[2, 2], n_periodic=2, n_members=3)
    x = _rows()
    out = emb(x)
    assert out.shape == (3, 5, emb.out_features) == (3, 5, 2 * 8 + 1 + 2 + 2)
    codes = x[:, 3].long()
    for m in range(3):
        torch.testing.assert_close(out[m, :, 16], x[:, 2])
        expected = emb.embeddings[0].weight.view(4, 3, 2)[codes, m]
        torch.testing.assert_close(out[m, :, 17:19], expected)


@pytest.mark.parametrize("n_members", [None, 3])
def test_feature_embedding_takes_member_specific_rows(n_members):
    # Rows given per member, (n_members, batch, features), embed as each member's own rows.
    emb = FeatureEmbedding(3, [4, 3], n_periodic=2, n_members=n_members)
    rows = torch.stack([_rows() for _ in range(3)])
    out = emb(rows)
    assert out.shape == (3, 5, emb.out_features)
    for m in range(3):
        alone = emb(rows[m])
        torch.testing.assert_close(out[m], alone if n_members is None else alone[m])


def test_per_member_fill_unseen_fills_every_members_vector():
    emb = FeatureEmbedding(0, [3], embedding_dims=[2], n_members=4)
    emb.fill_unseen([[True, True, False]])
    weight = emb.embeddings[0].weight
    torch.testing.assert_close(weight[2], weight[:2].mean(0))


@pytest.mark.parametrize("share", [True, False])
@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
def test_mlp_with_member_specific_rows_equals_member_by_member(share, ensemble_type):
    mlp = EnsembleMLP(
        5, 2, n_members=3, hidden_layer_sizes=(8,), ensemble_type=ensemble_type,
        categorical_cardinalities=[4, 3], n_periodic=3, share_embeddings=share,
    ).eval()
    rows = torch.stack([_rows() for _ in range(3)])
    out = mlp(rows)
    assert out.shape == (5, 3, 2)
    for m in range(3):
        torch.testing.assert_close(out[:, m], mlp(rows[m])[:, m])


def test_member_losses_take_member_specific_targets():
    logits = torch.randn(6, 3, 4)
    target = torch.randint(0, 4, (6, 3))
    expected = torch.stack([F.cross_entropy(logits[:, k], target[:, k]) for k in range(3)]).mean()
    torch.testing.assert_close(member_cross_entropy(logits, target), expected)
    # A shared target is the member-specific one repeated.
    shared = target[:, 0]
    torch.testing.assert_close(
        member_cross_entropy(logits, shared),
        member_cross_entropy(logits, shared.unsqueeze(1).expand(-1, 3)),
    )
    mean, var = torch.randn(6, 3, 2), torch.rand(6, 3, 2) + 0.1
    y = torch.randn(6, 2)
    repeated = y.unsqueeze(1).expand(-1, 3, -1)
    torch.testing.assert_close(
        member_gaussian_nll(mean, var, y), member_gaussian_nll(mean, var, repeated)
    )
    torch.testing.assert_close(member_squared_error(mean, y), member_squared_error(mean, repeated))
    own = torch.randn(6, 3, 2)
    expected = ((mean - own) ** 2).mean()
    torch.testing.assert_close(member_squared_error(mean, own), expected)


def _build(seed, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    return GaussianEnsembleMLP(
        4, 1, 3, hidden_layer_sizes=(8, 8), dropout=0.3, categorical_cardinalities=[5],
        n_periodic=3, generator=generator, **kwargs,
    )


def test_modules_draw_from_the_given_generator_only():
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    a, b, c = _build(1), _build(1), _build(2)
    assert torch.equal(torch.random.get_rng_state(), before)  # nothing global moved
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(pa, pb), name
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))
    data = torch.Generator().manual_seed(9)
    x = torch.cat(
        [torch.randn(7, 3, generator=data), torch.randint(0, 5, (7, 1), generator=data).float()],
        dim=1,
    )
    a.train(), b.train()
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)  # same dropout masks
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize(
    "make",
    [
        lambda g: EnsembleLinear(4, 3, 2, generator=g),
        lambda g: BatchEnsembleLinear(4, 3, 2, scaling_init="random-signs", generator=g),
        lambda g: PeriodicEmbedding(3, generator=g),
        lambda g: FeatureEmbedding(1, [6], generator=g),
    ],
)
def test_each_layer_is_reproducible_from_its_generator(make):
    first = make(torch.Generator().manual_seed(5))
    second = make(torch.Generator().manual_seed(5))
    for pa, pb in zip(first.parameters(), second.parameters()):
        assert torch.equal(pa, pb)


def test_seeded_dropout_survives_pickling_and_goes_on_with_its_stream():
    import pickle

    layer = FastDropout(0.5, generator=torch.Generator().manual_seed(3))
    first = layer(torch.ones(64))
    fresh = FastDropout(0.5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(fresh(torch.ones(64)), first)
    copy = pickle.loads(pickle.dumps(layer))
    assert copy.seed == layer.seed
    # The copy draws the masks the original draws next (a model pickled between
    # two partial_fit calls trains as if it had not been), in both directions.
    second = layer(torch.ones(64))
    assert not torch.equal(second, first)
    torch.testing.assert_close(copy(torch.ones(64)), second)
    again = pickle.loads(pickle.dumps(copy))
    torch.testing.assert_close(again(torch.ones(64)), layer(torch.ones(64)))
    # An unused copy of a copy keeps the saved state too.
    unused = pickle.loads(pickle.dumps(pickle.loads(pickle.dumps(fresh))))
    torch.testing.assert_close(unused(torch.ones(64)), second)


def test_fill_unseen_with_each_members_own_codes():
    emb = FeatureEmbedding(0, [3], embedding_dims=[2], n_members=2)
    seen = torch.tensor([[True, True], [True, False], [False, True]])
    before = emb.embeddings[0].weight.detach().clone().view(3, 2, 2)
    emb.fill_unseen([seen])
    weight = emb.embeddings[0].weight.view(3, 2, 2)
    torch.testing.assert_close(weight[:2, 0], before[:2, 0])  # seen rows kept
    torch.testing.assert_close(weight[2, 0], before[:2, 0].mean(0))
    torch.testing.assert_close(weight[1, 1], before[[0, 2], 1].mean(0))
    shared = FeatureEmbedding(0, [3], embedding_dims=[2])
    kept = shared.embeddings[0].weight.detach().clone()
    shared.fill_unseen([seen])  # some member saw every code: nothing to fill
    torch.testing.assert_close(shared.embeddings[0].weight, kept)
    with pytest.raises(ValueError, match="seen mask has shape"):
        emb.fill_unseen([torch.ones(3, 5, dtype=torch.bool)])
