"""The models the benchmark compares, each built for one task.

Every factory takes ``(task, seed, categorical)`` — the task name, the seed
and the list of categorical column names of the DataFrame — and returns an
unfitted scikit-learn compatible estimator that accepts the raw DataFrame
(with NaN and string columns). Models that need numbers get a preprocessing
pipeline in front; models that handle categories natively get pandas
``category`` columns.
"""

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor

__all__ = ["MODELS", "GRID", "build", "has_std"]


# ----------------------------------------------------------------- preprocessing
def _categorical_as_strings(X):
    """Categorical columns as strings with 'missing' for NaN (for sklearn encoders)."""
    X = X.copy()
    for column in X.columns:
        if X[column].dtype.kind not in "fiub":
            X[column] = X[column].astype(object).where(X[column].notna(), "missing").astype(str)
        elif X[column].dtype.kind == "b":
            X[column] = X[column].astype(str)
    return X


def _numeric_selector():
    return make_column_selector(dtype_include="number")


def _categorical_selector():
    return make_column_selector(dtype_exclude="number")


def one_hot_preprocessing(scale=True):
    """Impute (+ indicators), scale, one-hot encode: what a scikit-learn user writes."""
    numeric = [SimpleImputer(strategy="median", add_indicator=True)]
    if scale:
        numeric.append(StandardScaler())
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(*numeric), _numeric_selector()),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                _categorical_selector(),
            ),
        ],
        sparse_threshold=0.0,
    )
    return make_pipeline(FunctionTransformer(_categorical_as_strings), columns)


def ordinal_preprocessing():
    """Impute numerics, ordinal-encode categories: enough for random forests."""
    columns = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median", add_indicator=True), _numeric_selector()),
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                _categorical_selector(),
            ),
        ]
    )
    return make_pipeline(FunctionTransformer(_categorical_as_strings), columns)


class _AsCategory(BaseEstimator):
    """Wrap a model so that non-numeric columns reach it as pandas categories.

    ``fill_numeric`` imputes numeric NaN with training medians (for models
    that refuse NaN, such as pytabkit's); categories keep NaN as 'missing'.
    """

    def __init__(self, model, fill_numeric=False):
        self.model = model
        self.fill_numeric = fill_numeric

    def _convert(self, X):
        X = X.copy()
        for column in X.columns:
            if X[column].dtype.kind in "fiu":
                X[column] = X[column].astype(float)
                if self.fill_numeric:
                    X[column] = X[column].fillna(self.medians_[column])
            else:
                values = X[column].astype(object).where(X[column].notna(), "missing").astype(str)
                X[column] = pd.Categorical(values, categories=self.categories_[column])
        return X

    def fit(self, X, y):
        numeric = [c for c in X.columns if X[c].dtype.kind in "fiu"]
        self.medians_ = X[numeric].astype(float).median().fillna(0.0)
        self.categories_ = {
            c: sorted(
                set(X[c].astype(object).where(X[c].notna(), "missing").astype(str)) | {"missing"}
            )
            for c in X.columns
            if c not in numeric
        }
        self.model_ = clone(self.model).fit(self._convert(X), y)
        self.classes_ = getattr(self.model_, "classes_", None)
        return self

    def predict(self, X):
        return self.model_.predict(self._convert(X))

    def predict_proba(self, X):
        return self.model_.predict_proba(self._convert(X))


# -------------------------------------------------------------------- skorch MLP
class _MLP(torch.nn.Module):
    def __init__(self, in_features, out_features, hidden=(256, 256), dropout=0.1):
        super().__init__()
        layers, width = [], in_features
        for size in hidden:
            layers += [torch.nn.Linear(width, size), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
            width = size
        layers.append(torch.nn.Linear(width, out_features))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x):
        out = self.layers(x)
        return out.squeeze(-1) if out.shape[-1] == 1 else out


class SkorchMLP(BaseEstimator):
    """A single skorch MLP as a skorch user writes it: one-hot pipeline, early stopping."""

    def __init__(self, task="binary", seed=0):
        self.task = task
        self.seed = seed

    def fit(self, X, y):
        from skorch import NeuralNetClassifier, NeuralNetRegressor
        from skorch.callbacks import EarlyStopping
        from skorch.dataset import ValidSplit

        torch.manual_seed(self.seed)
        self.pre_ = one_hot_preprocessing().fit(X)
        Xt = self.pre_.transform(X).astype(np.float32)
        common = dict(
            module=_MLP,
            module__in_features=Xt.shape[1],
            optimizer=torch.optim.AdamW,
            lr=1e-3,
            optimizer__weight_decay=1e-4,
            max_epochs=200,
            batch_size=256,
            iterator_train__shuffle=True,
            callbacks=[EarlyStopping(patience=10, load_best=True)],
            verbose=0,
        )
        if self.task == "regression":
            self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y)) or 1.0
            target = ((np.asarray(y, dtype=np.float32) - self.y_mean_) / self.y_std_)
            self.net_ = NeuralNetRegressor(
                module__out_features=1,
                train_split=ValidSplit(0.1, random_state=self.seed),
                **common,
            ).fit(Xt, target.astype(np.float32))
        else:
            self.classes_, encoded = np.unique(y, return_inverse=True)
            self.net_ = NeuralNetClassifier(
                module__out_features=len(self.classes_),
                criterion=torch.nn.CrossEntropyLoss,
                train_split=ValidSplit(0.1, stratified=True, random_state=self.seed),
                **common,
            ).fit(Xt, encoded.astype(np.int64))
        return self

    def predict_proba(self, X):
        logits = self.net_.forward(self.pre_.transform(X).astype(np.float32))
        return torch.softmax(logits, dim=-1).double().numpy()

    def predict(self, X):
        if self.task == "regression":
            out = self.net_.predict(self.pre_.transform(X).astype(np.float32))
            return out.astype(np.float64).ravel() * self.y_std_ + self.y_mean_
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# ------------------------------------------------------------------------ models
def _skens(task, seed, categorical, **params):
    Estimator = DeepEnsembleRegressor if task == "regression" else DeepEnsembleClassifier
    return Estimator(random_state=seed, **params)


def _hgb(task, seed, categorical):
    if task == "regression":
        Model = HistGradientBoostingRegressor
    else:
        Model = HistGradientBoostingClassifier
    return _AsCategory(Model(random_state=seed, categorical_features="from_dtype"))


def _rf(task, seed, categorical):
    Model = RandomForestRegressor if task == "regression" else RandomForestClassifier
    forest = Model(n_estimators=300, n_jobs=2, random_state=seed)
    return make_pipeline(ordinal_preprocessing(), forest)


def _linear(task, seed, categorical):
    if task == "regression":
        return make_pipeline(one_hot_preprocessing(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    return make_pipeline(one_hot_preprocessing(), LogisticRegression(C=1.0, max_iter=2000))


def _sklearn_mlp(task, seed, categorical, n_bagged=None):
    Model = MLPRegressor if task == "regression" else MLPClassifier
    mlp = Model(hidden_layer_sizes=(256, 256), early_stopping=True, max_iter=200, random_state=seed)
    if n_bagged:
        Bagging = BaggingRegressor if task == "regression" else BaggingClassifier
        # In a Pipeline the MLP hides its sample_weight, so Bagging draws rows instead of
        # passing bootstrap counts as weights (MLPs crash on a mini-batch of zero weights).
        mlp = Bagging(make_pipeline(mlp), n_estimators=n_bagged, random_state=seed)
    return make_pipeline(one_hot_preprocessing(), mlp)


def _lightgbm(task, seed, categorical):
    import lightgbm

    Model = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
    return _AsCategory(Model(random_state=seed, n_jobs=2, verbose=-1))


def _xgboost(task, seed, categorical):
    import xgboost

    Model = xgboost.XGBRegressor if task == "regression" else xgboost.XGBClassifier
    model = Model(random_state=seed, n_jobs=2, tree_method="hist", enable_categorical=True)
    return _AsCategory(_LabelEncoded(model) if task != "regression" else model)


class _LabelEncoded(BaseEstimator):
    """XGBoost wants labels 0..n_classes-1."""

    def __init__(self, model):
        self.model = model

    def fit(self, X, y):
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self.model_ = clone(self.model).fit(X, encoded)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _pytabkit(name):
    def factory(task, seed, categorical):
        import pytabkit

        suffix = "Regressor" if task == "regression" else "Classifier"
        Model = getattr(pytabkit, f"{name}_{suffix}")
        return _AsCategory(Model(random_state=seed, n_threads=2, verbosity=0), fill_numeric=True)

    return factory


def _selection(task, seed, categorical, **params):
    """Ensemble selection over skens' default pool (deep ensemble, trees, linear, boosting)."""
    Model = EnsembleSelectionRegressor if task == "regression" else EnsembleSelectionClassifier
    return Model(random_state=seed, **params)


MODELS = {
    "selection": _selection,
    "selection_simplex": lambda task, seed, cat: _selection(task, seed, cat, method="simplex"),
    "skens": _skens,
    "skens_single": lambda task, seed, cat: _skens(task, seed, cat, n_members=1),
    "hgb": _hgb,
    "rf": _rf,
    "linear": _linear,
    "sklearn_mlp": _sklearn_mlp,
    "bagged_mlp": lambda task, seed, cat: _sklearn_mlp(task, seed, cat, n_bagged=5),
    "skorch_mlp": lambda task, seed, cat: SkorchMLP(task=task, seed=seed),
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "realmlp": _pytabkit("RealMLP_TD"),
    "tabm": _pytabkit("TabM_D"),
}

# One-at-a-time variations around the skens defaults: the grid that picks them.
GRID = {
    "ensemble_type=independent": dict(ensemble_type="independent"),
    "n_members=4": dict(n_members=4),
    "n_members=16": dict(n_members=16),
    "n_members=32": dict(n_members=32),
    "hidden=(128,128)": dict(hidden_layer_sizes=(128, 128)),
    "hidden=(512,512)": dict(hidden_layer_sizes=(512, 512)),
    "lr=3e-4": dict(lr=3e-4),
    "lr=3e-3": dict(lr=3e-3),
    "dropout=0": dict(dropout=0.0),
    "patience=20": dict(patience=20),
    "numeric_scaling=standard": dict(numeric_scaling="standard"),
    "numeric_embedding=None": dict(numeric_embedding=None),
    "validation_fraction=0.1": dict(validation_fraction=0.1),
}
for _label, _params in GRID.items():
    MODELS[f"skens[{_label}]"] = (
        lambda task, seed, cat, _params=_params: _skens(task, seed, cat, **_params)
    )


def build(name, task, seed, categorical):
    """An unfitted model ``name`` for ``task``."""
    return MODELS[name](task, seed, categorical)


def has_std(model):
    """Whether ``model.predict(X, return_std=True)`` works."""
    return isinstance(model, (DeepEnsembleRegressor, EnsembleSelectionRegressor))
