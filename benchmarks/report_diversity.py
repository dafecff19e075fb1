"""Member diversity before and after: the section ``diversity`` of ``doc/benchmarks.md``.

Reads
- the suite's skens runs (``run_benchmark.py``, models ``skens`` and ``skens_single``) of the
  0.1 defaults and of today's (``--before-suite``, ``--after-suite``): ensemble and single
  member on the twelve public datasets; today's runs also hold each member's score;
- ``study_diversity.py`` runs of the 0.1 defaults on the public datasets (``--before-members``:
  the members' scores, which the 0.1 suite did not record);
- ``study_diversity.py`` runs of both defaults on the external tables
  (``benchmarks/external_datasets.py``; ``--external``, configurations ``0.1-default`` and
  ``new-default``).

and writes one table per group of datasets: test log loss (classification) or Gaussian NLL
(regression) of the ensemble and of its single member (``n_members=1``), the mean of the
ensemble's own members, and the gain ``(mean member - ensemble) / |mean member|``; means over
seeds.

    python benchmarks/report_diversity.py
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from docsection import replace_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
HALF_A = ["credit_data", "image_segment", "breast_cancer", "protein_homology", "concrete",
          "california_housing"]
HALF_B = ["adult", "telco_churn", "digits", "abalone", "diamonds", "diabetes"]


def _read(path):
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _suite(path):
    """dataset -> {'ensemble': [...], 'single': [...], 'member': [...]} from run_benchmark runs."""
    out = defaultdict(lambda: defaultdict(list))
    for row in _read(path):
        if row.get("status") != "ok":
            continue
        score = row.get("log_loss", row.get("nll"))
        key = "single" if row["model"] == "skens_single" else "ensemble"
        if row["model"] not in ("skens", "skens_single") or score is None:
            continue
        out[row["dataset"]][key].append(score)
        member = row.get("mean_member_log_loss", row.get("mean_member_nll"))
        if key == "ensemble" and member is not None:
            out[row["dataset"]]["member"].append(member)
    return out


def _study(rows, config):
    out = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["config"] != config:
            continue
        out[row["dataset"]]["ensemble"].append(row["ensemble"])
        out[row["dataset"]]["member"].append(row["mean_member"])
        if "single" in row:
            out[row["dataset"]]["single"].append(row["single"])
    return out


def _fmt(values, digits=4):
    return f"{np.mean(values):.{digits}f}" if values else "–"


def _gain(runs):
    """Mean gain in %; a study's own ensemble/member pairs when the suite lacks members."""
    if runs.get("gain_override") is not None:
        return runs["gain_override"]
    if not runs.get("member") or not runs.get("ensemble"):
        return None
    gains = [(m - e) / abs(m) for m, e in zip(runs["member"], runs["ensemble"])]
    return 100 * float(np.mean(gains))


def _beats(runs):
    if not runs.get("single") or not runs.get("ensemble"):
        return None
    return np.mean(runs["ensemble"]) < np.mean(runs["single"])


def table(names, before, after):
    lines = [
        "| dataset | 0.1: ensemble / single | 0.1: gain over members | now: ensemble / single "
        "| now: mean member | now: gain over members |",
        "|---|---|---|---|---|---|",
    ]
    counts = dict(before_beats=0, after_beats=0, n=0, after_gain1=0, before_gain1=0)
    gains_before, gains_after = [], []
    for name in names:
        b, a = before.get(name, {}), after.get(name, {})
        if not a.get("ensemble"):
            continue
        counts["n"] += 1
        gb, ga = _gain(b), _gain(a)
        bb, ab = _beats(b), _beats(a)
        counts["before_beats"] += bool(bb)
        counts["after_beats"] += bool(ab)
        counts["before_gain1"] += gb is not None and gb >= 1
        counts["after_gain1"] += ga is not None and ga >= 1
        if gb is not None:
            gains_before.append(gb)
        if ga is not None:
            gains_after.append(ga)

        def pair(runs, beats):
            text = f"{_fmt(runs.get('ensemble', []))} / {_fmt(runs.get('single', []))}"
            return f"**{text}**" if beats else text

        lines.append(
            f"| {name} | {pair(b, bb)} | {'–' if gb is None else f'{gb:.2f}%'} | {pair(a, ab)} "
            f"| {_fmt(a.get('member', []))} | {'–' if ga is None else f'{ga:.2f}%'} |"
        )
    counts["median_gain_before"] = float(np.median(gains_before)) if gains_before else None
    counts["median_gain_after"] = float(np.median(gains_after)) if gains_after else None
    return "\n".join(lines), counts


def _summary(label, counts):
    def median(value):
        return "–" if value is None else f"{value:.2f}%"

    return (
        f"{label}: the ensemble beats its single member on {counts['after_beats']} of "
        f"{counts['n']} (0.1: {counts['before_beats']}); its loss is at least 1% below its "
        f"members' mean on {counts['after_gain1']} (0.1: {counts['before_gain1']}); median gain "
        f"{median(counts['median_gain_after'])} (0.1: {median(counts['median_gain_before'])})."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-suite", default=RESULTS / "benchmark_skens_0.1.jsonl")
    parser.add_argument("--after-suite", default=RESULTS / "benchmark_skens.jsonl")
    parser.add_argument("--before-members", default=RESULTS / "diversity_public_0.1.jsonl")
    parser.add_argument("--external", default=RESULTS / "diversity_external.jsonl")
    parser.add_argument(
        "--more-seeds-before", default=RESULTS / "benchmark_skens_0.1_more_seeds.jsonl",
        help="suite runs of the 0.1 defaults on more seeds, for the datasets they cover",
    )
    parser.add_argument(
        "--more-seeds-after", default=RESULTS / "benchmark_skens_more_seeds.jsonl",
        help="suite runs of today's defaults on more seeds, for the datasets they cover",
    )
    parser.add_argument("--doc", type=Path, default=ROOT / "doc" / "benchmarks.md")
    args = parser.parse_args()

    before = _suite(args.before_suite)
    for name, runs in _study(_read(args.before_members), "0.1-default").items():
        before[name]["member"] = runs["member"]
        # The gain is the study run's own: pair its ensemble with its members.
        before[name]["study_ensemble"] = runs["ensemble"]
    for runs in before.values():
        if runs.get("study_ensemble"):
            gains = [
                (m - e) / abs(m) for m, e in zip(runs["member"], runs["study_ensemble"])
            ]
            runs["gain_override"] = 100 * float(np.mean(gains))
    after = _suite(args.after_suite)
    external = _read(args.external)
    ext_before, ext_after = _study(external, "0.1-default"), _study(external, "new-default")

    parts = []
    for label, names, b, a in [
        ("Half A (public; the defaults were chosen here)", HALF_A, before, after),
        ("Half B (public; confirmation)", HALF_B, before, after),
        (
            "External tables (not in DATASETS.md; confirmation)",
            _ordered(external),
            ext_before,
            ext_after,
        ),
    ]:
        text, counts = table(names, b, a)
        parts.append(f"### {label}\n\n{_summary('Summary', counts)}\n\n{text}")
    parts.append(more_seeds(args))
    replace_section(args.doc, "diversity", "\n\n".join(p for p in parts if p))
    print("\n\n".join(parts))


def more_seeds(args):
    """Ensemble / single member over all seeds run, for the datasets with extra seeds."""
    extra_before, extra_after = _suite(args.more_seeds_before), _suite(args.more_seeds_after)
    names = sorted(set(extra_before) | set(extra_after))
    if not names:
        return ""
    before, after = _suite(args.before_suite), _suite(args.after_suite)
    lines = [
        "### More seeds where two seeds disagreed",
        "",
        "| dataset | seeds | 0.1: ensemble / single | now: ensemble / single |",
        "|---|---|---|---|",
    ]
    for name in names:
        cells = []
        for main, extra in [(before, extra_before), (after, extra_after)]:
            runs = {k: main[name][k] + extra[name][k] for k in ("ensemble", "single")}
            text = f"{_fmt(runs['ensemble'])} / {_fmt(runs['single'])}"
            cells.append(f"**{text}**" if _beats(runs) else text)
        n_seeds = len(after[name]["ensemble"]) + len(extra_after[name]["ensemble"])
        lines.append(f"| {name} | {n_seeds} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _ordered(rows):
    seen = []
    for row in rows:
        if row["dataset"] not in seen:
            seen.append(row["dataset"])
    return seen


if __name__ == "__main__":
    main()
