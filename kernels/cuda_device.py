"""The device code behind ``kernels.cuda``: every ``@cuda.jit`` kernel, at module level.

``kernels/cuda.py`` imports this module on its first kernel call, so ``import kernels.cuda``
stays cheap and never touches ``numba.cuda``.  Read the host side (kernels/cuda.py) for
shapes, dtypes and launches; read this file for what one GPU thread does.

Conventions (they keep every kernel small):

* Arrays arrive **flat** (1-D, C-contiguous): the host wrapper reshapes them.  Where a kernel
  needs an N-d layout it receives ``shape`` and ``strides`` as tuples of ints (strides in
  *elements*, not bytes) and finds an element with ``strided_offset``.  A stride of 0 repeats
  an element: that is how broadcasting is read without copying the input first.
* Elementwise work is a **grid-stride loop**: thread ``i`` handles ``i``, ``i + gridsize``,
  ``i + 2*gridsize``... so one launch shape covers any size.
* Reductions give **one block per output element** (block-stride over outputs) and combine
  the threads' partial results with a **tree in shared memory** (``block_sum``), with
  ``cuda.syncthreads()`` between levels.  No warp shuffles: numba's simulator lacks them.
* Scatter-adds, where two threads may hit one element, use ``cuda.atomic.add``.

``cuda`` must be a module global (not a closure variable): the simulator swaps it for its
fake module while a kernel runs.  The simulator also raises where a GPU would quietly give
inf or nan (``math.exp`` overflow, ``math.log(0)``), hence the guards in ``exp``/``log``.
"""
import math
import os

import numpy as np
from numba import cuda

# The simulator runs each thread as a Python thread (and each syncthreads as a barrier
# between them), so it gets small blocks: the same kernels, smaller launch shapes.
SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
TPB = 8 if SIMULATOR else 256    # threads per block (a power of two, for the shared-memory trees)
BM = BN = 16 if SIMULATOR else 64   # matmul: the C tile of one block
BK = 8                              # matmul: K-depth of the A and B tiles staged in shared memory
TM = TN = 4                         # matmul: each thread's register tile
MM_THREADS = BM // TM               # matmul block: MM_THREADS x MM_THREADS threads (16x16 on a GPU)

device = cuda.jit(device=True)


# ============================================================================ layout helpers
@device
def strided_offset(i, shape, strides):
    """Where element `i` (a C-order flat index over `shape`) sits in a strided layout:
    unravel i into one index per dimension, then dot those with `strides`."""
    offset = 0
    for d in range(len(shape) - 1, -1, -1):
        offset += (i % shape[d]) * strides[d]
        i //= shape[d]
    return offset


@device
def block_sum(buf, value):
    """The sum of `value` over all threads of the block; every thread gets the total.
    Each level of the tree halves the number of active threads."""
    t = cuda.threadIdx.x
    buf[t] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if t < step:
            buf[t] += buf[t + step]
        cuda.syncthreads()
        step //= 2
    total = buf[0]
    cuda.syncthreads()      # everyone has read buf[0] before anyone writes buf again
    return total


@device
def block_max(buf, value):
    """Like block_sum, with max (NaN is skipped here; it propagates through the later sum)."""
    t = cuda.threadIdx.x
    buf[t] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if t < step and buf[t + step] > buf[t]:
            buf[t] = buf[t + step]
        cuda.syncthreads()
        step //= 2
    best = buf[0]
    cuda.syncthreads()
    return best


@device
def beats(v, i, best, best_i, want_max):
    """Does candidate (v, i) replace (best, best_i) in an argmax (or argmin)?  numpy's rules:
    NaN wins over numbers, and on a tie the smaller index wins.  An index < 0 means 'no
    candidate' (a thread that had no elements)."""
    if i < 0:
        return False
    if best_i < 0:
        return True
    if best != best:                          # best is NaN: only an earlier NaN replaces it
        return v != v and i < best_i
    if v != v:
        return True
    if v == best:
        return i < best_i
    return v > best if want_max else v < best


@device
def block_argbest(vbuf, ibuf, v, i, want_max):
    """(value, index) of the block's best candidate: the same tree as block_sum, on pairs."""
    t = cuda.threadIdx.x
    vbuf[t] = v
    ibuf[t] = i
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if t < step and beats(vbuf[t + step], ibuf[t + step], vbuf[t], ibuf[t], want_max):
            vbuf[t] = vbuf[t + step]
            ibuf[t] = ibuf[t + step]
        cuda.syncthreads()
        step //= 2
    best, best_i = vbuf[0], ibuf[0]
    cuda.syncthreads()
    return best, best_i


# ============================================================================ elementwise
def _binary_kernels(op):
    """Four launch shapes of one binary op `op(x, y)`:
    same shape (flat), broadcast (strided reads), scalar right operand, scalar left operand."""
    @cuda.jit
    def same(a, b, out):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = op(a[i], b[i])

    @cuda.jit
    def broadcast(a, a_strides, b, b_strides, out, shape):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = op(a[strided_offset(i, shape, a_strides)], b[strided_offset(i, shape, b_strides)])

    @cuda.jit
    def scalar_b(a, s, out):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = op(a[i], s)

    @cuda.jit
    def scalar_a(s, b, out):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = op(s, b[i])

    return same, broadcast, scalar_b, scalar_a


def _unary_kernel(op):
    @cuda.jit
    def kernel(a, out):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = op(a[i])
    return kernel


@device
def _sigmoid(x):
    e = math.exp(-x if x >= 0 else x)          # e^-|x| <= 1: never overflows
    return 1 / (1 + e) if x >= 0 else e / (1 + e)


BINARY = {name: _binary_kernels(device(op)) for name, op in {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x ** y,
    "maximum": lambda x, y: x if (x >= y or x != x) else y,     # NaN wins, like numpy
    "minimum": lambda x, y: x if (x <= y or x != x) else y,
    "eq": lambda x, y: x == y,
    "ne": lambda x, y: x != y,
    "lt": lambda x, y: x < y,
    "le": lambda x, y: x <= y,
    "gt": lambda x, y: x > y,
    "ge": lambda x, y: x >= y,
    "logical_and": lambda x, y: x != 0 and y != 0,
    "logical_or": lambda x, y: x != 0 or y != 0,
    "relu_backward": lambda g, x: g if x > 0 else 0,
    "tanh_backward": lambda g, y: g * (1 - y * y),
    "sigmoid_backward": lambda g, y: g * y * (1 - y),
}.items()}

UNARY = {name: _unary_kernel(device(op)) for name, op in {
    "neg": lambda x: -x,
    "exp": lambda x: math.inf if x > 709.0 else math.exp(x),
    "log": lambda x: math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan),
    "sqrt": lambda x: math.sqrt(x) if x >= 0 else math.nan,
    "abs": lambda x: x if x >= 0 else -x,
    "tanh": lambda x: math.tanh(x),
    "relu": lambda x: x if (x > 0 or x != x) else 0,
    "to_bool": lambda x: x != 0,
    "copy": lambda x: x,                       # storing into `out` casts to out's dtype
}.items()}
UNARY["sigmoid"] = _unary_kernel(_sigmoid)


@cuda.jit
def clamp_k(a, lo, hi, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        x = a[i]
        x = lo if x < lo else x
        out[i] = hi if x > hi else x


@cuda.jit
def where_k(c, c_strides, a, a_strides, b, b_strides, out, shape):
    """out = c ? a : b, all three read through broadcast strides."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        if c[strided_offset(i, shape, c_strides)]:
            out[i] = a[strided_offset(i, shape, a_strides)]
        else:
            out[i] = b[strided_offset(i, shape, b_strides)]


@cuda.jit
def fill_k(out, value):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = value


# ============================================================================ movement
@cuda.jit
def strided_copy_k(src, out, shape, strides, base):
    """out[i] = src[base + offset of i]: transposes, broadcasts and slices all read this way."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = src[base + strided_offset(i, shape, strides)]


@device
def _indexed_offset(i, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes):
    """The source offset of output element i under an index with integer arrays: the basic
    part (slices, ints) as strides, plus each index array's entry times its dim's stride.
    `idx[j]` is the j-th index array flattened; `idx_pos` finds i's entry in it."""
    offset = base + strided_offset(i, shape, strides)
    b = strided_offset(i, shape, idx_pos)
    for j in range(idx.shape[0]):
        k = idx[j, b]
        if k < 0:                               # negative indices count from the end
            k += idx_sizes[j]
        offset += k * idx_strides[j]
    return offset


@cuda.jit
def index_gather_k(src, out, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes):
    """out[i] = src[indexed offset of i]: `a[index]` for any index, `take_along_axis`."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = src[_indexed_offset(i, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes)]


@cuda.jit
def index_scatter_k(dst, values, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes):
    """dst[indexed offset of i] = values[i]: `a[index] = v` (a repeated index: one write wins)."""
    for i in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        dst[_indexed_offset(i, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes)] = values[i]


@cuda.jit
def index_scatter_add_k(dst, values, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes):
    """dst[indexed offset of i] += values[i], atomically: the backward of indexing, where an
    index array may pick one element twice and two threads then add into the same place."""
    for i in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        offset = _indexed_offset(i, shape, strides, base, idx, idx_pos, idx_strides, idx_sizes)
        cuda.atomic.add(dst, offset, values[i])


# A boolean mask becomes the list of its True positions in three small steps, each thread
# owning one chunk of the mask: count per chunk, exclusive prefix sum of the counts (where
# each chunk starts writing), then write.  Chunks keep the order, so positions come out sorted.
@cuda.jit
def mask_count_k(mask, counts, chunk):
    for c in range(cuda.grid(1), counts.size, cuda.gridsize(1)):
        n = 0
        for k in range(c * chunk, min((c + 1) * chunk, mask.size)):
            if mask[k]:
                n += 1
        counts[c] = n


@cuda.jit
def exclusive_scan_k(counts, starts, total):
    """starts[c] = counts[0] + ... + counts[c-1]; one thread (there are few chunks)."""
    if cuda.grid(1) == 0:
        running = 0
        for c in range(counts.size):
            starts[c] = running
            running += counts[c]
        total[0] = running


@cuda.jit
def mask_positions_k(mask, starts, positions, chunk):
    for c in range(cuda.grid(1), starts.size, cuda.gridsize(1)):
        p = starts[c]
        for k in range(c * chunk, min((c + 1) * chunk, mask.size)):
            if mask[k]:
                positions[p] = k
                p += 1


# ============================================================================ reductions
@cuda.jit
def sum_k(a, out, keep_shape, keep_strides, red_shape, red_strides, red_size):
    """out[r] = sum of the elements that reduce into r: one block per output element."""
    buf = cuda.shared.array(TPB, dtype=np.float64)      # accumulate in float64
    for r in range(cuda.blockIdx.x, out.size, cuda.gridDim.x):
        base = strided_offset(r, keep_shape, keep_strides)
        s = 0.0
        for j in range(cuda.threadIdx.x, red_size, cuda.blockDim.x):
            s += a[base + strided_offset(j, red_shape, red_strides)]
        s = block_sum(buf, s)
        if cuda.threadIdx.x == 0:
            out[r] = s


@cuda.jit
def argbest_k(a, values, indices, keep_shape, keep_strides, red_shape, red_strides, red_size,
              want_max):
    """max/min and argmax/argmin together: each thread keeps its best (value, index), then
    the block picks the best pair by the same tree."""
    vbuf = cuda.shared.array(TPB, dtype=np.float64)
    ibuf = cuda.shared.array(TPB, dtype=np.int64)
    for r in range(cuda.blockIdx.x, values.size, cuda.gridDim.x):
        base = strided_offset(r, keep_shape, keep_strides)
        best = 0.0
        best_i = -1
        for j in range(cuda.threadIdx.x, red_size, cuda.blockDim.x):
            v = a[base + strided_offset(j, red_shape, red_strides)]
            if beats(v, j, best, best_i, want_max):
                best = v
                best_i = j
        best, best_i = block_argbest(vbuf, ibuf, best, best_i, want_max)
        if cuda.threadIdx.x == 0:
            values[r] = best
            indices[r] = best_i


# ============================================================================ softmax family
@cuda.jit
def softmax_k(x, out, keep_shape, keep_strides, n, step, log_out):
    """Softmax (or log-softmax) of each row; a row is n elements `step` apart, so any axis
    works without moving it last.  Pass 1: row max; pass 2: sum of exp(x - max); pass 3: write."""
    buf = cuda.shared.array(TPB, dtype=np.float64)
    for r in range(cuda.blockIdx.x, out.size // n, cuda.gridDim.x):
        base = strided_offset(r, keep_shape, keep_strides)
        m = -math.inf
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            if x[base + j * step] > m:
                m = x[base + j * step]
        m = block_max(buf, m)
        if m == -math.inf:                     # an all -inf row: avoid inf - inf
            m = 0.0
        s = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            s += math.exp(x[base + j * step] - m)          # x - max <= 0: no overflow
        s = block_sum(buf, s)
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            k = base + j * step
            if log_out:
                out[k] = x[k] - m - math.log(s)
            else:
                out[k] = math.exp(x[k] - m) / s


@cuda.jit
def softmax_backward_k(g, y, out, keep_shape, keep_strides, n, step, log_out):
    """softmax: y * (g - sum(g*y));  log-softmax: g - exp(y) * sum(g).  One block per row."""
    buf = cuda.shared.array(TPB, dtype=np.float64)
    for r in range(cuda.blockIdx.x, out.size // n, cuda.gridDim.x):
        base = strided_offset(r, keep_shape, keep_strides)
        d = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            k = base + j * step
            d += g[k] if log_out else g[k] * y[k]
        d = block_sum(buf, d)
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            k = base + j * step
            if log_out:
                out[k] = g[k] - math.exp(y[k]) * d
            else:
                out[k] = y[k] * (g[k] - d)


@cuda.jit
def ce_pick_k(logp, targets, losses):
    """losses[r] = -logp[r, target[r]]."""
    for r in range(cuda.grid(1), losses.size, cuda.gridsize(1)):
        losses[r] = -logp[r, targets[r]]


@cuda.jit
def exp_inplace_k(a):
    for i in range(cuda.grid(1), a.size, cuda.gridsize(1)):
        a[i] = math.exp(a[i])


@cuda.jit
def ce_backward_k(grad_losses, probs, targets, out):
    """(probs - onehot(targets)) * grad_losses[:, None], one element per thread."""
    C = probs.shape[1]
    for k in range(cuda.grid(1), probs.size, cuda.gridsize(1)):
        r = k // C
        j = k % C
        v = probs[r, j] * grad_losses[r]
        if j == targets[r]:
            v -= grad_losses[r]
        out[r, j] = v


# ============================================================================ convolution, pooling
@cuda.jit
def im2col_k(x, cols, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW):
    """cols[n, (c, i, j), (oh, ow)] = x[n, c, oh*sh - ph + i, ow*sw - pw + j], 0 in the padding.
    One thread per column entry: a pure gather, no races."""
    for e in range(cuda.grid(1), cols.size, cuda.gridsize(1)):
        ow = e % OW
        oh = (e // OW) % OH
        j = (e // (OW * OH)) % kw
        i = (e // (OW * OH * kw)) % kh
        c = (e // (OW * OH * kw * kh)) % C
        n = e // (OW * OH * kw * kh * C)
        h = oh * sh - ph + i
        w = ow * sw - pw + j
        if 0 <= h < H and 0 <= w < W:
            cols[e] = x[((n * C + c) * H + h) * W + w]
        else:
            cols[e] = 0


@cuda.jit
def col2im_k(cols, x, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW):
    """The adjoint of im2col, written as a gather: each pixel sums the column entries that
    read it (offset (i, j) of window (oh, ow) with oh*sh - ph + i == h).  One thread per
    pixel, so no two threads write one place and no atomics are needed."""
    for e in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        w = e % W
        h = (e // W) % H
        c = (e // (W * H)) % C
        n = e // (W * H * C)
        s = 0.0
        for i in range(kh):
            hh = h + ph - i
            if hh < 0 or hh % sh != 0 or hh // sh >= OH:
                continue
            for j in range(kw):
                ww = w + pw - j
                if ww < 0 or ww % sw != 0 or ww // sw >= OW:
                    continue
                row = (n * C + c) * kh * kw + i * kw + j
                s += cols[row * OH * OW + (hh // sh) * OW + ww // sw]
        x[e] = s


@cuda.jit
def max_pool_forward_k(x, out, argmax, H, W, kh, kw, sh, sw, ph, pw, OH, OW):
    """Window max and the flat index h*W + w of its first maximum (padding never wins)."""
    for e in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        ow = e % OW
        oh = (e // OW) % OH
        plane = e // (OW * OH)
        h0 = oh * sh - ph
        w0 = ow * sw - pw
        best = -math.inf
        best_i = max(h0, 0) * W + max(w0, 0)      # the window's first real pixel
        for i in range(kh):
            h = h0 + i
            if h < 0 or h >= H:
                continue
            for j in range(kw):
                w = w0 + j
                if w < 0 or w >= W:
                    continue
                v = x[plane * H * W + h * W + w]
                if v > best or (v != v and best == best):   # strict: the first max wins; NaN wins
                    best = v
                    best_i = h * W + w
        out[e] = best
        argmax[e] = best_i


@cuda.jit
def max_pool_backward_k(grad_out, argmax, grad_x, HW, OHW):
    """Send each output's gradient to its argmax pixel; windows may overlap, so add atomically."""
    for e in range(cuda.grid(1), grad_out.size, cuda.gridsize(1)):
        plane = e // OHW
        cuda.atomic.add(grad_x, plane * HW + argmax[e], grad_out[e])


# ============================================================================ matmul
# C[z] = A[z or 0] @ B[z or 0] for a batch of 2-D products (blockIdx.z is the batch entry; an
# operand with batch size 1 is shared by all).  Block: a 64x64 tile of C (16x16 in the
# simulator); thread (ty, tx) owns a 4x4 register tile; A and B are staged through shared
# memory 8 deep in K.
def _make_matmul_kernel(dtype):
    """The kernel for one dtype: a shared array needs its dtype fixed when the kernel compiles."""

    @cuda.jit
    def matmul_k(A, B, C):
        sA = cuda.shared.array((BK, BM), dtype=dtype)    # A tile stored k-major
        sB = cuda.shared.array((BK, BN), dtype=dtype)
        acc = cuda.local.array((TM, TN), dtype=dtype)    # the 4x4 register tile
        z = cuda.blockIdx.z
        za = z if A.shape[0] > 1 else 0
        zb = z if B.shape[0] > 1 else 0
        M = A.shape[1]
        K = A.shape[2]
        N = B.shape[2]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * MM_THREADS + tx
        row0 = cuda.blockIdx.y * BM
        col0 = cuda.blockIdx.x * BN
        for i in range(TM):
            for j in range(TN):
                acc[i, j] = 0
        for k0 in range(0, K, BK):
            # the block's threads stage 64x8 of A and 8x64 of B together (2 elements each on a
            # GPU), zero-padded past the edges
            for e in range(tid, BM * BK, MM_THREADS * MM_THREADS):
                r = e // BK
                kk = e % BK
                sA[kk, r] = A[za, row0 + r, k0 + kk] if (row0 + r < M and k0 + kk < K) else 0
                kk2 = e // BN
                c = e % BN
                sB[kk2, c] = B[zb, k0 + kk2, col0 + c] if (k0 + kk2 < K and col0 + c < N) else 0
            cuda.syncthreads()
            for kk in range(BK):
                for i in range(TM):
                    a = sA[kk, ty * TM + i]
                    for j in range(TN):
                        acc[i, j] += a * sB[kk, tx * TN + j]       # outer product in registers
            cuda.syncthreads()
        for i in range(TM):
            r = row0 + ty * TM + i
            if r < M:
                for j in range(TN):
                    c = col0 + tx * TN + j
                    if c < N:
                        C[z, r, c] = acc[i, j]

    return matmul_k


matmul_f32_k = _make_matmul_kernel(np.float32)
matmul_f64_k = _make_matmul_kernel(np.float64)


# ============================================================================ optimizers
@cuda.jit
def sgd_k(p, g, buf, lr, momentum, dampening, nesterov, wd, first, has_buf):
    """torch.optim.SGD, one parameter element per thread, in place."""
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        d = g[i] + wd * p[i] if wd != 0 else g[i]
        if has_buf:
            b = d if first else momentum * buf[i] + (1 - dampening) * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d


@cuda.jit
def adam_k(p, g, m, v, lr, beta1, beta2, eps, wd, decoupled, bc1, bc2_sqrt):
    """torch.optim.Adam / AdamW, one parameter element per thread, in place."""
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        gi = g[i]
        if wd != 0:
            if decoupled:
                p[i] = p[i] * (1 - lr * wd)
            else:
                gi = gi + wd * p[i]
        m[i] = beta1 * m[i] + (1 - beta1) * gi
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
        p[i] = p[i] - (lr / bc1) * (m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps))
