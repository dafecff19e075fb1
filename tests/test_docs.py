"""The docs and the README stay in step with the code and with CI."""

import importlib
import re
from pathlib import Path

import pytest

from skens.utils.discovery import _PUBLIC_MODULES

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = list(_PUBLIC_MODULES)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_page_lists_every_public_name(module_name):
    api = (ROOT / "doc" / "api.md").read_text()
    module = importlib.import_module(module_name)
    missing = [
        name
        for name in module.__all__
        if not name.startswith("__") and f"`{module_name}.{name}`" not in api
    ]
    assert not missing, f"doc/api.md does not list {missing} from {module_name}"


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", readme)[:2]


def test_readme_starts_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    demo, tests = _readme_commands()
    assert readme.index(demo) < readme.index(tests) < readme.index("## ")
    assert "torch==2.13.0" in demo and "skens demo" in demo
    assert "torch==2.13.0" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_every_public_estimator_has_a_doctest_example():
    from skens.utils import all_estimators

    for name, Estimator in all_estimators():
        assert ">>> " in Estimator.__doc__, name
        predict = "transform" if hasattr(Estimator, "transform") else "predict"
        for method in ("fit", predict):
            assert getattr(Estimator, method).__doc__, f"{name}.{method}"


def test_architecture_examples_run():
    """The worked examples of doc/developers/architecture.md train and predict."""
    import numpy as np
    from sklearn.datasets import load_iris

    text = (ROOT / "doc" / "developers" / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    namespace = {}
    for block in blocks:
        exec(compile(block, "architecture.md", "exec"), namespace)
    X, y = load_iris(return_X_y=True)
    bagged = namespace["BaggedClassifier"](n_members=4, random_state=0).fit(X, y)
    u = bagged.predict_uncertainty(X)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, atol=1e-12)
    assert bagged.predict_proba_members(X).shape == (4, 150, 3)
    assert bagged.score(X, y) > 0.9

    class Recording(namespace["CosineSGDEnsembleClassifier"]):
        def _after_training(self, data):  # before the net is trimmed for prediction
            super()._after_training(data)
            net = self.net_
            self.optimizer_name_ = type(net.optimizer_).__name__
            self.lrs_ = net.history[:, "event_lr"]  # the cosine LRScheduler, each epoch

    deep = Recording(
        n_members=2, hidden_layer_sizes=(8,), max_epochs=4, lr=0.05, random_state=0
    ).fit(X, y)
    assert deep.optimizer_name_ == "SGD"
    assert len(deep.lrs_) == deep.n_iter_
    assert all(a > b for a, b in zip(deep.lrs_, deep.lrs_[1:]))
    assert deep.predict_proba(X).shape == (150, 3)
