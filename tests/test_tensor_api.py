"""The PyTorch-shaped Tensor API: dtypes, devices, factories, math, reductions, shapes,
indexing, in-place ops, conversion and repr. Oracles: numpy, and torch where importable."""
import numpy as np
import pytest

import tinygrad_edu as tg


def np_of(t):
    return t.detach().numpy()


# --------------------------------------------------------------------------- dtypes and devices
def test_dtype_names_and_aliases():
    assert tg.float is tg.float32 and tg.double is tg.float64 and tg.long is tg.int64
    assert tg.tensor([1.5, 2.0]).dtype == tg.float32
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor([True, False]).dtype == tg.bool
    assert tg.tensor(2.5).dtype == tg.float32 and tg.tensor(3).dtype == tg.int64
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == tg.float64
    assert tg.tensor(np.array([1.0, 2.0])).dtype == tg.float64  # numpy arrays keep their dtype
    assert repr(tg.float32) == "tinygrad_edu.float32"


def test_float64_keeps_full_precision():
    assert tg.tensor(0.1, dtype=tg.float64).item() == 0.1
    assert tg.tensor([0.1, 1 / 3], dtype=tg.double).tolist() == [0.1, 1 / 3]


def test_device_and_cuda_is_available():
    assert tg.device("cpu") == tg.device("cpu")
    assert str(tg.device("cpu")) == "cpu"
    assert tg.tensor([1.0]).device == tg.device("cpu")
    assert tg.tensor([1.0], device="cpu").device == "cpu"
    assert tg.zeros(2, device=tg.device("cpu")).device.type == "cpu"
    assert isinstance(tg.cuda.is_available(), bool)
    assert tg.tensor([1.0]).to("cpu").device.type == "cpu"


# --------------------------------------------------------------------------- creation
def test_tensor_factory_options():
    t = tg.tensor([[1, 2], [3, 4]], dtype=tg.float32, requires_grad=True, device="cpu")
    assert t.requires_grad and t.is_leaf and t.dtype == tg.float32
    np.testing.assert_array_equal(np_of(t), [[1, 2], [3, 4]])
    source = np.array([1.0, 2.0], dtype=np.float32)
    copied = tg.tensor(source)
    source[0] = 9.0
    assert copied.tolist() == [1.0, 2.0]  # tensor() copies


@pytest.mark.parametrize("factory,fill", [(tg.zeros, 0.0), (tg.ones, 1.0)])
def test_zeros_ones_sizes_as_varargs_tuple_and_size_keyword(factory, fill):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3]), factory(size=(2, 3)), factory(tg.Size([2, 3]))):
        assert t.shape == (2, 3) and t.dtype == tg.float32
        np.testing.assert_array_equal(t.numpy(), np.full((2, 3), fill))
    assert factory(3, dtype=tg.int64).dtype == tg.int64
    assert factory(2, requires_grad=True).requires_grad
    assert factory(()).shape == () and factory(0, 2).shape == (0, 2)


def test_full_empty_and_like():
    np.testing.assert_array_equal(tg.full((2, 2), 3.5).numpy(), np.full((2, 2), 3.5, np.float32))
    assert tg.full((2,), 3.5).dtype == tg.float32 and tg.full((2,), 7).dtype == tg.int64
    assert tg.empty(2, 3).shape == (2, 3) and tg.empty(size=(4,)).shape == (4,)
    base = tg.tensor([[1, 2, 3]], dtype=tg.float64)
    for like, fill in ((tg.zeros_like, 0), (tg.ones_like, 1)):
        t = like(base)
        assert t.shape == base.shape and t.dtype == tg.float64
        np.testing.assert_array_equal(t.numpy(), np.full((1, 3), fill))
    assert tg.zeros_like(base, dtype=tg.int64).dtype == tg.int64


def test_random_factories_shapes_ranges_and_dtypes():
    tg.manual_seed(0)
    r = tg.rand(1000)
    assert r.dtype == tg.float32 and 0 <= r.min().item() and r.max().item() < 1
    n = tg.randn(2, 500)
    assert n.shape == (2, 500) and abs(n.mean().item()) < 0.2 and 0.8 < n.std().item() < 1.2
    i = tg.randint(3, 7, (200,))
    assert i.dtype == tg.int64 and set(i.tolist()) <= {3, 4, 5, 6}
    assert tg.randint(5, (3, 2)).shape == (3, 2)
    assert tg.rand(size=(2, 2)).shape == (2, 2) and tg.randn((3,)).shape == (3,)


def test_manual_seed_makes_every_draw_reproducible():
    def draws():
        return [tg.rand(3).tolist(), tg.randn(2, 2).tolist(), tg.randint(0, 100, (4,)).tolist(),
                tg.zeros(3).uniform_().tolist(), tg.zeros(3).normal_().tolist()]
    tg.manual_seed(1234)
    first = draws()
    tg.manual_seed(1234)
    assert draws() == first
    tg.manual_seed(4321)
    assert draws() != first


def test_generator_object_is_independent_and_reproducible():
    g1, g2 = tg.Generator().manual_seed(7), tg.Generator().manual_seed(7)
    a = tg.rand(4, generator=g1)
    tg.rand(10)  # the default generator does not disturb g2
    b = tg.rand(4, generator=g2)
    assert a.tolist() == b.tolist()
    assert tg.randn(3, generator=g1).tolist() == tg.randn(3, generator=g2).tolist()
    assert g1.initial_seed() == 7


def test_arange_and_linspace_match_numpy():
    np.testing.assert_array_equal(tg.arange(5).numpy(), np.arange(5))
    assert tg.arange(5).dtype == tg.int64
    np.testing.assert_array_equal(tg.arange(2, 11, 3).numpy(), np.arange(2, 11, 3))
    f = tg.arange(0, 1, 0.25)
    assert f.dtype == tg.float32
    np.testing.assert_allclose(f.numpy(), np.arange(0, 1, 0.25))
    lin = tg.linspace(-1, 1, 5)
    assert lin.dtype == tg.float32
    np.testing.assert_allclose(lin.numpy(), np.linspace(-1, 1, 5), rtol=1e-6)


def test_eye():
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 4).numpy(), np.eye(2, 4))


def test_from_numpy_shares_memory_both_ways():
    array = np.zeros(3, dtype=np.float32)
    t = tg.from_numpy(array)
    array[0] = 5.0
    assert t[0].item() == 5.0
    t[1] = 7.0
    t.add_(1)
    np.testing.assert_array_equal(array, [6.0, 8.0, 1.0])
    assert tg.from_numpy(np.arange(3)).dtype == tg.int64


def test_legacy_constructors():
    f = tg.FloatTensor([1, 2])
    assert f.dtype == tg.float32 and f.tolist() == [1.0, 2.0]
    l = tg.LongTensor([1, 2])  # noqa: E741
    assert l.dtype == tg.int64 and l.tolist() == [1, 2]


# --------------------------------------------------------------------------- math and broadcasting
def test_arithmetic_broadcasting_and_reflected_forms():
    a_np = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    b_np = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    a, b = tg.tensor(a_np), tg.tensor(b_np)
    cases = [
        (a + b, a_np + b_np), (a - b, a_np - b_np), (a * b, a_np * b_np), (a / b, a_np / b_np),
        (a ** 2, a_np ** 2), (a @ b, a_np @ b_np), (-a, -a_np), (2 + a, 2 + a_np), (1 - a, 1 - a_np),
        (2 * a, 2 * a_np), (10 / a, 10 / a_np), (2 ** a, 2 ** a_np), (a ** b.abs(), a_np ** np.abs(b_np)),
        (a + 1.5, a_np + 1.5), (a_np + b, a_np + b_np),
    ]
    for ours, expected in cases:
        assert ours.dtype == tg.float32
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6)


def test_int_and_float_promotion():
    i = tg.tensor([1, 2, 3])
    assert (i + 1).dtype == tg.int64
    assert (i + 1.5).dtype == tg.float32
    assert (i / 2).dtype == tg.float32
    np.testing.assert_allclose((i / 2).numpy(), [0.5, 1.0, 1.5])
    assert (i * tg.tensor([1.0, 2.0, 3.0])).dtype == tg.float32


def test_comparisons_return_bool_tensors():
    a = tg.tensor([1.0, 2.0, 3.0])
    b = tg.tensor([3.0, 2.0, 1.0])
    for ours, expected in ((a < b, [True, False, False]), (a <= b, [True, True, False]),
                           (a > 2, [False, False, True]), (a >= 2, [False, True, True]),
                           (a == b, [False, True, False]), (a != b, [True, False, True]),
                           (2 < a, [False, False, True])):
        assert ours.dtype == tg.bool
        assert ours.tolist() == expected
    assert (a.reshape(3, 1) > b).shape == (3, 3)


def test_unary_math_matches_numpy():
    x_np = np.array([0.25, 1.0, 2.5], dtype=np.float32)
    x = tg.tensor(x_np)
    for ours, expected in ((x.exp(), np.exp(x_np)), (x.log(), np.log(x_np)), (x.sqrt(), np.sqrt(x_np)),
                           ((-x).abs(), x_np), ((x - 1).relu(), np.maximum(x_np - 1, 0)),
                           (x.tanh(), np.tanh(x_np)), (x.sigmoid(), 1 / (1 + np.exp(-x_np))),
                           (x.clamp(0.5, 2.0), np.clip(x_np, 0.5, 2.0)), (x.clamp(min=1.0), np.maximum(x_np, 1.0)),
                           (x.pow(3), x_np ** 3), (tg.exp(x), np.exp(x_np)), (tg.relu(x - 1), np.maximum(x_np - 1, 0))):
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6)


def test_matmul_shapes():
    rng = np.random.default_rng(0)
    for sa, sb in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                   ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4))]:
        a_np, b_np = rng.normal(size=sa).astype(np.float32), rng.normal(size=sb).astype(np.float32)
        out = tg.tensor(a_np) @ tg.tensor(b_np)
        expected = a_np @ b_np
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tg.mm(tg.ones(2, 3), tg.ones(3, 2)).numpy(), np.full((2, 2), 3.0))


def test_softmax_log_softmax_where_gather_cat_stack():
    x_np = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=np.float32)
    x = tg.tensor(x_np)
    e = np.exp(x_np - x_np.max(1, keepdims=True))
    np.testing.assert_allclose(x.softmax(1).numpy(), e / e.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(tg.softmax(x, dim=-1).numpy(), e / e.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(1).numpy(), np.log(e / e.sum(1, keepdims=True)), rtol=1e-5)
    np.testing.assert_array_equal(tg.where(x > 1, x, tg.zeros(1)).numpy(), np.where(x_np > 1, x_np, 0))
    index = np.array([[2, 0], [1, 1]])
    np.testing.assert_array_equal(x.gather(1, tg.tensor(index)).numpy(), np.take_along_axis(x_np, index, 1))
    np.testing.assert_array_equal(tg.cat([x, x[:1]]).numpy(), np.concatenate([x_np, x_np[:1]]))
    np.testing.assert_array_equal(tg.cat([x, x], dim=1).numpy(), np.concatenate([x_np, x_np], 1))
    np.testing.assert_array_equal(tg.stack([x, x], dim=1).numpy(), np.stack([x_np, x_np], 1))


# --------------------------------------------------------------------------- reductions
def test_reductions_with_dims_match_numpy():
    rng = np.random.default_rng(1)
    x_np = rng.normal(size=(2, 3, 4)).astype(np.float32)
    x = tg.tensor(x_np)
    for dim in (None, 0, -1, (0, 2), (-1, -2), (0, 1, 2)):
        for keepdim in (False, True):
            for name, reference in (("sum", np.sum), ("mean", np.mean)):
                ours = getattr(x, name)() if dim is None else getattr(x, name)(dim, keepdim=keepdim)
                expected = reference(x_np) if dim is None else reference(x_np, axis=dim, keepdims=keepdim)
                assert ours.shape == np.shape(expected)
                np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-6)
            if dim is not None:
                np.testing.assert_allclose(x.var(dim, keepdim=keepdim).numpy(),
                                           np.var(x_np, axis=dim, keepdims=keepdim, ddof=1), rtol=1e-4)
                np.testing.assert_allclose(x.std(dim, keepdim=keepdim).numpy(),
                                           np.std(x_np, axis=dim, keepdims=keepdim, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(x.var(unbiased=False).item(), np.var(x_np), rtol=1e-5)
    np.testing.assert_allclose(tg.sum(x, dim=1).numpy(), x_np.sum(1), rtol=1e-5)


def test_max_min_argmax_argmin():
    x_np = np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 0.5]], dtype=np.float32)
    x = tg.tensor(x_np)
    assert x.max().item() == 7.0 and x.min().item() == 0.5
    assert x.argmax().item() == 3 and x.argmin().item() == 5
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    result = x.min(-1, keepdim=True)
    assert result.values.shape == (2, 1) and result.indices.tolist() == [[0], [2]]
    assert x.argmax(dim=0).tolist() == [1, 0, 0]
    assert x.argmin(1, keepdim=True).tolist() == [[0], [2]]
    assert x.argmax().dtype == tg.int64
    np.testing.assert_array_equal(x.max(tg.tensor([4.0])).numpy(), np.maximum(x_np, 4.0))


def test_max_min_dim_against_torch():
    torch = pytest.importorskip("torch")
    x_np = np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 0.5]], dtype=np.float32)
    ours, theirs = tg.tensor(x_np).max(dim=1), torch.tensor(x_np).max(dim=1)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


# --------------------------------------------------------------------------- shape
def test_shape_is_a_size_tuple():
    t = tg.zeros(2, 3, 4)
    assert isinstance(t.shape, tuple) and isinstance(t.shape, tg.Size)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and len(t) == 2
    assert t.shape.numel() == 24
    assert repr(t.shape) == "tinygrad_edu.Size([2, 3, 4])"


def test_shape_ops_match_numpy():
    x_np = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = tg.tensor(x_np)
    cases = [
        (x.reshape(6, 4), x_np.reshape(6, 4)), (x.reshape(-1), x_np.reshape(-1)),
        (x.reshape((4, -1)), x_np.reshape(4, -1)), (x.view(2, 12), x_np.reshape(2, 12)),
        (x.transpose(0, 2), x_np.transpose(2, 1, 0)), (x[0].t(), x_np[0].T),
        (x.permute(1, 2, 0), x_np.transpose(1, 2, 0)), (x.permute((2, 0, 1)), x_np.transpose(2, 0, 1)),
        (x.unsqueeze(1), x_np[:, None]), (x.unsqueeze(-1), x_np[..., None]),
        (x[:1].squeeze(), x_np[0]), (x[:1].squeeze(0), x_np[0]), (x.flatten(), x_np.reshape(-1)),
        (x.flatten(1), x_np.reshape(2, 12)), (x[:, :1].expand(2, 5, 4), np.broadcast_to(x_np[:, :1], (2, 5, 4))),
        (x[:, :1].expand(-1, 3, -1), np.broadcast_to(x_np[:, :1], (2, 3, 4))),
        (x.transpose(0, 1).contiguous(), x_np.transpose(1, 0, 2)),
    ]
    for ours, expected in cases:
        assert ours.shape == expected.shape
        np.testing.assert_array_equal(ours.numpy(), expected)
    assert x.transpose(0, 1).contiguous().is_contiguous()
    assert x.reshape(6, 4).view(24).shape == (24,)


def test_view_shares_storage():
    x = tg.zeros(2, 3)
    v = x.view(6)
    v[0] = 5.0
    assert x[0, 0].item() == 5.0


# --------------------------------------------------------------------------- indexing
def test_indexing_matches_numpy():
    x_np = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = tg.tensor(x_np)
    mask = x_np > 10
    for index in [0, -1, (1, 2), (0, 1, 3), slice(1, None), (slice(None), slice(0, 3, 2)),
                  (None, 0), (Ellipsis, 1), (0, [2, 0, 2]), ([1, 0], [2, 1]), (slice(None), None, 1)]:
        np.testing.assert_array_equal(x[index].numpy(), x_np[index])
    np.testing.assert_array_equal(x[tg.tensor(mask)].numpy(), x_np[mask])
    np.testing.assert_array_equal(x[tg.tensor([1, 1, 0])].numpy(), x_np[[1, 1, 0]])
    np.testing.assert_array_equal(x[x > 10].numpy(), x_np[mask])


def test_index_assignment_matches_numpy():
    x_np = np.zeros((3, 4), dtype=np.float32)
    x = tg.tensor(x_np)
    for index, value in [(0, 1.0), ((slice(None), 1), 2.0), ((1, slice(1, 3)), tg.tensor([5.0, 6.0])),
                         ([2, 0], 3.0), ((slice(None), [3]), tg.tensor([[7.0], [8.0], [9.0]]))]:
        x[index] = value
        x_np[index] = np.asarray(value.numpy() if isinstance(value, tg.Tensor) else value)
        np.testing.assert_array_equal(x.numpy(), x_np)
    x[x > 5] = 0.0
    x_np[x_np > 5] = 0.0
    np.testing.assert_array_equal(x.numpy(), x_np)


def test_gradients_through_indexing():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    (x[0, 1:] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 2, 2], [0, 0, 0]])
    x.grad = None
    x[[1, 1, 0], [2, 2, 0]].sum().backward()  # repeated indices accumulate
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [0, 0, 2]])
    x.grad = None
    x[x > 2.5].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 1], [1, 1, 1]])


# --------------------------------------------------------------------------- in place
def test_inplace_ops_match_numpy():
    x = tg.tensor([1.0, 2.0, 3.0])
    storage = x.numpy()
    assert x.add_(1) is x
    x.sub_(0.5)
    x.mul_(2)
    x.div_(4)
    np.testing.assert_allclose(storage, ((np.array([1.0, 2, 3]) + 1 - 0.5) * 2) / 4)
    x.add_(tg.tensor([1.0, 1.0, 1.0]), alpha=2)
    np.testing.assert_allclose(storage, ((np.array([1.0, 2, 3]) + 1 - 0.5) * 2) / 4 + 2)
    x.fill_(3)
    assert x.tolist() == [3.0, 3.0, 3.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x.copy_(tg.tensor([4.0, 5.0, 6.0]))
    assert x.tolist() == [4.0, 5.0, 6.0]
    x.copy_(tg.tensor(1.5))  # broadcasts
    assert x.tolist() == [1.5, 1.5, 1.5]
    assert x.numpy() is storage or np.shares_memory(x.numpy(), storage)


def test_augmented_assignment_stays_in_place():
    x = tg.tensor([1.0, 2.0])
    before = x
    x += 1
    x -= 0.5
    x *= 4
    x /= 2
    assert x is before
    assert x.tolist() == [3.0, 5.0]


def test_uniform_normal_in_place():
    tg.manual_seed(0)
    u = tg.empty(2000).uniform_(-2, 3)
    assert -2 <= u.min().item() and u.max().item() < 3
    n = tg.empty(2000).normal_(5.0, 0.5)
    assert abs(n.mean().item() - 5.0) < 0.1 and abs(n.std().item() - 0.5) < 0.1


def test_requires_grad_():
    x = tg.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        (tg.ones(2, requires_grad=True) * 2).requires_grad_(False)


def test_data_shares_storage_and_records_nothing():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    d = p.data
    assert not d.requires_grad and d.grad_fn is None
    p.data -= 0.1 * p.grad  # the classic manual SGD step
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    d[0] = 9.0
    assert p[0].item() == 9.0


def test_grad_is_assignable():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    p.grad = tg.tensor([0.5, 0.5])
    (p * 2).sum().backward()
    assert p.grad.tolist() == [2.5, 2.5]
    p.grad = None
    (p * 3).sum().backward()
    assert p.grad.tolist() == [3.0, 3.0]


# --------------------------------------------------------------------------- conversion
def test_item_tolist_numpy():
    assert tg.tensor(2.5).item() == 2.5 and isinstance(tg.tensor(2.5).item(), float)
    assert tg.tensor([7]).item() == 7 and isinstance(tg.tensor([7]).item(), int)
    assert tg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert tg.tensor(True).item() is True
    t = tg.tensor([1.0, 2.0])
    array = t.numpy()
    assert isinstance(array, np.ndarray)
    array[0] = 10.0
    assert t[0].item() == 10.0  # shared
    t.mul_(2)
    assert array[1] == 4.0


def test_dtype_conversions():
    t = tg.tensor([1.7, -2.2, 0.0])
    assert t.float().dtype == tg.float32 and t.double().dtype == tg.float64
    assert t.long().tolist() == [1, -2, 0] and t.long().dtype == tg.int64
    assert t.bool().tolist() == [True, True, False]
    assert t.type(tg.float64).dtype == tg.float64 and t.type(tg.int64).dtype == tg.int64
    assert t.to(tg.float64).dtype == tg.float64
    assert t.to("cpu", tg.float64).dtype == tg.float64
    assert t.to(tg.tensor([1])).dtype == tg.int64
    assert t.type() == "tinygrad_edu.FloatTensor" and t.long().type() == "tinygrad_edu.LongTensor"
    assert t.float() is t  # no-op conversions return self, as in PyTorch


def test_clone_detach_array():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.grad_fn.name() == "CopyBackward"
    with tg.no_grad():
        c[0] = 5.0
    assert x[0].item() == 1.0  # a copy
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[1] = 7.0
    assert x[1].item() == 7.0  # shares storage
    np.testing.assert_array_equal(np.asarray(tg.tensor([1.0, 2.0])), [1.0, 2.0])
    assert np.asarray(tg.tensor([1.0, 2.0]), dtype=np.float64).dtype == np.float64
    assert np.asarray(x).tolist() == [1.0, 7.0]  # __array__ works on tensors that require grad


def test_python_number_conversions():
    assert float(tg.tensor([2.5])) == 2.5 and int(tg.tensor(3.9)) == 3
    assert bool(tg.tensor([1.0])) and not bool(tg.tensor(0))
    assert [10, 20, 30][tg.tensor(1)] == 20


# --------------------------------------------------------------------------- repr
def test_repr_like_pytorch():
    assert repr(tg.tensor([[1.0, 2.0]], requires_grad=True)) == "tensor([[1., 2.]], requires_grad=True)"
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert repr((x * 3.0123).mean()) == "tensor(7.5307, grad_fn=<MeanBackward>)"
    assert repr(tg.tensor([1, 2, 3])) == "tensor([1, 2, 3])"
    assert repr(tg.tensor([True, False])) == "tensor([ True, False])"
    assert repr(tg.tensor([1.5, 2.0], dtype=tg.float64)) == "tensor([1.5000, 2.0000], dtype=tinygrad_edu.float64)"
    assert repr(tg.tensor([])) == "tensor([])"
    assert str(tg.tensor(2.0)) == "tensor(2.)"


REPR_CASES = {
    "integral_2d": ([[1.0, 2.0], [3.0, 4.0]], {}),
    "non_integral": ([1.5, -2.25, 3.0], {}),
    "negative": ([-1.0, -2.5], {}),
    "zero_d": (-3.25, {}),
    "zero_d_integral": (2.0, {}),
    "empty": ([], {}),
    "empty_2d": ([[], []], {}),
    "empty_int": ([], {"dtype": "int64"}),
    "empty_bool": ([], {"dtype": "bool"}),
    "int": ([1, 2, 300], {}),
    "negative_int": ([[-1, 2], [3, -40]], {}),
    "bool": ([True, False, True], {}),
    "float64": ([1.5, 2.0], {"dtype": "float64"}),
    "float64_integral": ([1.0, 2.0], {"dtype": "float64"}),
    "int32": ([1, 2], {"dtype": "int32"}),
    "small_values": ([0.1, 0.25], {}),
    "requires_grad": ([[1.0, 2.0]], {"requires_grad": True}),
    "three_d": ([[[1.0, 2.5]], [[3.0, 4.0]]], {}),
}


@pytest.mark.parametrize("name", sorted(REPR_CASES))
def test_repr_matches_torch(name):
    torch = pytest.importorskip("torch")
    data, options = REPR_CASES[name]
    ours = repr(tg.tensor(data, **{k: getattr(tg, v) if k == "dtype" else v for k, v in options.items()}))
    theirs = repr(torch.tensor(data, **{k: getattr(torch, v) if k == "dtype" else v for k, v in options.items()}))
    assert ours.replace("tinygrad_edu.", "") == theirs.replace("torch.", "")


def test_grad_fn_repr_matches_torch_modulo_the_version_suffix():
    torch = pytest.importorskip("torch")
    for make in (lambda lib: (lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) * 3.0123).mean(),
                 lambda lib: lib.tensor([1.5, -2.0], requires_grad=True) + 1):
        ours, theirs = repr(make(tg)), repr(make(torch))
        assert ours == theirs.replace("Backward0", "Backward")
