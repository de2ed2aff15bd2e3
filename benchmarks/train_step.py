"""One training step (forward, cross-entropy, backward, SGD) against PyTorch CPU, interleaved
in one process, reported as examples/s (medians) and the ratio ours / PyTorch: the median of
the per-round ratios, with its quartiles.

    python benchmarks/train_step.py               # MLP 784-256-10 and LeNet, batch 256
    python benchmarks/train_step.py --profile     # also: where our MLP step spends its time

torch is optional: without it only our numbers print.
"""
import argparse
import cProfile
import io
import pathlib
import pstats
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # a checkout, uninstalled
import tinygrad_edu  # noqa: E402
import tinygrad_edu.nn.functional as F  # noqa: E402
from tinygrad_edu import nn  # noqa: E402

try:
    import torch
except ImportError:
    torch = None


def mlp(library):
    return library.nn.Sequential(library.nn.Flatten(), library.nn.Linear(784, 256),
                                 library.nn.ReLU(), library.nn.Linear(256, 10))


def lenet(library):
    n = library.nn
    return n.Sequential(n.Conv2d(1, 6, 5, padding=2), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(6, 16, 5), n.ReLU(), n.MaxPool2d(2), n.Flatten(),
                        n.Linear(400, 120), n.ReLU(), n.Linear(120, 84), n.ReLU(), n.Linear(84, 10))


def make_step(library, functional, model, images, labels):
    optimizer = library.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def copy_weights(ours, theirs):
    """Start both models from the same numbers, so both do the same arithmetic."""
    with torch.no_grad():
        for (_, mine), (_, other) in zip(ours.named_parameters(), theirs.named_parameters()):
            other.copy_(torch.from_numpy(mine.detach().numpy().copy()))


def time_steps(step, count):
    start = time.perf_counter()
    for _ in range(count):
        step()
    return (time.perf_counter() - start) / count


def bench(name, builder, batch, rounds, steps_per_round):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, size=batch).astype(np.int64)
    tinygrad_edu.manual_seed(0)
    ours_model = builder(tinygrad_edu)
    ours = make_step(tinygrad_edu, F, ours_model, tinygrad_edu.tensor(images), tinygrad_edu.tensor(labels))
    theirs = None
    if torch is not None:
        torch_model = builder(torch)
        copy_weights(ours_model, torch_model)
        theirs = make_step(torch, torch.nn.functional, torch_model, torch.from_numpy(images),
                           torch.from_numpy(labels))
    for _ in range(3):  # warm-up: JIT compilation, allocator, caches
        ours()
        if theirs:
            theirs()
    ours_times, torch_times = [], []
    for _ in range(rounds):  # interleaved rounds: both see the same machine load
        ours_times.append(time_steps(ours, steps_per_round))
        if theirs:
            torch_times.append(time_steps(theirs, steps_per_round))
    ours_rate = batch / statistics.median(ours_times)
    line = f"  {name:5s} batch {batch}: ours {ours_rate:9.0f} examples/s"
    if theirs:
        torch_rate = batch / statistics.median(torch_times)
        # the ratio is taken inside each round (both sides saw the same load), then its median
        ratios = [t / o for o, t in zip(ours_times, torch_times)]
        q1, q2, q3 = statistics.quantiles(ratios, n=4)
        line += (f", PyTorch CPU {torch_rate:9.0f} examples/s, ours/PyTorch {q2:.2f}x "
                 f"({q1:.2f}-{q3:.2f})")
    print(line)
    return ours


def profile(step, count=20):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        step()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    print(text.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"torch threads {torch.get_num_threads() if torch else '-'}")
    print("== one SGD training step (forward, cross-entropy, backward, update)")
    mlp_step = bench("MLP", mlp, 256, args.rounds, 20)
    bench("LeNet", lenet, 256, args.rounds, 3)
    if args.profile:
        print("== where our MLP step spends its time (cProfile, 20 steps)")
        profile(mlp_step)


if __name__ == "__main__":
    main()
