"""verbose=1: a progress bar over the epochs (skens.callbacks.EpochProgress)."""

import pickle

import pytest
from joblib import parallel_config
from sklearn.datasets import make_classification
from skorch.callbacks import Callback

from skens import (
    DeepEnsembleClassifier,
    SGMCMCClassifier,
    SnapshotEnsembleClassifier,
    SWAGClassifier,
)
from skens.callbacks import EpochProgress, _phase_progress

pytest.importorskip("tqdm")

SMALL = dict(n_members=2, hidden_layer_sizes=(16,), max_epochs=3, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=200, n_features=5, n_informative=3, random_state=0)


class _StopAt(Callback):
    """Stops training (as skorch's EarlyStopping does) at the end of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture
def ended(monkeypatch):
    """The EpochProgress callbacks whose training ended (a fitted net drops its callbacks)."""
    seen = []
    on_train_end = EpochProgress.on_train_end

    def spy(self, net, **kwargs):
        on_train_end(self, net, **kwargs)
        seen.append(self)

    monkeypatch.setattr(EpochProgress, "on_train_end", spy)
    return seen


def test_verbose_1_shows_a_bar_on_stderr(data, capsys, ended):
    clf = DeepEnsembleClassifier(**SMALL, verbose=1).fit(*data)
    out, err = capsys.readouterr()
    assert out == ""  # no skorch table
    last = err.split("\r")[-1]
    assert last.startswith("DeepEnsembleClassifier: 100%")
    assert "3/3" in last and "epoch/s" in last
    assert "train_loss=" in last and "best_valid_loss=" in last
    best = min(clf.validation_loss_curve_)
    epoch = clf.validation_loss_curve_.index(best) + 1
    assert f"best_valid_loss={best:.4g} (epoch {epoch})" in last
    assert "stopped" not in last
    [progress] = ended
    assert "_progress" not in vars(progress) and progress.n_epochs_ == 3  # closed
    assert progress.best_valid_loss_ == (pytest.approx(best), epoch)


def test_verbose_0_prints_nothing(data, capsys):
    DeepEnsembleClassifier(**SMALL).fit(*data)
    assert capsys.readouterr() == ("", "")


def test_verbose_2_prints_skorch_table_and_no_bar(data, capsys):
    clf = DeepEnsembleClassifier(**SMALL, verbose=2).fit(*data)
    out, err = capsys.readouterr()
    assert "epoch" in out and "train_loss" in out and "valid_loss" in out
    assert "epoch/s" not in err and "epoch_progress" not in dict(clf.net_.callbacks_)


def test_bar_without_validation_shows_the_train_loss(data, capsys):
    DeepEnsembleClassifier(**SMALL, early_stopping=False, verbose=1).fit(*data)
    last = capsys.readouterr().err.split("\r")[-1]
    assert "3/3" in last and "train_loss=" in last and "best" not in last


def test_early_stopping_closes_the_bar_where_it_stopped(data, capsys, ended):
    # lr too small to improve by the threshold: early stopping after its patience
    # (1 epoch, raised to ceil(100 steps / 40 steps per epoch) = 3 epochs).
    clf = DeepEnsembleClassifier(
        **{**SMALL, "max_epochs": 5, "batch_size": 4, "lr": 1e-9, "patience": 1}, verbose=1
    ).fit(*data)
    assert clf.n_iter_ == 4
    err = capsys.readouterr().err
    last = err.split("\r")[-1]
    # EarlyStopping runs before the bar: the last epoch is shown when training ends.
    assert "4/5" in last and "stopped after 4 of 5 epochs" in last and "(epoch 1)" in last
    assert last.endswith("\n") and err.count("\n") == 1
    [progress] = ended
    assert progress.n_epochs_ == 4 and "_progress" not in vars(progress)


def test_a_callback_that_stops_training_closes_the_bar(data, capsys):
    clf = DeepEnsembleClassifier(**SMALL, callbacks=[_StopAt(2)], verbose=1).fit(*data)
    last = capsys.readouterr().err.split("\r")[-1]
    assert clf.n_iter_ == 2 and "2/3" in last and "stopped after 2 of 3 epochs" in last


def test_without_tqdm_one_line_an_epoch(data, capsys, monkeypatch):
    monkeypatch.setattr("skens.callbacks._tqdm_class", lambda: None)
    DeepEnsembleClassifier(**SMALL, verbose=1).fit(*data)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 3 and "\r" not in err
    for epoch, line in enumerate(lines, 1):
        assert line.startswith(f"DeepEnsembleClassifier epoch {epoch}/3: train_loss=")
        assert "best_valid_loss=" in line and line.endswith("]")


def test_without_tqdm_early_stop_says_so(data, capsys, monkeypatch):
    monkeypatch.setattr("skens.callbacks._tqdm_class", lambda: None)
    DeepEnsembleClassifier(**SMALL, callbacks=[_StopAt(2)], verbose=1).fit(*data)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and lines[-1].startswith(
        "DeepEnsembleClassifier: stopped after 2 of 3 epochs"
    )


def test_partial_fit_writes_one_line_a_call(data, capsys):
    X, y = data
    clf = DeepEnsembleClassifier(**SMALL, verbose=1)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    clf.partial_fit(X[100:], y[100:])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and "\r" not in err and len(lines) == 2
    assert lines[0].startswith("DeepEnsembleClassifier epoch 1: train_loss=")
    assert lines[1].startswith("DeepEnsembleClassifier epoch 2: train_loss=")
    assert "best" not in err and "%" not in err


def test_member_groups_train_silently(data, capsys):
    with parallel_config(backend="threading"):
        clf = DeepEnsembleClassifier(**SMALL, n_jobs=2, verbose=1).fit(*data)
    assert len(clf.member_groups_) == 2 and capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "make, total",
    [
        (lambda: SnapshotEnsembleClassifier(n_snapshots=2, cycle_epochs=2, **_kind()), 4),
        (lambda: SGMCMCClassifier(n_chains=2, n_samples=2, burn_in=1, thinning=1, **_kind()), 3),
        (lambda: SWAGClassifier(n_samples=2, swa_epochs=2, max_epochs=3, **_kind()), 3),
    ],
    ids=["snapshot", "sgmcmc", "swag"],
)
def test_other_kinds_count_their_epochs(data, capsys, make, total):
    clf = make().fit(*data)
    updates = [line.strip() for line in capsys.readouterr().err.replace("\n", "\r").split("\r")]
    name = type(clf).__name__
    finished = [u for u in updates if u.startswith(f"{name}: 100%")]
    assert finished and f"{total}/{total}" in finished[-1]
    if isinstance(clf, SWAGClassifier):  # then the SWA phase, a bar of its own
        assert updates[-1] == "" or updates[-1].startswith(f"{name} (SWA epochs)")
        assert any(u.startswith(f"{name} (SWA epochs): 100%") and "2/2" in u for u in updates)


def _kind():
    return dict(hidden_layer_sizes=(16,), batch_size=32, random_state=0, verbose=1)


def test_phase_progress_of_an_extra_phase(capsys):
    shown = _phase_progress(SWAGClassifier(verbose=1), 2, "SWA epochs")
    shown.epoch("train_loss=0.5")
    shown.epoch("train_loss=0.4")
    shown.close()
    last = capsys.readouterr().err.split("\r")[-1]
    assert last.startswith("SWAGClassifier (SWA epochs): 100%") and "2/2" in last
    for hidden in (SWAGClassifier(verbose=0), SWAGClassifier(verbose=2)):
        shown = _phase_progress(hidden, 2, "SWA epochs")
        shown.epoch("x")
        shown.close()
    worker = SWAGClassifier(verbose=1)
    worker._group = 0  # a member group's copy
    _phase_progress(worker, 2, "SWA epochs").epoch("x")
    assert capsys.readouterr() == ("", "")


def test_fitted_estimator_pickles_and_refits(data, capsys):
    clf = DeepEnsembleClassifier(**SMALL, verbose=1).fit(*data)
    again = pickle.loads(pickle.dumps(clf))
    again.fit(*data)
    assert capsys.readouterr().err.count("3/3") >= 2


def test_epoch_progress_as_a_user_callback(data, capsys, ended):
    import io

    sink = io.StringIO()
    progress = EpochProgress(desc="mine", total=6, file=sink)
    clf = DeepEnsembleClassifier(**SMALL, callbacks=[("p", progress)]).fit(*data)
    assert capsys.readouterr() == ("", "")
    assert "mine" in sink.getvalue() and "3/6" in sink.getvalue()
    assert [p.n_epochs_ for p in ended] == [3] and clf.n_iter_ == 3
    assert not hasattr(progress, "n_epochs_")  # the user's callback is untouched


@pytest.mark.parametrize("total", [0, 2.5, "3"])
def test_bad_total_is_a_clear_error(data, total):
    clf = DeepEnsembleClassifier(**SMALL, callbacks=[EpochProgress(total=total)])
    with pytest.raises(ValueError, match="EpochProgress: total must be a positive int"):
        clf.fit(*data)


def test_a_copied_or_pickled_callback_keeps_its_stream(data, capsys):
    import copy
    import sys

    from sklearn.base import clone

    progress = EpochProgress(file=sys.stdout)
    assert copy.deepcopy(progress).file is sys.stdout
    assert pickle.loads(pickle.dumps(progress)).file is sys.stdout
    clf = clone(DeepEnsembleClassifier(**SMALL, callbacks=[progress]))
    clf = pickle.loads(pickle.dumps(clf)).fit(*data)
    out, err = capsys.readouterr()
    assert "3/3" in out and err == ""
