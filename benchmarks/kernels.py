"""Benchmark kernels.cpu (and kernels.cuda on a real GPU) against numpy / PyTorch.

Run:  python benchmarks/kernels.py [matmul|matmul64|elementwise|cuda]
(if OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE are set on a machine, they can slow numpy's BLAS
down; `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` before the command is fair to numpy.)

Medians over repeats, warm-up (incl. JIT compile) excluded; matmul interleaves the
competitors round by round and reports per-round ratios.  Between competitors we
sleep briefly: OpenBLAS and OpenMP worker threads spin-wait after a call and would
otherwise steal a core from whoever runs next on this 2-core machine.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kernels import cpu as K  # noqa: E402

try:
    import torch
except Exception:  # pragma: no cover
    torch = None


def median_time(f, repeats, warmup=2):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def settle():
    time.sleep(0.1)


def _seconds_per_call(f, calls):
    t = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - t) / calls


def bench_matmul(dtype=np.float32, rounds=15):
    """Interleaved rounds: each round times ours, numpy and torch once each (a batch of calls
    long enough to time), pausing between them; the ratios are taken within each round, so a
    minute when the shared machine is slow counts against all three alike."""
    print(f"\n== matmul {np.dtype(dtype).name}: GFLOP/s (medians of {rounds} interleaved rounds; "
          f"ratios per round, quartiles in brackets) ==")
    print(f"{'n':>6} {'ours':>8} {'numpy':>8} {'torch':>8} {'ours/np':>18} {'ours/torch':>18}")
    rng = np.random.default_rng(0)
    for n in (128, 256, 512, 1024):
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        flops = 2 * n ** 3
        calls = max(1, int(2e9 / flops))  # about 20 ms of work per timing
        competitors = {"ours": lambda: K.matmul_blocked(a, b), "numpy": lambda: a @ b}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            competitors["torch"] = lambda: ta @ tb
        for f in competitors.values():  # warm-up, JIT compile included
            f(), f()
        speed = {name: [] for name in competitors}
        for _ in range(rounds):
            for name, f in competitors.items():
                settle()
                speed[name].append(flops / _seconds_per_call(f, calls) / 1e9)

        def ratio(other):
            if other not in speed:
                return f"{'-':>18}"
            q1, q2, q3 = np.percentile(np.array(speed["ours"]) / np.array(speed[other]), [25, 50, 75])
            return f"{q2:7.2f} ({q1:.2f}-{q3:.2f})"
        med = {name: float(np.median(v)) for name, v in speed.items()}
        print(f"{n:>6} {med['ours']:8.1f} {med['numpy']:8.1f} {med.get('torch', float('nan')):8.1f} "
              f"{ratio('numpy'):>18} {ratio('torch'):>18}")


def bench_elementwise():
    print("\n== elementwise / fused / reductions / softmax, float32: GB/s (median) ==")
    print(f"{'op':<22} {'n':>9} {'ours':>8} {'numpy':>8} {'ratio':>7}")
    rng = np.random.default_rng(0)
    for n in (10 ** 6, 10 ** 7):
        a = rng.standard_normal(n).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        y = np.tanh(a)
        s = 1 / (1 + np.exp(-a))
        rows = a.reshape(-1, 1000)
        tgt = rng.integers(0, 1000, rows.shape[0])
        _, probs = K.cross_entropy_forward(rows, tgt)
        gl = np.ones(rows.shape[0], np.float32)
        cases = [
            # name, ours, numpy (unfused sequence where the op is fused), bytes moved
            ("add", lambda: K.add(a, b), lambda: a + b, 12),
            ("mul", lambda: K.mul(a, b), lambda: a * b, 12),
            ("maximum", lambda: K.maximum(a, b), lambda: np.maximum(a, b), 12),
            ("neg", lambda: K.neg(a), lambda: -a, 8),
            ("exp", lambda: K.exp(a), lambda: np.exp(a), 8),
            ("log", lambda: K.log(y * y + 1), lambda: np.log(y * y + 1), 8),
            ("sqrt", lambda: K.sqrt(s), lambda: np.sqrt(s), 8),
            ("abs", lambda: K.abs(a), lambda: np.abs(a), 8),
            ("tanh", lambda: K.tanh(a), lambda: np.tanh(a), 8),
            ("sigmoid", lambda: K.sigmoid(a), lambda: 1 / (1 + np.exp(-a)), 8),
            ("relu", lambda: K.relu(a), lambda: np.maximum(a, np.float32(0)), 8),
            ("clamp", lambda: K.clamp(a, -1.0, 1.0), lambda: np.clip(a, -1.0, 1.0), 8),
            ("relu_backward", lambda: K.relu_backward(b, a), lambda: b * (a > 0), 12),
            ("tanh_backward", lambda: K.tanh_backward(b, y), lambda: b * (1 - y * y), 12),
            ("sigmoid_backward", lambda: K.sigmoid_backward(b, s), lambda: b * s * (1 - s), 12),
            ("sum(all)", lambda: K.sum(a), lambda: np.sum(a), 4),
            ("sum(rows,axis=1)", lambda: K.sum(rows, 1), lambda: np.sum(rows, 1), 4),
            ("sum(rows,axis=0)", lambda: K.sum(rows, 0), lambda: np.sum(rows, 0), 4),
            ("max(rows,axis=1)", lambda: K.max(rows, 1), lambda: np.max(rows, 1), 4),
            ("softmax(rows)", lambda: K.softmax(rows, 1),
             lambda: (lambda e: e / e.sum(1, keepdims=True))(np.exp(rows - rows.max(1, keepdims=True))), 8),
            ("log_softmax(rows)", lambda: K.log_softmax(rows, 1),
             lambda: (lambda z: z - np.log(np.exp(z).sum(1, keepdims=True)))(rows - rows.max(1, keepdims=True)), 8),
            ("softmax_backward", lambda: K.softmax_backward(rows, probs, 1),
             lambda: probs * (rows - (rows * probs).sum(1, keepdims=True)), 12),
            ("cross_entropy_fwd", lambda: K.cross_entropy_forward(rows, tgt),
             lambda: _np_ce_forward(rows, tgt), 8),
            ("cross_entropy_bwd", lambda: K.cross_entropy_backward(gl, probs, tgt),
             lambda: _np_ce_backward(gl, probs, tgt), 8),
        ]
        reps = 15 if n == 10 ** 6 else 7
        for name, ours, ref, nbytes in cases:
            settle()
            to = median_time(ours, reps)
            settle()
            tn = median_time(ref, reps)
            gb = nbytes * n / 1e9
            print(f"{name:<22} {n:>9} {gb / to:8.2f} {gb / tn:8.2f} {tn / to:7.2f}", flush=True)


def _np_ce_forward(x, t):
    m = x.max(1, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(1, keepdims=True)
    losses = (m + np.log(s))[:, 0] - x[np.arange(x.shape[0]), t]
    return losses, e / s


def _np_ce_backward(gl, p, t):
    g = p.copy()
    g[np.arange(p.shape[0]), t] -= 1
    return g * gl[:, None]


def bench_cuda():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        print("\n(CUDA simulator active: skipping CUDA timings)")
        return
    try:
        from numba import cuda
        if not cuda.is_available():
            raise RuntimeError("no GPU")
    except Exception as e:
        print(f"\n(no CUDA GPU: skipping CUDA timings: {e})")
        return
    from kernels import cuda as KC
    n = 4096
    a = np.random.standard_normal((n, n)).astype(np.float32)
    da, db = KC.to_device(a), KC.to_device(a)

    def ours():
        KC.matmul(da, db)
        cuda.synchronize()

    t = median_time(ours, 5)
    print(f"\n== CUDA matmul n={n}: ours {2 * n ** 3 / t / 1e12:.2f} TFLOP/s ==")
    if torch is not None and torch.cuda.is_available():
        ta = torch.from_numpy(a).cuda()

        def tm():
            ta @ ta
            torch.cuda.synchronize()
        tt = median_time(tm, 5)
        print(f"torch cuda {2 * n ** 3 / tt / 1e12:.2f} TFLOP/s, ours/torch {tt / t:.2f}")


if __name__ == "__main__":
    which = sys.argv[1:] or ["matmul", "elementwise", "cuda"]
    if "matmul" in which:
        bench_matmul(np.float32)
    if "matmul64" in which:
        bench_matmul(np.float64)
    if "elementwise" in which:
        bench_elementwise()
    if "cuda" in which:
        bench_cuda()
