"""Every differentiable Tensor op: forward against numpy, gradient against finite differences.

Each property test draws small random shapes (broadcasting pairs, size-1 and empty dims),
checks the forward result against the numpy formula, then runs `gradcheck` in float64.
Torch, when installed, is a second forward/backward oracle in the tests at the end.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck
from strategies import (arrays, away_from, broadcastable_pair, matmul_shapes, positive_arrays,
                        shape_and_dims, small_shapes)


def t64(array, requires_grad=True):
    return tg.tensor(np.asarray(array, dtype=np.float64), dtype=tg.float64, requires_grad=requires_grad)


def numel(shape):
    return int(np.prod(shape, dtype=np.int64))


def check(fn, reference, *inputs, **gradcheck_options):
    """Forward equals `reference` (numpy) and autograd equals finite differences."""
    out = fn(*[t64(a) for a in inputs])
    expected = np.asarray(reference(*inputs))
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-7, atol=1e-10)
    assert gradcheck(fn, [t64(a) for a in inputs], **gradcheck_options)


small_pairs = broadcastable_pair().filter(lambda p: numel(p[0]) <= 12 and numel(p[1]) <= 12)


# --------------------------------------------------------------------------- elementwise, binary
@given(shapes=small_pairs, data=st.data())
def test_add(shapes, data):
    a, b = data.draw(arrays(shapes[0])), data.draw(arrays(shapes[1]))
    check(lambda x, y: x + y, np.add, a, b)


@given(shapes=small_pairs, data=st.data())
def test_sub(shapes, data):
    a, b = data.draw(arrays(shapes[0])), data.draw(arrays(shapes[1]))
    check(lambda x, y: x - y, np.subtract, a, b)


@given(shapes=small_pairs, data=st.data())
def test_mul(shapes, data):
    a, b = data.draw(arrays(shapes[0])), data.draw(arrays(shapes[1]))
    check(lambda x, y: x * y, np.multiply, a, b)


@given(shapes=small_pairs, data=st.data())
def test_div(shapes, data):
    a = data.draw(arrays(shapes[0]))
    b = away_from(data.draw(arrays(shapes[1])), 0.0, 0.5)
    check(lambda x, y: x / y, np.divide, a, b)


@given(shapes=small_pairs, data=st.data())
def test_pow_positive_base(shapes, data):
    a = data.draw(positive_arrays(shapes[0]))
    b = data.draw(arrays(shapes[1], -2.0, 2.0))
    check(lambda x, y: x ** y, np.power, a, b)


@given(shape=small_shapes(), scalar=st.floats(-2.0, 2.0).filter(lambda v: abs(v) > 0.1), data=st.data())
def test_python_scalar_operands_and_reflected_forms(shape, scalar, data):
    a = data.draw(positive_arrays(shape))
    check(lambda x: x + scalar, lambda x: x + scalar, a)
    check(lambda x: scalar - x, lambda x: scalar - x, a)
    check(lambda x: scalar * x, lambda x: scalar * x, a)
    check(lambda x: scalar / x, lambda x: scalar / x, a)
    check(lambda x: x ** scalar, lambda x: x ** scalar, a)
    check(lambda x: abs(scalar) ** x, lambda x: abs(scalar) ** x, a)


# --------------------------------------------------------------------------- elementwise, unary
UNARY = {
    "neg": (lambda x: -x, np.negative, None),
    "exp": (lambda x: x.exp(), np.exp, None),
    "log": (lambda x: x.log(), np.log, "positive"),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, "positive"),
    "abs": (lambda x: x.abs(), np.abs, "away"),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), "away"),
    "tanh": (lambda x: x.tanh(), np.tanh, None),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), None),
    "clamp": (lambda x: x.clamp(-1.0, 1.5), lambda x: np.clip(x, -1.0, 1.5), "away_from_bounds"),
    "clamp_min": (lambda x: x.clamp(min=0.5), lambda x: np.maximum(x, 0.5), "away_from_bounds"),
    "clamp_max": (lambda x: x.clamp(max=-0.5), lambda x: np.minimum(x, -0.5), "away_from_bounds"),
    "clone": (lambda x: x.clone(), np.copy, None),
    "contiguous_of_transpose": (lambda x: x.t().contiguous() if x.dim() <= 2 else x.contiguous(),
                                lambda x: x.T.copy() if x.ndim <= 2 else x, None),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=small_shapes(), data=st.data())
def test_unary(name, shape, data):
    fn, reference, domain = UNARY[name]
    if domain == "positive":
        a = data.draw(positive_arrays(shape))
    else:
        a = data.draw(arrays(shape))
    if domain == "away":
        a = away_from(a, 0.0)
    if domain == "away_from_bounds":
        for bound in (-1.0, 1.5, 0.5, -0.5):
            a = away_from(a, bound, 0.05)
    check(fn, reference, a)


@given(shape=small_shapes(), data=st.data())
def test_float64_float32_float64_cast(shape, data):
    a = data.draw(arrays(shape))
    out = t64(a).float()
    assert out.dtype == tg.float32
    # a float32 step makes a finite difference of 1e-6 pure rounding noise: use a wider step
    check(lambda x: x.float().double() * 2, lambda x: (x.astype(np.float32).astype(np.float64) * 2),
          a, eps=1e-3, atol=1e-4)


@given(shapes=small_pairs, data=st.data())
def test_where(shapes, data):
    a, b = data.draw(arrays(shapes[0])), data.draw(arrays(shapes[1]))
    condition = data.draw(arrays(shapes[0])) > 0
    check(lambda x, y: tg.where(tg.tensor(condition), x, y), lambda x, y: np.where(condition, x, y), a, b)


def test_where_with_scalar_and_method_form():
    a = np.array([[1.0, -2.0], [3.0, -4.0]])
    check(lambda x: x.where(x > 0, 0.0), lambda x: np.where(x > 0, x, 0.0), a)
    check(lambda x: tg.where(x > 0, 1.0, x), lambda x: np.where(x > 0, 1.0, x), a)


# --------------------------------------------------------------------------- matmul, softmax
@given(shapes=matmul_shapes(), data=st.data())
def test_matmul(shapes, data):
    assume(numel(shapes[0]) <= 24 and numel(shapes[1]) <= 24)
    a, b = data.draw(arrays(shapes[0])), data.draw(arrays(shapes[1]))
    check(lambda x, y: x @ y, np.matmul, a, b)
    check(lambda x, y: tg.matmul(x, y), np.matmul, a, b)


@given(n=st.integers(0, 3), k=st.integers(0, 3), m=st.integers(0, 3), data=st.data())
def test_mm(n, k, m, data):
    a, b = data.draw(arrays((n, k))), data.draw(arrays((k, m)))
    check(lambda x, y: x.mm(y), np.matmul, a, b)
    check(lambda x, y: tg.mm(x, y), np.matmul, a, b)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True)) if x.size else x
    return e / e.sum(axis=axis, keepdims=True) if x.size else x


@given(shape_dim=shape_and_dims(), data=st.data())
def test_softmax(shape_dim, data):
    shape, dim = shape_dim
    dim = dim if isinstance(dim, int) else dim[0]
    a = data.draw(arrays(shape))
    check(lambda x: x.softmax(dim), lambda x: np_softmax(x, dim), a)


@given(shape_dim=shape_and_dims(), data=st.data())
def test_log_softmax(shape_dim, data):
    shape, dim = shape_dim
    dim = dim if isinstance(dim, int) else dim[0]
    a = data.draw(arrays(shape))
    check(lambda x: x.log_softmax(dim), lambda x: np.log(np_softmax(x, dim)) if x.size else x, a)
    check(lambda x: tg.log_softmax(x, dim), lambda x: np.log(np_softmax(x, dim)) if x.size else x, a)


def test_softmax_is_stable_for_large_logits():
    x = tg.tensor([[1000.0, 1001.0, 1002.0]])
    np.testing.assert_allclose(x.softmax(1).numpy(), np_softmax(np.array([[0.0, 1.0, 2.0]]), 1), rtol=1e-6)
    assert np.isfinite(x.log_softmax(1).numpy()).all()


# --------------------------------------------------------------------------- reductions
@given(shape_dim=shape_and_dims(), keepdim=st.booleans(), data=st.data())
def test_sum_with_dims(shape_dim, keepdim, data):
    shape, dim = shape_dim
    a = data.draw(arrays(shape))
    check(lambda x: x.sum(dim, keepdim=keepdim), lambda x: x.sum(axis=dim, keepdims=keepdim), a)


@given(shape=small_shapes(), data=st.data())
def test_sum_and_mean_of_everything(shape, data):
    a = data.draw(arrays(shape))
    check(lambda x: x.sum(), np.sum, a)
    if a.size:
        check(lambda x: x.mean(), np.mean, a)


@given(shape_dim=shape_and_dims(allow_empty=False), keepdim=st.booleans(), data=st.data())
def test_mean_with_dims(shape_dim, keepdim, data):
    shape, dim = shape_dim
    a = data.draw(arrays(shape))
    check(lambda x: x.mean(dim, keepdim=keepdim), lambda x: x.mean(axis=dim, keepdims=keepdim), a)


@given(leading=small_shapes(0, 2), last=st.integers(1, 4), keepdim=st.booleans(), data=st.data())
def test_mean_over_an_empty_kept_dim(leading, last, keepdim, data):
    """Reducing a non-empty dim of a tensor that has an empty one gives an empty result."""
    shape = (0,) + leading + (last,)
    a = data.draw(arrays(shape))
    check(lambda x: x.mean(-1, keepdim=keepdim), lambda x: x.mean(axis=-1, keepdims=keepdim), a)


@pytest.mark.parametrize("which", ["max", "min"])
@given(shape=small_shapes(min_dims=1), keepdim=st.booleans(), data=st.data())
def test_max_min_with_dim(which, shape, keepdim, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    assume(shape[dim] > 0)
    a = data.draw(arrays(shape))  # continuous draws: ties have probability zero
    reference = getattr(np, which)
    arg_reference = getattr(np, "arg" + which)
    result = getattr(t64(a), which)(dim, keepdim=keepdim)
    values, indices = result
    assert result.values is values and result.indices is indices
    np.testing.assert_array_equal(indices.numpy(), arg_reference(a, axis=dim, keepdims=keepdim))
    assert indices.dtype == tg.int64
    check(lambda x: getattr(x, which)(dim, keepdim=keepdim).values,
          lambda x: reference(x, axis=dim, keepdims=keepdim), a)


@pytest.mark.parametrize("which", ["max", "min"])
@given(shape=small_shapes(allow_empty=False), data=st.data())
def test_max_min_of_everything(which, shape, data):
    a = data.draw(arrays(shape))
    check(lambda x: getattr(x, which)(), getattr(np, which), a)


@pytest.mark.parametrize("which", ["var", "std"])
@given(shape_dim=shape_and_dims(allow_empty=False), keepdim=st.booleans(), unbiased=st.booleans(),
       data=st.data())
def test_var_std(which, shape_dim, keepdim, unbiased, data):
    shape, dim = shape_dim
    dims = (dim,) if isinstance(dim, int) else dim
    count = numel([shape[d] for d in dims])
    assume(count >= 2)
    a = data.draw(arrays(shape))
    reference = getattr(np, which)
    check(lambda x: getattr(x, which)(dim, unbiased=unbiased, keepdim=keepdim),
          lambda x: reference(x, axis=dim, keepdims=keepdim, ddof=int(unbiased)), a)


@given(shape=small_shapes(allow_empty=False), data=st.data())
def test_var_std_of_everything(shape, data):
    assume(numel(shape) >= 2)
    a = data.draw(arrays(shape))
    check(lambda x: x.var(), lambda x: np.var(x, ddof=1), a)
    check(lambda x: x.std(), lambda x: np.std(x, ddof=1), a)


# --------------------------------------------------------------------------- shape ops
@given(shape=small_shapes(), data=st.data())
def test_reshape_and_view(shape, data):
    a = data.draw(arrays(shape))
    target = tuple(reversed(shape))
    check(lambda x: x.reshape(target), lambda x: x.reshape(target), a)
    check(lambda x: x.view(-1), lambda x: x.reshape(-1), a)
    check(lambda x: x.flatten(), lambda x: x.reshape(-1), a)


@given(shape=small_shapes(), data=st.data())
def test_permute_transpose(shape, data):
    a = data.draw(arrays(shape))
    order = data.draw(st.permutations(range(len(shape))))
    check(lambda x: x.permute(*order), lambda x: np.transpose(x, order), a)
    if len(shape) >= 2:
        d0, d1 = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(st.integers(0, len(shape) - 1))
        check(lambda x: x.transpose(d0, d1), lambda x: np.swapaxes(x, d0, d1), a)
    if len(shape) <= 2:
        check(lambda x: x.t(), lambda x: x.T, a)


@given(shapes=small_pairs, data=st.data())
def test_expand(shapes, data):
    source, other = shapes
    target = np.broadcast_shapes(source, other)
    assume(numel(target) <= 24)
    a = data.draw(arrays(source))
    check(lambda x: x.expand(*target), lambda x: np.broadcast_to(x, target), a)
    check(lambda x: x.expand(target), lambda x: np.broadcast_to(x, target), a)


@given(shape=small_shapes(max_dims=3), data=st.data())
def test_unsqueeze_squeeze(shape, data):
    a = data.draw(arrays(shape))
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda x: x.unsqueeze(dim), lambda x: np.expand_dims(x, dim), a)
    check(lambda x: x.squeeze(), np.squeeze, a)


# --------------------------------------------------------------------------- indexing
@st.composite
def slice_indices(draw, shape):
    parts = []
    for size in shape:
        kind = draw(st.sampled_from(["slice", "int", "all", "none"] if size else ["slice", "all", "none"]))
        if kind == "slice":
            start = draw(st.integers(-size - 1, size + 1))
            stop = draw(st.integers(-size - 1, size + 1))
            parts.append(slice(start, stop, draw(st.integers(1, 3))))
        elif kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "none":
            parts.append(None)
            parts.append(slice(None))
        else:
            parts.append(slice(None))
    return tuple(parts)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_getitem_slices_ints_none(shape, data):
    a = data.draw(arrays(shape))
    index = data.draw(slice_indices(shape))
    check(lambda x: x[index], lambda x: x[index], a)


@given(shape=small_shapes(min_dims=1, allow_empty=False), data=st.data())
def test_getitem_integer_arrays_with_repeats(shape, data):
    a = data.draw(arrays(shape))
    picks = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=0, max_size=6))
    picks = np.array(picks, dtype=np.int64)
    check(lambda x: x[tg.tensor(picks, dtype=tg.int64)], lambda x: x[picks], a)
    check(lambda x: x[picks.tolist()], lambda x: x[picks], a)
    if len(shape) >= 2:
        columns = np.array(data.draw(st.lists(st.integers(0, shape[1] - 1), min_size=len(picks),
                                              max_size=len(picks))), dtype=np.int64)
        check(lambda x: x[picks, columns], lambda x: x[picks, columns], a)


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_getitem_bool_mask(shape, data):
    a = data.draw(arrays(shape))
    mask = data.draw(arrays(shape)) > 0
    check(lambda x: x[tg.tensor(mask)], lambda x: x[mask], a)
    row_mask = mask.reshape(shape[0], -1)[:, 0] if a.size else np.zeros(shape[0], bool)
    check(lambda x: x[tg.tensor(row_mask)], lambda x: x[row_mask], a)


def test_repeated_integer_index_accumulates():
    x = t64([1.0, 2.0, 3.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def setitem_then_return(base, index, value):
    out = base * 1  # a non-leaf, so index assignment is recorded
    out[index] = value
    return out


def np_setitem(base, index, value):
    out = base.copy()
    out[index] = value
    return out


@given(shape=small_shapes(min_dims=1), data=st.data())
def test_index_assignment_through_a_non_leaf(shape, data):
    a = data.draw(arrays(shape))
    index = data.draw(slice_indices(shape))
    target_shape = a[index].shape
    value_shape = target_shape[data.draw(st.integers(0, len(target_shape))):]  # broadcastable
    value = data.draw(arrays(value_shape))
    check(lambda x, v: setitem_then_return(x, index, v), lambda x, v: np_setitem(x, index, v), a, value)
    check(lambda x: setitem_then_return(x, index, 2.5), lambda x: np_setitem(x, index, 2.5), a)


@given(shape=small_shapes(min_dims=1, allow_empty=False), data=st.data())
def test_index_assignment_with_mask_and_int_array(shape, data):
    a = data.draw(arrays(shape))
    mask = data.draw(arrays(shape)) > 0
    check(lambda x: setitem_then_return(x, tg.tensor(mask), 0.0), lambda x: np_setitem(x, mask, 0.0), a)
    rows = np.unique(np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), max_size=3)), dtype=np.int64))
    value = data.draw(arrays((len(rows),) + shape[1:]))
    check(lambda x, v: setitem_then_return(x, rows, v), lambda x, v: np_setitem(x, rows, v), a, value)


@given(shape=small_shapes(min_dims=1, allow_empty=False), data=st.data())
def test_gather(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(0, s)) for s in shape)
    index_shape = index_shape[:dim % len(shape)] + (data.draw(st.integers(0, 3)),) + index_shape[dim % len(shape) + 1:]
    index = data.draw(arrays(index_shape, 0, shape[dim])).astype(np.int64).clip(0, shape[dim] - 1)
    a = data.draw(arrays(shape))
    sliced = tuple(slice(0, s) for s in index_shape)
    sliced = sliced[:dim % len(shape)] + (slice(None),) + sliced[dim % len(shape) + 1:]
    reference = lambda x: np.take_along_axis(x[sliced], index, dim)  # noqa: E731
    check(lambda x: x.gather(dim, tg.tensor(index)), reference, a)


# --------------------------------------------------------------------------- joining
@given(shape=small_shapes(min_dims=1, max_numel=12), sizes=st.lists(st.integers(0, 3), min_size=1, max_size=3),
       data=st.data())
def test_cat(shape, sizes, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for size in sizes:
        part_shape = list(shape)
        part_shape[dim] = size
        parts.append(data.draw(arrays(tuple(part_shape))))
    assume(sum(p.size for p in parts) <= 24)
    check(lambda *xs: tg.cat(list(xs), dim), lambda *xs: np.concatenate(xs, dim), *parts)


@given(shape=small_shapes(max_numel=8), count=st.integers(1, 3), data=st.data())
def test_stack(shape, count, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    parts = [data.draw(arrays(shape)) for _ in range(count)]
    check(lambda *xs: tg.stack(list(xs), dim), lambda *xs: np.stack(xs, dim), *parts)


# --------------------------------------------------------------------------- no_grad
NO_GRAD_OPS = [
    lambda x: x + 1, lambda x: x * x, lambda x: x / 2, lambda x: x ** 2, lambda x: -x,
    lambda x: x.exp(), lambda x: x.abs(), lambda x: x.relu(), lambda x: x.tanh(), lambda x: x.sigmoid(),
    lambda x: x.clamp(0, 1), lambda x: x @ x.t(), lambda x: x.softmax(1), lambda x: x.log_softmax(0),
    lambda x: x.sum(), lambda x: x.mean(0), lambda x: x.max(1).values, lambda x: x.var(),
    lambda x: x.reshape(-1), lambda x: x.permute(1, 0), lambda x: x.expand(2, 2, 3), lambda x: x[0],
    lambda x: x[[0, 0]], lambda x: x.gather(1, tg.tensor([[0], [1]])), lambda x: tg.cat([x, x]),
    lambda x: tg.stack([x, x]), lambda x: x.clone(), lambda x: x.float(), lambda x: x.where(x > 0, 0.0),
]


@pytest.mark.parametrize("op", NO_GRAD_OPS)
def test_no_grad_records_nothing(op):
    x = t64([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    with tg.no_grad():
        out = op(x)
    assert out.grad_fn is None and not out.requires_grad
    recorded = op(x)
    assert recorded.grad_fn is not None and recorded.requires_grad


# --------------------------------------------------------------------------- torch as an oracle
# Each case is f(library, *tensors), so the same line runs on tinygrad_edu and on torch.
TORCH_CASES = {
    "add_broadcast": (lambda lib, x, y: x + y, [(2, 3), (3,)]),
    "sub_broadcast": (lambda lib, x, y: x - y, [(2, 1), (1, 3)]),
    "mul": (lambda lib, x, y: x * y, [(2, 3), (2, 3)]),
    "div": (lambda lib, x, y: x / (y * y + 1), [(2, 3), (3,)]),
    "pow": (lambda lib, x, y: (x * x + 0.5) ** y, [(2, 3), (2, 3)]),
    "reflected": (lambda lib, x: 1 - x + 2 * x - 10 / (x * x + 1) + 2 ** x, [(2, 3)]),
    "matmul_batched": (lambda lib, x, y: x @ y, [(2, 1, 2, 3), (4, 3, 2)]),
    "matmul_1d": (lambda lib, x, y: x @ y, [(3,), (3, 2)]),
    "softmax": (lambda lib, x: x.softmax(-1), [(2, 4)]),
    "log_softmax": (lambda lib, x: lib.log_softmax(x, 0), [(3, 2)]),
    "sum_dims": (lambda lib, x: x.sum((0, -1), keepdim=True), [(2, 3, 2)]),
    "mean_dim": (lambda lib, x: x.mean(1), [(2, 3, 2)]),
    "max_dim": (lambda lib, x: x.max(1).values, [(2, 3)]),
    "min_dim_keep": (lambda lib, x: x.min(-1, keepdim=True).values, [(2, 3)]),
    "var": (lambda lib, x: x.var(0), [(3, 2)]),
    "std_biased": (lambda lib, x: x.std(1, unbiased=False), [(2, 3)]),
    "unary_chain": (lambda lib, x: (x.exp() + x.tanh() * x.sigmoid() - x.relu()).abs().sqrt(), [(2, 3)]),
    "log": (lambda lib, x: (x * x + 1).log(), [(4,)]),
    "clamp": (lambda lib, x: x.clamp(-0.5, 0.5), [(2, 3)]),
    "where": (lambda lib, x, y: lib.where(x > y, x, y), [(2, 3), (3,)]),
    "gather": (lambda lib, x: x.gather(1, lib.tensor([[0, 2], [1, 1]])), [(2, 3)]),
    "gather_smaller_index": (lambda lib, x: x.gather(0, lib.tensor([[1, 0]])), [(2, 3)]),
    "index": (lambda lib, x: x[0, 1:] + x[[1, 1, 0]].sum(0)[None, 1:], [(2, 3)]),
    "mask": (lambda lib, x: x[x > 0], [(2, 3)]),
    "cat": (lambda lib, x, y: lib.cat([x, y], 1), [(2, 3), (2, 1)]),
    "stack": (lambda lib, x, y: lib.stack([x, y], -1), [(2, 3), (2, 3)]),
    "permute_reshape": (lambda lib, x: x.permute(2, 0, 1).reshape(3, -1).t(), [(2, 2, 3)]),
    "expand": (lambda lib, x: x.expand(2, 3, 4), [(3, 1)]),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_forward_and_backward_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, shapes = TORCH_CASES[name]
    rng = np.random.default_rng(sorted(TORCH_CASES).index(name))
    inputs = [rng.uniform(-2, 2, size=shape) for shape in shapes]
    results = []
    for library in (tg, torch):
        tensors = [library.tensor(a, dtype=library.float64, requires_grad=True) for a in inputs]
        out = fn(library, *tensors)
        out.backward(library.ones(tuple(out.shape), dtype=library.float64))
        results.append((out.detach().numpy(), [t.grad.numpy() for t in tensors]))
    (ours, our_grads), (theirs, their_grads) = results
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    for mine, reference in zip(our_grads, their_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)
