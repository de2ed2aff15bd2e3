"""Engine overhead benchmarks: the scalar graph against micrograd, small tensor ops against
numpy and PyTorch CPU. Everything is measured in this one run, interleaved, and reported as
medians and ratios (machines are shared and noisy; absolute times mean little).

    python benchmarks/engine.py            # all sections
    python benchmarks/engine.py --quick    # fewer repeats

micrograd (`pip install -e ".[bench]"`) and torch are optional; missing ones are skipped.
"""
import argparse
import pathlib
import gc
import random
import statistics
import sys
import time
import timeit

import numpy as np

# run from a checkout without installing; also keeps benchmarks/kernels.py from shadowing
# the kernels package (a script's own folder comes first on sys.path)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import tinygrad_edu  # noqa: E402
from tinygrad_edu import Value  # noqa: E402

try:
    from micrograd.engine import Value as MicrogradValue
except ImportError:
    MicrogradValue = None
try:
    import torch
except ImportError:
    torch = None


# --------------------------------------------------------------------------- scalar MLP
def make_mlp(value_type, sizes=(2, 16, 16, 1), seed=0):
    """The micrograd demo network: lists of scalar weights, built the same way for both engines."""
    rng = random.Random(seed)
    return [[([value_type(rng.uniform(-1, 1)) for _ in range(n_in)], value_type(0.0))
             for _ in range(n_out)] for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def mlp_forward(layers, x):
    for depth, layer in enumerate(layers):
        outputs = []
        for weights, bias in layer:
            activation = sum((w * xi for w, xi in zip(weights, x)), bias)
            outputs.append(activation.relu() if depth < len(layers) - 1 else activation)
        x = outputs
    return x[0]


def mlp_step_seconds(value_type, points=50):
    """Forward over `points` inputs (hinge loss) plus backward, the micrograd demo's step."""
    layers = make_mlp(value_type)
    rng = random.Random(1)
    data = [([rng.uniform(-1, 1), rng.uniform(-1, 1)], rng.choice([-1.0, 1.0])) for _ in range(points)]
    gc.collect()  # start each run from the same heap, whatever the previous run left
    start = time.perf_counter()
    losses = ((1 + -y * mlp_forward(layers, x)).relu() for x, y in data)
    loss = sum(losses, value_type(0.0)) * (1.0 / points)
    loss.backward()
    return time.perf_counter() - start


def chain_seconds(value_type, length):
    """A chain of `length` additions, then backward: checks the engine does not recurse."""
    gc.collect()
    start = time.perf_counter()
    x = value_type(1.0)
    y = x
    for _ in range(length):
        y = y + 1.0
    y.backward()
    return time.perf_counter() - start


def bench_scalar(repeats):
    print("== scalar engine: 2-16-16-1 MLP over 50 points, forward + backward")
    ours, theirs = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        ours.append(mlp_step_seconds(Value))
        if MicrogradValue is not None:
            theirs.append(mlp_step_seconds(MicrogradValue))
    print(f"  tinygrad_edu Value  median {statistics.median(ours) * 1e3:8.1f} ms")
    if theirs:
        print(f"  micrograd Value     median {statistics.median(theirs) * 1e3:8.1f} ms")
        print(f"  speed-up over micrograd: {statistics.median(theirs) / statistics.median(ours):.2f}x "
              f"(target >= 3x)")
    else:
        print("  micrograd not installed: pip install -e '.[bench]'")

    print("== scalar engine: chain of 100,000 additions, forward + backward")
    print(f"  tinygrad_edu Value  {chain_seconds(Value, 100_000) * 1e3:8.1f} ms")
    if MicrogradValue is not None:
        try:
            chain_seconds(MicrogradValue, 100_000)
            print("  micrograd           finished")
        except RecursionError:
            print(f"  micrograd           RecursionError (its topological sort recurses; "
                  f"limit {sys.getrecursionlimit()})")


# --------------------------------------------------------------------------- small tensor ops
def per_call_seconds(statement, namespace, number):
    """Seconds per call of `statement`, over one batch of `number` calls."""
    return timeit.timeit(statement, globals=namespace, number=number) / number


def bench_small_ops(rounds):
    """Each round times a short batch of numpy, ours and torch in turn (a few ms each), so
    that the machine's drifts in speed hit all three alike; the ratio is taken per round and
    its median reported with the quartiles."""
    print("== per-op overhead, inputs require grad (interleaved rounds; medians)")
    rng = np.random.default_rng(0)
    cases = [("add 4x4", (4, 4), (4, 4), "+"), ("mul 4x4", (4, 4), (4, 4), "*"),
             ("matmul 64x64", (64, 64), (64, 64), "@")]
    print(f"  {'op':14s} {'numpy':>9s} {'ours':>9s} {'torch':>9s}  ours/numpy  "
          f"torch/ours (quartiles)")
    for name, shape_a, shape_b, symbol in cases:
        a = rng.standard_normal(shape_a).astype(np.float32)
        b = rng.standard_normal(shape_b).astype(np.float32)
        namespace = {"a": a, "b": b,
                     "ta": tinygrad_edu.tensor(a, requires_grad=True),
                     "tb": tinygrad_edu.tensor(b, requires_grad=True)}
        if torch is not None:
            namespace["pa"] = torch.tensor(a, requires_grad=True)
            namespace["pb"] = torch.tensor(b, requires_grad=True)
        # matmul batches are longer: numpy's and torch's BLAS threads linger busy for a
        # moment after a call, and in short batches each would mostly time the other's wake
        number, case_rounds = (2000, max(rounds // 8, 5)) if symbol == "@" else (2000, rounds)
        times = {"numpy": [], "ours": [], "torch": []}
        for _ in range(case_rounds):
            times["numpy"].append(per_call_seconds(f"a {symbol} b", namespace, number))
            times["ours"].append(per_call_seconds(f"ta {symbol} tb", namespace, number))
            if torch is not None:
                times["torch"].append(per_call_seconds(f"pa {symbol} pb", namespace, number))
        med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
        line = (f"  {name:14s} {med['numpy'] * 1e6:7.2f}us {med['ours'] * 1e6:7.2f}us "
                f"{med['torch'] * 1e6:7.2f}us  {med['ours'] / med['numpy']:9.1f}x  ")
        if torch is not None:
            ratios = [t / o for t, o in zip(times["torch"], times["ours"])]
            q1, q2, q3 = statistics.quantiles(ratios, n=4)
            line += f"{q2:9.2f}x ({q1:.2f}-{q3:.2f})"
        print(line)
    print("  (torch/ours >= 1 means we are no slower than PyTorch CPU per op)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9
    rounds = 40 if args.quick else 200
    print(f"tinygrad_edu {tinygrad_edu.__version__}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, "
          f"micrograd {'installed' if MicrogradValue else 'not installed'}")
    bench_scalar(repeats)
    bench_small_ops(rounds)


if __name__ == "__main__":
    main()
