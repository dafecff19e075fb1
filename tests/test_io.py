import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("skops")

from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skens.deep import DeepEnsembleClassifier, DeepEnsembleRegressor  # noqa: E402
from skens.io import UntrustedTypesError, load_model, save_model, trusted_types  # noqa: E402

SMALL = dict(n_members=2, hidden_layer_sizes=(16,), max_epochs=3, random_state=0)


class Custom:
    """A type no one trusts."""


@pytest.fixture(scope="module")
def fitted():
    Xc, yc = make_classification(200, 5, random_state=0)
    Xr, yr = make_regression(200, 5, random_state=0)
    pipeline = make_pipeline(StandardScaler(), DeepEnsembleClassifier(**SMALL))
    return {
        "classifier": (DeepEnsembleClassifier(**SMALL).fit(Xc, yc), Xc),
        "regressor": (DeepEnsembleRegressor(**SMALL).fit(Xr, yr), Xr),
        "pipeline": (pipeline.fit(Xc, yc), Xc),
    }


def _outputs(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return np.column_stack(model.predict(X, return_std=True))


@pytest.mark.parametrize("kind", ["classifier", "regressor", "pipeline"])
@pytest.mark.parametrize("suffix", [".skops", ".pkl", ".joblib"])
def test_round_trip_gives_equal_predictions(fitted, tmp_path, kind, suffix):
    model, X = fitted[kind]
    path = save_model(model, tmp_path / f"model{suffix}")
    loaded = load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(model, X))


def test_skops_archive_needs_only_listed_types(fitted, tmp_path):
    import skops.io as sio

    for kind, (model, _) in fitted.items():
        path = save_model(model, tmp_path / f"{kind}.skops")
        assert set(sio.get_untrusted_types(file=path)) <= set(trusted_types()), kind


def test_skops_archive_holds_no_pickle(fitted, tmp_path):
    path = save_model(fitted["classifier"][0], tmp_path / "model.skops")
    with zipfile.ZipFile(path) as archive:
        schema = archive.read("schema.json").decode()
    assert "__cuda_dependent_attributes__" not in schema
    assert '"SkensNetNode"' in schema and '"SkensTensorNode"' in schema


def test_load_refuses_untrusted_types(tmp_path):
    path = save_model({"model": Custom()}, tmp_path / "model.skops")
    with pytest.raises(UntrustedTypesError, match="tests.test_io.Custom"):
        load_model(path)
    assert isinstance(load_model(path, trusted=["tests.test_io.Custom"])["model"], Custom)


def test_load_refuses_a_net_built_by_skops_generic_loader(fitted, tmp_path):
    # skorch's __setstate__ unpickles bytes: a net must never be built by skops'
    # ObjectNode, so an archive that asks for that is refused before any loading.
    path = save_model(fitted["classifier"][0], tmp_path / "model.skops")
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    schema["content"]["content"]["net_"]["__loader__"] = "ObjectNode"
    files["schema.json"] = json.dumps(schema).encode()
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(UntrustedTypesError, match="EnsembleNet"):
        load_model(tampered)


def test_trusted_types_are_names_not_everything():
    types = trusted_types()
    assert types == sorted(types) and all(isinstance(t, str) and "." in t for t in types)
    assert "skens.deep._deep_ensemble.DeepEnsembleRegressor" in types
    assert not any(t.endswith("EnsembleNet") or t.startswith("builtins.") for t in types)


@pytest.mark.parametrize(
    "name, error, match",
    [
        ("model.txt", ValueError, "unknown model file extension"),
        ("missing.skops", FileNotFoundError, "no such model file"),
    ],
)
def test_load_errors(tmp_path, name, error, match):
    with pytest.raises(error, match=match):
        load_model(tmp_path / name)


@pytest.mark.parametrize("suffix", [".skops", ".pkl"])
def test_load_corrupt_file(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="cannot"):
        load_model(path)


def test_save_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="unknown model file extension"):
        save_model(Custom(), tmp_path / "model.bin")
