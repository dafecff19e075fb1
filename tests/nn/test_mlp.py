import pytest
import torch

from skens.nn import ACTIVATIONS, EnsembleMLP, FastDropout, GaussianEnsembleMLP, GaussianHead


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
@pytest.mark.parametrize("hidden", [(), (8,), (8, 4)])
def test_ensemble_mlp_output_shape(ensemble_type, hidden):
    mlp = EnsembleMLP(6, 3, n_members=5, hidden_layer_sizes=hidden, ensemble_type=ensemble_type)
    assert mlp(torch.randn(7, 6)).shape == (7, 5, 3)


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
def test_ensemble_mlp_members_differ(ensemble_type):
    mlp = EnsembleMLP(6, 2, n_members=4, hidden_layer_sizes=(16,), ensemble_type=ensemble_type)
    out = mlp(torch.randn(10, 6))
    assert not torch.allclose(out[:, 0], out[:, 1])


def test_batchensemble_has_fewer_parameters():
    def n_params(ensemble_type):
        mlp = EnsembleMLP(20, 2, 8, hidden_layer_sizes=(64, 64), ensemble_type=ensemble_type)
        return sum(p.numel() for p in mlp.parameters())

    assert n_params("batchensemble") < n_params("independent") / 3


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_ensemble_mlp_activations(activation):
    mlp = EnsembleMLP(3, 2, 2, hidden_layer_sizes=(4,), activation=activation)
    assert isinstance(mlp.hidden[1], ACTIVATIONS[activation])
    assert torch.isfinite(mlp(torch.randn(5, 3))).all()


def test_ensemble_mlp_dropout_only_in_training():
    mlp = EnsembleMLP(3, 2, 2, hidden_layer_sizes=(64,), dropout=0.5)
    assert any(isinstance(m, FastDropout) for m in mlp.modules())
    x = torch.randn(5, 3)
    mlp.eval()
    torch.testing.assert_close(mlp(x), mlp(x))
    mlp.train()
    assert not torch.allclose(mlp(x), mlp(x))


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(activation="softmax"), "activation must be one of"),
        (dict(ensemble_type="mixture"), "ensemble_type must be one of"),
        (dict(dropout=1.0), "dropout must be in"),
    ],
)
def test_ensemble_mlp_rejects_bad_params(bad, match):
    with pytest.raises(ValueError, match=match):
        EnsembleMLP(3, 2, 2, **bad)


def test_gaussian_head_variance_is_positive_with_floor():
    head = GaussianHead(2, min_variance=1e-3)
    raw = torch.cat([torch.zeros(4, 3, 2), torch.full((4, 3, 2), -1e4)], dim=-1)
    mean, var = head(raw)
    assert mean.shape == var.shape == (4, 3, 2)
    torch.testing.assert_close(var, torch.full_like(var, 1e-3))
    _, var = head(torch.randn(4, 3, 4) * 10)
    assert bool((var >= 1e-3).all())


def test_gaussian_head_checks_its_input():
    with pytest.raises(ValueError, match="expects 4 raw outputs"):
        GaussianHead(2)(torch.randn(3, 2, 3))
    with pytest.raises(ValueError, match="min_variance must be positive"):
        GaussianHead(1, min_variance=0)


def test_gaussian_ensemble_mlp():
    mean, var = GaussianEnsembleMLP(4, 2, 3, hidden_layer_sizes=(8,))(torch.randn(5, 4))
    assert mean.shape == var.shape == (5, 3, 2)
    assert bool((var > 0).all())


def test_periodic_embedding_matches_its_formula():
    from skens.nn import PeriodicEmbedding

    emb = PeriodicEmbedding(2, n_frequencies=3, d_embedding=4, sigma=1.0)
    x = torch.randn(5, 2)
    out = emb(x)
    assert out.shape == (5, 8) and emb.out_features == 8
    j = 1
    angles = 2 * torch.pi * x[:, j : j + 1] * emb.frequencies[j]
    periodic = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    expected = torch.relu(periodic @ emb.weight[j] + emb.bias[j])
    torch.testing.assert_close(out[:, 4:], expected)


def test_feature_embedding_with_periodic_numeric_and_categorical_codes():
    from skens.nn import FeatureEmbedding

    emb = FeatureEmbedding(3, [4], embedding_dims=[2], n_periodic=2)
    x = torch.tensor([[0.1, -0.3, 1.0, 3.0], [0.5, 0.2, 0.0, 0.0]])
    out = emb(x)
    # 2 periodic features x 8 + 1 plain numeric column + a 2-wide embedding
    assert out.shape == (2, 2 * 8 + 1 + 2) == (2, emb.out_features)
    torch.testing.assert_close(out[:, 16], x[:, 2])
    torch.testing.assert_close(out[:, 17:], emb.embeddings[0](x[:, 3].long()))


def test_ensemble_mlp_with_periodic_embedding():
    mlp = EnsembleMLP(5, 2, n_members=3, hidden_layer_sizes=(8,), n_periodic=5)
    assert mlp.embedding.periodic is not None
    assert mlp(torch.randn(4, 5)).shape == (4, 3, 2)


@pytest.mark.parametrize("bad", [-1, 4])
def test_feature_embedding_rejects_bad_n_periodic(bad):
    from skens.nn import FeatureEmbedding

    with pytest.raises(ValueError, match="n_periodic must be in"):
        FeatureEmbedding(3, [], n_periodic=bad)
