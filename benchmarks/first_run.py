"""First-run cost: how long `import tinygrad_edu` plus one MLP training step takes in a fresh
process with an empty Numba cache (cold: every kernel the step needs is compiled) and again in a
second process (warm: the kernels load from the on-disk cache).

    python benchmarks/first_run.py

Each number is the median of a few fresh processes; the cold runs each get a new empty cache.
"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD = r"""
import json, time
start = time.perf_counter()
import tinygrad_edu as torch
from tinygrad_edu import nn
import tinygrad_edu.nn.functional as F
imported = time.perf_counter()
torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
images, labels = torch.randn(256, 1, 28, 28), torch.randint(0, 10, (256,))
def step():
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
step()
first = time.perf_counter()
step()
second = time.perf_counter()
print(json.dumps({"import": imported - start, "first step": first - imported,
                  "later step": second - first}))
"""


def run_child(cache_dir):
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    output = subprocess.run([sys.executable, "-c", CHILD], env=environment, check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(repeats=3):
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(run_child(cache))   # empty cache: compiles
            warm.append(run_child(cache))   # same cache, new process: loads
    print("== import tinygrad_edu + one MLP (784-256-10, batch 256) SGD step, fresh processes")
    print(f"  {'':6s} {'import':>9s} {'first step':>11s} {'later step':>11s}")
    for name, runs in (("cold", cold), ("warm", warm)):
        medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"  {name:6s} {medians['import']:8.2f}s {medians['first step']:10.2f}s "
              f"{medians['later step'] * 1e3:9.1f}ms")


if __name__ == "__main__":
    main()
