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
