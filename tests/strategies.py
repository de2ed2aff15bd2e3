"""Hypothesis strategies shared by the tests: bounded floats, small shapes, broadcasting pairs."""
import numpy as np
from hypothesis import strategies as st

small_sizes = st.integers(min_value=0, max_value=4)
nonempty_sizes = st.integers(min_value=1, max_value=4)


def shapes(min_dims=0, max_dims=3, allow_empty=True):
    sizes = small_sizes if allow_empty else nonempty_sizes
    return st.lists(sizes, min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcastable_pair(draw, max_dims=3, allow_empty=True):
    """Two shapes that broadcast together: start from one shape, then drop leading dims
    and turn some sizes into 1 on either side."""
    base = draw(shapes(0, max_dims, allow_empty))
    def derive():
        kept = base[draw(st.integers(0, len(base))):]
        return tuple(1 if draw(st.booleans()) and draw(st.booleans()) else s for s in kept)
    return derive(), derive()


@st.composite
def arrays(draw, shape, low=-3.0, high=3.0, dtype=np.float64):
    """A float array of `shape` with values bounded away from overflow."""
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


@st.composite
def positive_arrays(draw, shape, low=0.5, high=3.0):
    return draw(arrays(shape, low, high))


# ---------------------------------------------------------------------- foundation tests
# (appended for test_tensor_ops.py / test_value.py: small enough that gradcheck stays fast)

def small_shapes(min_dims=0, max_dims=3, max_numel=24, allow_empty=True):
    """Shapes whose element count stays small (gradcheck perturbs every element twice)."""
    def small(shape):
        count = 1
        for size in shape:
            count *= size
        return count <= max_numel
    return shapes(min_dims, max_dims, allow_empty).filter(small)


@st.composite
def shape_and_dims(draw, min_dims=1, max_dims=3, allow_empty=True):
    """A small shape and a reduction `dim` for it: an int (maybe negative) or a tuple of them."""
    shape = draw(small_shapes(min_dims, max_dims, allow_empty=allow_empty))
    ndim = len(shape)
    as_int = st.integers(-ndim, ndim - 1)
    as_tuple = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(
        lambda dims: tuple(d - ndim if i % 2 else d for i, d in enumerate(dims)))
    return shape, draw(st.one_of(as_int, as_tuple))


@st.composite
def matmul_shapes(draw):
    """Two matmul-compatible shapes: 1-D, 2-D, or batched with broadcast batch dims (a 1-D
    operand next to a batched one too)."""
    n, k, m = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    kind = draw(st.sampled_from(["1d1d", "1d2d", "2d1d", "2d2d", "batched", "1d_batched",
                                 "batched_1d"]))
    if kind == "1d1d":
        return (k,), (k,)
    if kind == "1d2d":
        return (k,), (k, m)
    if kind == "2d1d":
        return (n, k), (k,)
    if kind == "2d2d":
        return (n, k), (k, m)
    batch_a, batch_b = draw(broadcastable_pair(max_dims=2, allow_empty=False))
    if kind == "1d_batched":
        return (k,), batch_b + (k, m)
    if kind == "batched_1d":
        return batch_a + (n, k), (k,)
    return batch_a + (n, k), batch_b + (k, m)


def away_from(values, point, margin=0.2):
    """Push entries of `values` at least `margin` away from `point` (for kinks: abs, relu)."""
    return np.where(np.abs(values - point) < margin,
                    point + margin * np.sign(values - point + 1e-12), values)
