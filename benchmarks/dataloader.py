"""DataLoader throughput: one shuffled epoch over an MNIST-sized TensorDataset.

    python benchmarks/dataloader.py                 # 60,000 x 784 float32 + int64 labels, batch 256
    python benchmarks/dataloader.py --repeats 9 --workers 2 --per-sample

Competitors, interleaved in one run (machines are shared and noisy; the ratios are what
count, not the absolute times):
  numpy floor      a permutation and one fancy-index per batch: the least any loader can do
  tinygrad_edu     DataLoader(TensorDataset(...), shuffle=True): the `__getitems__` fast path
  torch            torch.utils.data.DataLoader on the same data (skipped if torch is missing)
  --per-sample     tinygrad_edu through `__getitem__` + default_collate (what the fast path saves)
  --workers N      both loaders again with N worker processes
Medians over the repeats; throughput in samples per second.
"""
import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

# run from a checkout without installing; also keeps benchmarks/kernels.py from shadowing
# the kernels package (a script's own folder comes first on sys.path)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

try:
    import torch
    import torch.utils.data
except ImportError:
    torch = None


def numpy_floor(x, y, batch_size, rng):
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        rows = order[start:start + batch_size]
        x[rows], y[rows]


def run_epoch(loader):
    batches = 0
    for xb, yb in loader:
        batches += 1
    return batches


class OneByOne(Dataset):
    """The same TensorDataset without `__getitems__`: fetched sample by sample and stacked."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, i):
        return self.dataset[i]

    def __len__(self):
        return len(self.dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="also time N worker processes")
    parser.add_argument("--per-sample", action="store_true", help="also time the per-sample path")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.samples, args.features), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.int64)
    tg.manual_seed(0)
    dataset = TensorDataset(tg.from_numpy(x), tg.from_numpy(y))

    competitors = {"numpy floor": lambda: numpy_floor(x, y, args.batch_size, rng)}
    ours = DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
    competitors["tinygrad_edu"] = lambda: run_epoch(ours)
    if torch is not None:
        torch.manual_seed(0)
        torch_dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        theirs = torch.utils.data.DataLoader(torch_dataset, batch_size=args.batch_size, shuffle=True)
        competitors["torch"] = lambda: run_epoch(theirs)
    else:
        print("torch is not installed: skipping the PyTorch DataLoader")
    if args.per_sample:
        slow = DataLoader(OneByOne(dataset), batch_size=args.batch_size, shuffle=True)
        competitors["tinygrad_edu per-sample"] = lambda: run_epoch(slow)
    if args.workers:
        ours_w = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
        competitors[f"tinygrad_edu {args.workers} workers"] = lambda: run_epoch(ours_w)
        if torch is not None:
            theirs_w = torch.utils.data.DataLoader(torch_dataset, batch_size=args.batch_size, shuffle=True,
                                                   num_workers=args.workers)
            competitors[f"torch {args.workers} workers"] = lambda: run_epoch(theirs_w)

    for run in competitors.values():  # warm-up: page in the data, import lazily loaded parts
        run()
    times = {name: [] for name in competitors}
    for _ in range(args.repeats):
        for name, run in competitors.items():  # interleaved, so drift hits everyone alike
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)

    batches = -(-args.samples // args.batch_size)
    print(f"one shuffled epoch: {args.samples} x {args.features} float32 + int64 labels, batch "
          f"{args.batch_size} ({batches} batches), median of {args.repeats}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    header = f"{'loader':<28}{'epoch ms':>10}{'samples/s':>14}{'vs numpy':>10}"
    header += f"{'vs torch':>10}" if "torch" in medians else ""
    print(header)
    for name, seconds in medians.items():
        line = f"{name:<28}{seconds * 1e3:>10.1f}{args.samples / seconds:>14,.0f}"
        line += f"{medians['numpy floor'] / seconds:>10.2f}x"
        if "torch" in medians:
            line += f"{medians['torch'] / seconds:>9.2f}x"
        print(line)
    if "torch" in medians:
        print(f"\ntinygrad_edu throughput = {medians['torch'] / medians['tinygrad_edu']:.1f}x PyTorch's "
              f"(target: >= 4x)")


if __name__ == "__main__":
    main()
