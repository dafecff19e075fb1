"""Mini-batching of the deep estimators: shared and member-specific batches."""

import torch

from skens.deep._data import MIN_BATCH_ROWS, ArrayDataset, BatchIterator


def _dataset(weight=None, n=10):
    X = torch.arange(n, dtype=torch.float32).unsqueeze(1).repeat(1, 2)
    y = torch.arange(n) * 10
    return ArrayDataset(X, y, weight)


def test_member_batches_give_each_member_a_permutation_of_all_rows():
    dataset = _dataset()
    batches = list(BatchIterator(dataset, 4, shuffle=True, seed=0, n_members=3))
    assert [b[0].shape for b in batches] == [(3, 4, 2), (3, 4, 2), (3, 2, 2)]
    rows = torch.cat([X[..., 0] for X, _ in batches], dim=1)  # (members, n)
    for member in rows:
        assert sorted(member.long().tolist()) == list(range(10))
    assert not torch.equal(rows[0], rows[1])  # members see different orders
    for X, (y, weight) in batches:
        assert weight is None
        assert y.shape == (X.shape[1], 3)  # batch-first with a member axis
        torch.testing.assert_close(y.T, X[..., 0].long() * 10)


def test_member_batches_pick_each_members_own_weight():
    weight = torch.arange(30, dtype=torch.float32).view(10, 3)  # (rows, members)
    dataset = _dataset(weight)
    for X, (_, w) in BatchIterator(dataset, 4, shuffle=True, seed=1, n_members=3):
        rows = X[..., 0].long()  # (members, batch)
        expected = torch.stack([weight[rows[m], m] for m in range(3)], dim=1)
        torch.testing.assert_close(w, expected)
    shared = torch.arange(10, dtype=torch.float32).view(10, 1)
    for X, (_, w) in BatchIterator(_dataset(shared), 4, shuffle=True, seed=1, n_members=3):
        torch.testing.assert_close(w, X[..., 0].T)


def test_shuffling_is_reproducible_from_its_seed():
    def rows(seed, n_members):
        iterator = BatchIterator(_dataset(), 3, shuffle=True, seed=seed, n_members=n_members)
        return torch.cat([X[..., 0].reshape(-1) for X, _ in iterator])

    for n_members in (None, 2):
        assert torch.equal(rows(0, n_members), rows(0, n_members))
        assert not torch.equal(rows(0, n_members), rows(1, n_members))


def test_in_order_batches_never_leave_a_few_rows_alone():
    for n, batch_size in [(9, 4), (5, 4), (13, 3), (2, 1), (20, 8), (17, 8), (70, 64), (6, 64)]:
        sizes = [len(X) for X, _ in BatchIterator(_dataset(n=n), batch_size)]
        assert sum(sizes) == n
        # A short last batch joins the one before it.
        assert len(sizes) == 1 or sizes[-1] >= min(MIN_BATCH_ROWS, batch_size)
        assert max(sizes) < batch_size + MIN_BATCH_ROWS


def test_seen_codes_are_counted_per_member_under_bootstrap():
    from types import SimpleNamespace

    from skens import DeepEnsembleClassifier
    from skens.preprocessing import ColumnLayout

    est = DeepEnsembleClassifier()
    est.preprocessor_ = SimpleNamespace(
        column_layout_=ColumnLayout(n_numeric=1, code_cardinalities=(4,))
    )
    X = torch.tensor([[0.5, 0.0], [0.1, 1.0], [0.2, 2.0], [0.3, 1.0]])
    counts = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 1.0]])  # (rows, members)
    (mask,) = est._seen_codes(X, counts)
    assert mask.tolist() == [[True, False], [False, True], [True, False], [False, False]]
    (mask,) = est._seen_codes(X, None)
    assert mask.tolist() == [[True], [True], [True], [False]]


def test_member_batches_record_their_rows_as_the_batch_size():
    # skorch records len(X) as a batch's size and weights the epoch's training
    # loss by it: for (n_members, batch, features) batches that must be the rows.
    from skens.deep._net import EnsembleNet
    from skens.nn import EnsembleCriterion, EnsembleMLP

    net = EnsembleNet(
        module=EnsembleMLP, module__in_features=2, module__out_features=2, module__n_members=3,
        criterion=EnsembleCriterion, criterion__task="cross_entropy", seed=0,
    ).initialize()
    net.history.new_epoch()
    for X in (torch.zeros(3, 16, 2), torch.zeros(12, 2)):
        net.history.new_batch()
        net.history.record_batch("train_batch_size", len(X))  # what skorch records
        net.on_batch_end(net, batch=(X, None), training=True)
    assert net.history[-1, "batches", :, "train_batch_size"] == [16, 12]


def test_ensemble_net_keeps_a_module_instance():
    from skens.deep._net import EnsembleNet
    from skens.nn import EnsembleCriterion, EnsembleMLP

    module = EnsembleMLP(3, 2, 2, hidden_layer_sizes=(4,))
    net = EnsembleNet(
        module=module, criterion=EnsembleCriterion, criterion__task="cross_entropy", seed=0
    ).initialize()
    assert net.module_ is module
