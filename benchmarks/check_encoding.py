"""The encoding stage against scikit-learn's encoding on real tables.

For every public table (``benchmarks/datasets.py``) and external table
(``benchmarks/external_datasets.py``), and every ``numeric_scaling``: a
``TabularPreprocessor`` is fitted on the first 75% of the rows; the rest is
encoded twice, by its ``transform`` (scikit-learn, float64) and by the
``skens.nn.TabularEncoding`` built from it (torch, float32 out). Reported:
the largest absolute difference of the scaled numeric columns, and whether
the indicator, one-hot and code columns are equal.

    python benchmarks/check_encoding.py [--data .devdata/tables.pkl.gz]
"""

import argparse
import gzip
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))


def _tables(data):
    if data:
        with gzip.open(data, "rb") as f:
            return pickle.load(f)
    import datasets
    import external_datasets

    tables = {n: (*datasets.load(n), "public") for n in datasets.DATASETS}
    tables.update({n: (*external_datasets.load(n), "external") for n in external_datasets.TABLES})
    return tables


def check(X, scaling):
    import torch

    from skens.nn import TabularEncoding
    from skens.preprocessing import TabularPreprocessor

    cut = int(0.75 * len(X))
    pre = TabularPreprocessor(numeric_scaling=scaling, random_state=0).fit(X.iloc[:cut])
    test = X.iloc[cut:]
    expected = pre.transform(test)
    numeric, codes = pre._raw_block(test)
    encoding = TabularEncoding(**pre._encoding_params())
    out = encoding(torch.from_numpy(numeric), torch.from_numpy(codes)).numpy()
    n = pre.column_layout_.n_numeric
    diff = float(np.abs(out[:, :n] - expected[:, :n]).max()) if n else 0.0
    # The same difference in units of float32 spacing at scikit-learn's value: the
    # float32 rounding of the exact value is at most 0.5.
    rounded = expected[:, :n].astype(np.float32)
    ulps = np.abs(out[:, :n].astype(np.float64) - rounded) / np.spacing(np.abs(rounded))
    return dict(
        n_numeric=n,
        n_columns=out.shape[1],
        max_abs_diff_numeric=diff,
        max_float32_ulps_numeric=float(ulps.max()) if n else 0.0,
        other_columns_equal=bool(np.array_equal(out[:, n:], expected[:, n:])),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="tables pickled by bench_precision.py --export")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/encoding_check.jsonl"))
    args = parser.parse_args()
    records = []
    for name, (X, _, _, source) in _tables(args.data).items():
        for scaling in ("quantile", "standard", "robust"):
            record = dict(dataset=name, source=source, rows=len(X), scaling=scaling)
            record.update(check(X, scaling))
            records.append(record)
            print(json.dumps(record), flush=True)
    Path(args.output).write_text("".join(json.dumps(r) + "\n" for r in records))
    worst = max(r["max_abs_diff_numeric"] for r in records)
    ulps = max(r["max_float32_ulps_numeric"] for r in records)
    equal = all(r["other_columns_equal"] for r in records)
    print(
        f"{len(records)} checks on {len(records) // 3} tables: largest numeric difference "
        f"{worst:.2e} (at most {ulps:g} float32 spacings from scikit-learn's value rounded to "
        f"float32); indicator, one-hot and code columns equal everywhere: {equal}"
    )


if __name__ == "__main__":
    main()
