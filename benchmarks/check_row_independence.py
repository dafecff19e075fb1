"""Which row counts give a batched matrix product the rounding of a larger batch, on this machine.

A single-row prediction repeats its row up to a few rows, so that its
outputs equal those of the same row in any larger batch (``_rows_alone`` in
``skens/deep/_base.py`` measures the count per model at run time). This
script reports, for the products of the default networks (member-first
``baddbmm`` of shape ``(n_members, rows, in) @ (n_members, in, out)``), the
row counts ``k`` below 16 whose outputs differ bit for bit from the first
``k`` rows of a 64-row product, on the CPU (one thread and all threads) and
on CUDA when present.

    python benchmarks/check_row_independence.py --output results/rows.json
"""

import argparse
import json
import platform

import torch

SHAPES = [(75, 256), (256, 256), (256, 2), (64, 256), (512, 512), (33, 17), (1000, 64)]


def _differing_counts(device, n_members=8, generator_seed=0):
    generator = torch.Generator().manual_seed(generator_seed)
    out = {}
    for n_in, n_out in SHAPES:
        W = torch.randn(n_members, n_in, n_out, generator=generator).to(device)
        b = torch.randn(n_members, 1, n_out, generator=generator).to(device)
        X = torch.randn(n_members, 64, n_in, generator=generator).to(device)
        full = torch.baddbmm(b, X, W)
        out[f"{n_in}x{n_out}"] = [
            k for k in range(1, 16) if not torch.equal(torch.baddbmm(b, X[:, :k], W), full[:, :k])
        ]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    report = {
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpu_threads": threads,
    }
    torch.set_num_threads(1)
    report["cpu_1_thread"] = _differing_counts("cpu")
    torch.set_num_threads(threads)
    report[f"cpu_{threads}_threads"] = _differing_counts("cpu")
    if torch.cuda.is_available():
        report["cuda_device"] = torch.cuda.get_device_name()
        report["cuda"] = _differing_counts("cuda")
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
