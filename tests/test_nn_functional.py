"""nn.functional: every differentiable function against finite differences (gradcheck, float64)
and its forward values against a numpy formula (and against torch when it is installed)."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck


def t64(array, requires_grad=True):
    return tg.tensor(np.asarray(array, dtype=np.float64), dtype=tg.float64, requires_grad=requires_grad)


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- numpy oracles
def conv2d_numpy(x, w, b, stride, padding):
    """Direct definition: a dot product per output pixel, no im2col."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out if b is None else out + b[None, :, None, None]


def pool_numpy(x, kernel, stride, padding, reduce, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    n, c, h, w = x.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw], axis=(2, 3))
    return out


def log_softmax_numpy(x, axis=1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------------------- activations
ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "gelu": (F.gelu, lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    "tanh": (F.tanh, np.tanh),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x))),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda x: np.exp(log_softmax_numpy(x, 1))),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), lambda x: log_softmax_numpy(x, -1)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients(name):
    function, oracle = ACTIVATIONS[name]
    # keep away from the kinks at 0, where finite differences straddle two slopes
    x = rng(1).uniform(0.1, 3, size=(3, 4)) * rng(2).choice([-1, 1], size=(3, 4))
    np.testing.assert_allclose(function(t64(x, False)).numpy(), oracle(x), rtol=1e-10, atol=1e-12)
    assert gradcheck(function, [t64(x)])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "gelu", "gelu_tanh", "tanh", "sigmoid", "softplus"])
def test_activation_against_torch(name):
    torch = pytest.importorskip("torch")
    x = rng(3).normal(size=(4, 5)) * 3
    ours = ACTIVATIONS[name][0](t64(x, False)).numpy()
    torch_fn = {"relu": torch.relu, "leaky_relu": lambda v: torch.nn.functional.leaky_relu(v, 0.1),
                "gelu": torch.nn.functional.gelu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
                "gelu_tanh": lambda v: torch.nn.functional.gelu(v, approximate="tanh"),
                "softplus": torch.nn.functional.softplus}[name]
    np.testing.assert_allclose(ours, torch_fn(torch.tensor(x)).numpy(), rtol=1e-7, atol=1e-12)


def test_gelu_and_leaky_relu_gradient_at_zero_match_torch_convention():
    x = t64([0.0, 0.0])
    F.gelu(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5])  # Phi(0) + 0 * phi(0)
    y = t64([0.0])
    F.leaky_relu(y, 0.2).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.2])  # x > 0 is false at 0: the slope side


def test_softplus_is_stable_and_its_gradient_at_zero_is_one_half():
    x = t64([-1000.0, 0.0, 1000.0])
    out = F.softplus(x)
    np.testing.assert_allclose(out.detach().numpy(), [0.0, math.log(2), 1000.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 1.0])


def test_inplace_relu_and_leaky_relu_still_backpropagate():
    x = t64([-2.0, 3.0])
    y = x * 1.0
    F.relu(y, inplace=True)
    np.testing.assert_allclose(y.detach().numpy(), [0.0, 3.0])
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 6.0])
    z = t64([-2.0, 3.0])
    w = z * 1.0
    F.leaky_relu(w, 0.5, inplace=True).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [0.5, 1.0])


def test_softmax_without_dim_warns_and_uses_pytorchs_rule():
    x = t64(rng(4).normal(size=(2, 3)), False)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy().sum(axis=1), [1.0, 1.0])


# --------------------------------------------------------------------------- linear and conv
def test_linear_matches_formula_and_gradchecks():
    x, w, b = rng(5).normal(size=(4, 3)), rng(6).normal(size=(2, 3)), rng(7).normal(size=2)
    np.testing.assert_allclose(F.linear(t64(x, False), t64(w, False), t64(b, False)).numpy(), x @ w.T + b)
    assert gradcheck(F.linear, [t64(x), t64(w), t64(b)])
    assert gradcheck(lambda a, c: F.linear(a, c), [t64(x), t64(w)])


def test_linear_shape_error_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x3 and 2x5\)"):
        F.linear(tg.zeros(4, 3), tg.zeros(5, 2))


CONV_CASES = [  # (input shape, weight shape, stride, padding)
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 0),
    ((1, 2, 7, 5), (3, 2, 3, 3), 2, 1),      # stride 2, padding 1, odd sizes
    ((2, 1, 6, 7), (2, 1, 2, 3), (2, 1), (1, 0)),
    ((1, 2, 4, 4), (3, 2, 1, 1), 1, 0),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES)
def test_conv2d_matches_direct_definition(x_shape, w_shape, stride, padding):
    x, w, b = rng(8).normal(size=x_shape), rng(9).normal(size=w_shape), rng(10).normal(size=w_shape[0])
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    out = F.conv2d(t64(x, False), t64(w, False), t64(b, False), stride=stride, padding=padding)
    np.testing.assert_allclose(out.numpy(), conv2d_numpy(x, w, b, pair(stride), pair(padding)), atol=1e-10)
    no_bias = F.conv2d(t64(x, False), t64(w, False), None, stride=stride, padding=padding)
    np.testing.assert_allclose(no_bias.numpy(), conv2d_numpy(x, w, None, pair(stride), pair(padding)), atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES[:3])
def test_conv2d_gradcheck(x_shape, w_shape, stride, padding):
    x, w, b = rng(11).normal(size=x_shape), rng(12).normal(size=w_shape), rng(13).normal(size=w_shape[0])
    assert gradcheck(lambda a, c, d: F.conv2d(a, c, d, stride=stride, padding=padding), [t64(x), t64(w), t64(b)])
    assert gradcheck(lambda a, c: F.conv2d(a, c, stride=stride, padding=padding), [t64(x), t64(w)])


def test_conv2d_against_torch():
    torch = pytest.importorskip("torch")
    x, w, b = rng(14).normal(size=(2, 3, 9, 8)), rng(15).normal(size=(5, 3, 3, 3)), rng(16).normal(size=5)
    ours = F.conv2d(t64(x, False), t64(w, False), t64(b, False), stride=2, padding=1).numpy()
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2, padding=1)
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-10)


def test_conv2d_padding_strings_and_unbatched_input():
    x, w = rng(17).normal(size=(2, 6, 5)), rng(18).normal(size=(3, 2, 3, 3))
    same = F.conv2d(t64(x, False), t64(w, False), padding="same")
    assert same.shape == (3, 6, 5)  # unbatched in, unbatched out
    np.testing.assert_allclose(same.numpy(), conv2d_numpy(x[None], w, None, (1, 1), (1, 1))[0], atol=1e-10)
    assert F.conv2d(t64(x, False), t64(w, False), padding="valid").shape == (3, 4, 3)


def test_conv2d_errors_are_clear():
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 5, 5\] to have 2 channels, but got 3"):
        F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match=r"Kernel size can't be greater than actual input size"):
        F.conv2d(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 3, 3))
    with pytest.raises(NotImplementedError, match="dilation"):
        F.conv2d(tg.zeros(1, 1, 5, 5), tg.zeros(1, 1, 3, 3), dilation=2)
    with pytest.raises(RuntimeError, match="4D"):
        F.conv2d(tg.zeros(5, 5), tg.zeros(1, 1, 3, 3))


# --------------------------------------------------------------------------- pooling
POOL_CASES = [  # (input shape, kernel, stride, padding)
    ((2, 3, 4, 4), 2, None, 0),
    ((1, 2, 7, 5), 3, 2, 1),
    ((1, 1, 5, 6), (2, 3), (1, 2), (1, 1)),
]


def _pairs(kernel, stride, padding):
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return pair(kernel), pair(kernel if stride is None else stride), pair(padding)


@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_CASES)
def test_max_pool2d_values_and_gradcheck(shape, kernel, stride, padding):
    x = rng(19).permutation(np.prod(shape)).reshape(shape) / 7.0  # distinct values: no ties
    out = F.max_pool2d(t64(x, False), kernel, stride, padding)
    np.testing.assert_allclose(out.numpy(), pool_numpy(x, *_pairs(kernel, stride, padding), np.max, -np.inf))
    assert gradcheck(lambda a: F.max_pool2d(a, kernel, stride, padding), [t64(x)])


@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_CASES)
def test_avg_pool2d_values_and_gradcheck(shape, kernel, stride, padding):
    x = rng(20).normal(size=shape)
    out = F.avg_pool2d(t64(x, False), kernel, stride, padding)
    np.testing.assert_allclose(out.numpy(), pool_numpy(x, *_pairs(kernel, stride, padding), np.mean, 0.0), atol=1e-12)
    assert gradcheck(lambda a: F.avg_pool2d(a, kernel, stride, padding), [t64(x)])


def test_pools_against_torch():
    torch = pytest.importorskip("torch")
    x = rng(21).normal(size=(2, 3, 7, 6))
    for kernel, stride, padding in [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1))]:
        tx = torch.tensor(x)
        np.testing.assert_allclose(F.max_pool2d(t64(x, False), kernel, stride, padding).numpy(),
                                   torch.nn.functional.max_pool2d(tx, kernel, stride, padding).numpy())
        np.testing.assert_allclose(F.avg_pool2d(t64(x, False), kernel, stride, padding).numpy(),
                                   torch.nn.functional.avg_pool2d(tx, kernel, stride, padding).numpy(), atol=1e-12)
    _, ours = F.max_pool2d(t64(x, False), 3, 2, 1, return_indices=True)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool2d_gradient_goes_to_the_max_only():
    x = t64([[[[1.0, 5.0], [2.0, 3.0]]]])
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_pool_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(tg.zeros(1, 1, 6, 6), 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.avg_pool2d(tg.zeros(1, 1, 2, 2), 3)
    with pytest.raises(NotImplementedError, match="ceil_mode"):
        F.max_pool2d(tg.zeros(1, 1, 4, 4), 2, ceil_mode=True)


# --------------------------------------------------------------------------- dropout
def test_dropout_is_reproducible_scaled_and_identity_when_not_training():
    x = tg.ones(200, 50)
    tg.manual_seed(3)
    a = F.dropout(x, 0.3)
    tg.manual_seed(3)
    b = F.dropout(x, 0.3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    values = np.unique(a.numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((a.numpy() == 0).mean() - 0.3) < 0.02
    assert F.dropout(x, 0.3, training=False) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = t64(np.ones((4, 5)))
    tg.manual_seed(0)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())  # x = 1: grad = mask


# --------------------------------------------------------------------------- embedding, one_hot
def test_embedding_picks_rows_and_accumulates_repeated_ids():
    w = rng(22).normal(size=(5, 3))
    ids = tg.tensor([[0, 2], [2, 4]])
    out = F.embedding(ids, t64(w, False))
    np.testing.assert_array_equal(out.numpy(), w[[[0, 2], [2, 4]]])
    assert gradcheck(lambda weight: F.embedding(ids, weight), [t64(w)])
    weight = t64(w)
    F.embedding(ids, weight).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy()[:, 0], [1, 0, 2, 0, 1])


def test_embedding_padding_idx_gets_no_gradient_and_bad_index_is_named():
    weight = t64(rng(23).normal(size=(4, 2)))
    F.embedding(tg.tensor([0, 1, 1]), weight, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy()[:, 0], [1, 0, 0, 0])
    with pytest.raises(IndexError, match="index out of range in self: index 4"):
        F.embedding(tg.tensor([4]), weight)
    with pytest.raises(RuntimeError, match="indices"):
        F.embedding(tg.tensor([1.0]), weight)


def test_one_hot():
    out = F.one_hot(tg.tensor([0, 2, 1]))
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert out.dtype == tg.int64
    assert F.one_hot(tg.tensor([1]), num_classes=4).shape == (1, 4)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([3]), num_classes=3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tg.tensor([-1]), num_classes=3)


# --------------------------------------------------------------------------- batch norm
def batch_norm_numpy(x, gamma, beta, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (3, 2, 3, 3)])
def test_batch_norm_training_values_gradcheck_and_running_stats(shape):
    x, gamma, beta = rng(24).normal(size=shape) * 2 + 1, rng(25).normal(size=shape[1]), rng(26).normal(size=shape[1])
    running_mean, running_var = tg.zeros(shape[1], dtype=tg.float64), tg.ones(shape[1], dtype=tg.float64)
    out = F.batch_norm(t64(x, False), running_mean, running_var, t64(gamma, False), t64(beta, False),
                       training=True, momentum=0.1)
    np.testing.assert_allclose(out.numpy(), batch_norm_numpy(x, gamma, beta), atol=1e-10)
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.size // shape[1]
    np.testing.assert_allclose(running_mean.numpy(), 0.1 * x.mean(axis=axes))
    np.testing.assert_allclose(running_var.numpy(), 0.9 + 0.1 * x.var(axis=axes) * n / (n - 1))
    assert gradcheck(lambda a, g, b: F.batch_norm(a, None, None, g, b, training=True),
                     [t64(x), t64(gamma), t64(beta)])


def test_batch_norm_eval_uses_running_statistics():
    x = rng(27).normal(size=(4, 2))
    mean, var = np.array([0.5, -1.0]), np.array([2.0, 0.5])
    out = F.batch_norm(t64(x, False), t64(mean, False), t64(var, False), training=False)
    np.testing.assert_allclose(out.numpy(), (x - mean) / np.sqrt(var + 1e-5))
    assert gradcheck(lambda a: F.batch_norm(a, t64(mean, False), t64(var, False), training=False), [t64(x)])
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size \[1, 2\]"):
        F.batch_norm(t64(x[:1], False), None, None, training=True)


# --------------------------------------------------------------------------- regression losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1_losses(reduction):
    a, b = rng(28).normal(size=(3, 4)), rng(29).normal(size=(3, 4))
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    np.testing.assert_allclose(F.mse_loss(t64(a, False), t64(b, False), reduction=reduction).numpy(),
                               reduce((a - b) ** 2))
    np.testing.assert_allclose(F.l1_loss(t64(a, False), t64(b, False), reduction=reduction).numpy(),
                               reduce(np.abs(a - b)))
    assert gradcheck(lambda x, y: F.mse_loss(x, y, reduction=reduction), [t64(a), t64(b)])
    assert gradcheck(lambda x, y: F.l1_loss(x, y, reduction=reduction), [t64(a), t64(b)])


def test_regression_losses_warn_on_broadcasting_and_reject_bad_reduction():
    with pytest.warns(UserWarning, match=r"target size \(\[3\]\) that is different to the input size \(\[3, 1\]\)"):
        F.mse_loss(tg.zeros(3, 1), tg.zeros(3))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.l1_loss(tg.zeros(3), tg.zeros(3), reduction="avg")


# --------------------------------------------------------------------------- classification losses
def cross_entropy_numpy(logits, target, weight=None, ignore_index=-100, reduction="mean"):
    logp = log_softmax_numpy(logits, 1)
    counted = target != ignore_index
    safe = np.where(counted, target, 0)
    w = (np.ones(logits.shape[1]) if weight is None else weight)[safe] * counted
    losses = -logp[np.arange(len(target)), safe] * w
    return {"none": losses, "sum": losses.sum(), "mean": losses.sum() / w.sum()}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_values_and_gradcheck(reduction):
    logits, target = rng(30).normal(size=(5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    out = F.cross_entropy(t64(logits, False), tg.tensor(target), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), cross_entropy_numpy(logits, target, reduction=reduction), rtol=1e-12)
    assert gradcheck(lambda x: F.cross_entropy(x, tg.tensor(target), reduction=reduction), [t64(logits)])


def test_cross_entropy_weights_and_ignore_index():
    logits, target = rng(31).normal(size=(6, 3)), np.array([0, 2, -100, 1, 2, 0])
    weight = np.array([0.5, 2.0, 1.5])
    for reduction in ["mean", "sum", "none"]:
        out = F.cross_entropy(t64(logits, False), tg.tensor(target), weight=t64(weight, False), reduction=reduction)
        expected = cross_entropy_numpy(logits, target, weight, reduction=reduction)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
        assert gradcheck(lambda x, w: F.cross_entropy(x, tg.tensor(target), weight=w, reduction=reduction),
                         [t64(logits), t64(weight)])
    other_target = np.array([0, 2, 1, 1, 2, 0])
    ignored = F.cross_entropy(t64(logits, False), tg.tensor(other_target), ignore_index=2)
    np.testing.assert_allclose(ignored.numpy(), cross_entropy_numpy(logits, other_target, ignore_index=2))
    logits_t = t64(logits)
    F.cross_entropy(logits_t, tg.tensor(target)).backward()
    np.testing.assert_array_equal(logits_t.grad.numpy()[2], 0.0)  # an ignored row gets no gradient


def test_cross_entropy_against_torch_with_extra_dims():
    torch = pytest.importorskip("torch")
    logits, target = rng(32).normal(size=(2, 4, 3, 2)), rng(33).integers(0, 4, size=(2, 3, 2))
    weight = rng(34).uniform(0.5, 2, size=4)
    for reduction in ["mean", "sum", "none"]:
        ours = F.cross_entropy(t64(logits, False), tg.tensor(target), weight=t64(weight, False), reduction=reduction)
        theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                                   weight=torch.tensor(weight), reduction=reduction)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert gradcheck(lambda x: F.cross_entropy(x, tg.tensor(target)), [t64(logits)])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = t64([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    loss = F.cross_entropy(logits, tg.tensor([1, 2]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [2000.0, 1.0 + math.log1p(math.exp(-1.0))])
    loss.sum().backward()
    assert np.all(np.isfinite(logits.grad.numpy()))
    float32 = F.cross_entropy(tg.tensor([[1000.0, -1000.0]]), tg.tensor([0]))
    assert float32.item() == 0.0


def test_cross_entropy_error_messages():
    logits = tg.zeros(3, 3)
    with pytest.raises(IndexError, match="Target 5 is out of bounds for 3 classes"):
        F.cross_entropy(logits, tg.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds for 3 classes"):
        F.cross_entropy(logits, tg.tensor([0, -1, 1]))
    with pytest.raises(IndexError, match="Target 3 is out of bounds for 3 classes"):
        F.nll_loss(logits, tg.tensor([3, 0, 1]))
    with pytest.raises(RuntimeError, match=r"class indices.*float32.*target.long\(\)"):
        F.cross_entropy(logits, tg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"input batch_size \(3\) to match target batch_size \(2\).*\[3, 3\].*\[2\]"):
        F.cross_entropy(logits, tg.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 3 classes"):
        F.cross_entropy(logits, tg.tensor([0, 1, 2]), weight=tg.ones(2))


def test_cross_entropy_single_sample():
    logits = rng(35).normal(size=4)
    out = F.cross_entropy(t64(logits, False), tg.tensor(2))
    np.testing.assert_allclose(out.item(), -log_softmax_numpy(logits[None])[0, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_equals_cross_entropy_after_log_softmax(reduction):
    logits, target = rng(36).normal(size=(4, 5)), tg.tensor([4, 0, 2, 2])
    weight = t64(rng(37).uniform(0.5, 2, size=5), False)
    via_nll = F.nll_loss(F.log_softmax(t64(logits, False), 1), target, weight=weight, reduction=reduction)
    direct = F.cross_entropy(t64(logits, False), target, weight=weight, reduction=reduction)
    np.testing.assert_allclose(via_nll.numpy(), direct.numpy(), rtol=1e-12)
    assert gradcheck(lambda x: F.nll_loss(x, target, weight=weight, reduction=reduction), [t64(logits)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_losses(reduction):
    p, t = rng(38).uniform(0.05, 0.95, size=(3, 4)), rng(39).integers(0, 2, size=(3, 4)).astype(float)
    x = rng(40).normal(size=(3, 4)) * 3
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(F.binary_cross_entropy(t64(p, False), t64(t, False), reduction=reduction).numpy(),
                               reduce(bce))
    sig = 1 / (1 + np.exp(-x))
    logits_bce = -(t * np.log(sig) + (1 - t) * np.log(1 - sig))
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(t64(x, False), t64(t, False), reduction=reduction).numpy(),
        reduce(logits_bce), rtol=1e-10)
    assert gradcheck(lambda a: F.binary_cross_entropy(a, t64(t, False), reduction=reduction), [t64(p)])
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), [t64(x), t64(t)])
    pos_weight = t64([0.5, 1.0, 2.0, 3.0], False)
    weighted = F.binary_cross_entropy_with_logits(t64(x, False), t64(t, False), reduction=reduction, pos_weight=pos_weight)
    expected = -(pos_weight.numpy() * t * np.log(sig) + (1 - t) * np.log(1 - sig))
    np.testing.assert_allclose(weighted.numpy(), reduce(expected), rtol=1e-10)


def test_binary_losses_against_torch_and_stability():
    torch = pytest.importorskip("torch")
    x, t = rng(41).normal(size=(5, 2)) * 4, rng(42).uniform(0, 1, size=(5, 2))
    w, pw = rng(43).uniform(0.5, 2, size=(5, 2)), rng(44).uniform(0.5, 2, size=2)
    ours = F.binary_cross_entropy_with_logits(t64(x, False), t64(t, False), weight=t64(w, False), pos_weight=t64(pw, False))
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(x), torch.tensor(t), weight=torch.tensor(w), pos_weight=torch.tensor(pw))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(F.binary_cross_entropy(t64(p, False), t64(t, False)).item(),
                               torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t)).item(), rtol=1e-10)


def test_binary_cross_entropy_edges():
    huge = F.binary_cross_entropy_with_logits(t64([1000.0, -1000.0], False), t64([0.0, 1.0], False), reduction="none")
    np.testing.assert_allclose(huge.numpy(), [1000.0, 1000.0])
    clamped = F.binary_cross_entropy(t64([0.0, 1.0], False), t64([1.0, 0.0], False), reduction="none")
    np.testing.assert_allclose(clamped.numpy(), [100.0, 100.0])  # log clamped at -100, as PyTorch
    x = t64([0.0])
    F.binary_cross_entropy_with_logits(x, t64([1.0], False)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5])  # sigmoid(0) - 1, exact at the kink
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0]))
    with pytest.raises(ValueError, match=r"target size \(\[3\]\) that is different to the input size \(\[3, 1\]\)"):
        F.binary_cross_entropy_with_logits(tg.zeros(3, 1), tg.zeros(3))
