import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skens._cli import main


def test_demo_prints_the_comparison(capsys, monkeypatch):
    # The demo's code path with small models (few epochs of a small network, few
    # boosting iterations) on one thread: OpenMP threads (HistGradientBoosting's and
    # torch's) wait on each other at every barrier, and on a shared machine, e.g.
    # under pytest-xdist, that made this test several times slower. No assertion depends
    # on time: the printed fit times are not checked.
    import skens._demo as demo

    small = {
        "DeepEnsembleClassifier": dict(max_epochs=3, hidden_layer_sizes=(16,)),
        "DeepEnsembleRegressor": dict(max_epochs=3, hidden_layer_sizes=(16,)),
        "HistGradientBoostingClassifier": dict(max_iter=5),
        "HistGradientBoostingRegressor": dict(max_iter=5),
    }
    for name, params in small.items():
        original = getattr(demo, name)
        monkeypatch.setattr(
            demo, name, lambda original=original, params=params, **kw: original(**params, **kw)
        )
    with threadpool_limits(limits=1):
        assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for expected in [
        "Breast cancer",
        "Diabetes",
        "accuracy",
        "log loss",
        "RMSE",
        "Gaussian NLL",
        "epistemic",
        "aleatoric",
        "HistGradientBoostingClassifier",
        "single network (n_members=1)",
    ]:
        assert expected in out


def test_cli_requires_a_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "command" in capsys.readouterr().err


def test_python_dash_m_help():
    # only --help in a subprocess: the commands run in-process (tests/test_cli_tabular.py)
    result = subprocess.run(
        [sys.executable, "-m", "skens", "--help"], capture_output=True, text=True, check=True
    )
    for command in ["demo", "fit", "predict", "evaluate"]:
        assert command in result.stdout


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_command_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "example:" in capsys.readouterr().out


# ---- fit / predict / evaluate, in-process on tiny tables
SMALL = [
    "--param", "max_epochs=3",
    "--param", "hidden_layer_sizes=16",
    "--param", "n_members=2",
    "--random-state", "0",
]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    pytest.importorskip("skops")
    pd = pytest.importorskip("pandas")
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.insert(0, "id", np.arange(1000, 1200))
    frame["color"] = rng.choice(["red", "blue"], size=200)
    frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    frame["value"] = 2 * X[:, 0] + 0.1 * rng.normal(size=200)
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_parquet(folder / "data.parquet")
    return folder, frame


@pytest.fixture(scope="module")
def models(data):
    pd = pytest.importorskip("pandas")
    folder, _ = data
    classifier, regressor = folder / "clf.skops", folder / "reg.pkl"
    common = ["--id", "id", *SMALL]
    features = folder / "features.csv"
    pd.read_csv(folder / "data.csv").drop(columns=["value"]).to_csv(features, index=False)
    assert main(["fit", str(features), "--target", "label", *common, "-o", str(classifier)]) == 0
    numeric = folder / "numeric.parquet"
    pd.read_parquet(folder / "data.parquet").drop(columns=["label"]).to_parquet(numeric)
    assert main(["fit", str(numeric), "--target", "value", *common, "-o", str(regressor)]) == 0
    return classifier, regressor


def test_fit_prints_a_summary(data, capsys):
    folder, _ = data
    out = folder / "summary.joblib"
    code = main(["fit", str(folder / "data.csv"), "--target", "label", "--id", "id", *SMALL,
                 "-o", str(out)])
    line = capsys.readouterr().out.strip()
    assert code == 0 and out.is_file()
    assert "DeepEnsembleClassifier (classification)" in line
    assert "200 rows x 5 columns" in line and "validation loss" in line


def test_predict_classifier_with_proba(data, models, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    folder, frame = data
    out = tmp_path / "pred.csv"
    code = main(["predict", str(models[0]), str(folder / "data.parquet"), "--id", "id",
                 "--proba", "--target", "label", "-o", str(out)])
    assert code == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["id", "prediction", "proba_no", "proba_yes"]
    assert pred["id"].tolist() == frame["id"].tolist()
    assert set(pred["prediction"]) <= {"yes", "no"}
    np.testing.assert_allclose(pred[["proba_no", "proba_yes"]].sum(axis=1), 1, rtol=1e-5)
    # 'value' is not a feature of the classifier: ignored with a note
    assert "ignoring column(s) the model was not fitted on: value" in capsys.readouterr().err


def test_predict_regressor_with_std_keeps_the_index(data, models, tmp_path):
    pd = pytest.importorskip("pandas")
    folder, _ = data
    out = tmp_path / "pred.csv"
    assert main(["predict", str(models[1]), str(folder / "data.csv"), "--std", "-o", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["index", "prediction", "std"]
    assert pred["index"].tolist() == list(range(200)) and (pred["std"] > 0).all()


def test_evaluate_classifier(data, models, tmp_path, capsys):
    folder, _ = data
    assert main(["evaluate", str(models[0]), str(folder / "data.csv"), "--target", "label",
                 "--id", "id", "-o", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    for metric in ["accuracy", "log loss", "Brier", "ECE"]:
        assert metric in out
    assert (tmp_path / "report" / "reliability.png").read_bytes().startswith(PNG)


def test_evaluate_regressor(data, models, tmp_path, capsys):
    folder, _ = data
    assert main(["evaluate", str(models[1]), str(folder / "data.parquet"), "--target", "value",
                 "--id", "id", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for metric in ["RMSE", "MAE", "R2", "Gaussian NLL", "CRPS", "90% interval coverage",
                   "90% interval width"]:
        assert metric in out
    assert (tmp_path / "intervals.png").read_bytes().startswith(PNG)


def _error(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "make_argv, message",
    [
        (lambda f, m, t: ["fit", str(f / "nope.csv"), "--target", "y", "-o", str(t / "m.skops")],
         "no such data file"),
        (lambda f, m, t: ["fit", str(f / "data.csv"), "--target", "nope", "-o",
                          str(t / "m.skops")],
         "target column 'nope' not in"),
        (lambda f, m, t: ["fit", str(t / "data.txt"), "--target", "y", "-o", str(t / "m.skops")],
         "unknown data file extension"),
        (lambda f, m, t: ["fit", str(f / "data.csv"), "--target", "label", "--param", "bogus=1",
                          "-o", str(t / "m.skops")],
         "has no parameter bogus"),
        (lambda f, m, t: ["predict", str(t / "none.skops"), str(f / "data.csv"), "-o",
                          str(t / "p.csv")],
         "no such model file"),
        (lambda f, m, t: ["predict", str(m[0]), str(t / "bad.parquet"), "-o", str(t / "p.csv")],
         "cannot read"),
        (lambda f, m, t: ["predict", str(t / "bad.skops"), str(f / "data.csv"), "-o",
                          str(t / "p.csv")],
         "cannot read the skops archive"),
        (lambda f, m, t: ["predict", str(m[0]), str(t / "schema.csv"), "-o", str(t / "p.csv")],
         "missing column(s) b, color"),
        (lambda f, m, t: ["predict", str(m[0]), str(f / "data.csv"), "--std", "-o",
                          str(t / "p.csv")],
         "--std needs a regressor"),
        (lambda f, m, t: ["predict", str(t / "untrusted.skops"), str(f / "data.csv"), "-o",
                          str(t / "p.csv")],
         "not trusted"),
        (lambda f, m, t: ["evaluate", str(m[1]), str(f / "data.csv"), "--target", "nope"],
         "columns: id, a, b, c, color, label, value"),
    ],
)
def test_errors(data, models, tmp_path, capsys, make_argv, message):
    from skens.io import save_model

    folder, frame = data
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    (tmp_path / "bad.skops").write_bytes(b"not a zip")
    frame[["a", "c"]].to_csv(tmp_path / "schema.csv", index=False)
    save_model({"x": Untrusted()}, tmp_path / "untrusted.skops")
    err = _error(make_argv(folder, models, tmp_path), capsys)
    assert message in err


class Untrusted:
    pass
