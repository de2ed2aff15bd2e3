"""`nn.functional` (imported as F): the layers and losses as plain functions of tensors.

The modules in `nn.modules` hold parameters and call these. Most are short compositions of
Tensor ops (autograd derives their gradients); convolution, pooling, cross-entropy, GELU,
leaky ReLU and softplus are single ops from `ops/nn.py` with their own backward.
"""
import math
import numbers
import warnings

import numpy as np

from .. import ops
from ..autograd import no_grad
from ..backend import kernels_for, move
from ..random import numpy_generator
from ..tensor import Tensor, check_same_device

__all__ = ["relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softplus", "softmax", "log_softmax",
           "linear", "conv2d", "max_pool2d", "avg_pool2d", "dropout", "embedding", "batch_norm",
           "one_hot", "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


def _pair(value, name="kernel_size"):
    """An int or a 2-sequence as an (int, int) pair, as PyTorch accepts for 2-d sizes."""
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    value = tuple(value)
    if len(value) == 1:
        return int(value[0]), int(value[0])
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return int(value[0]), int(value[1])


# --------------------------------------------------------------------------- activations
def relu(input, inplace=False):
    if inplace:  # the mask-saving LeakyReLU op with slope 0: it survives x being overwritten
        return input._write_in_place(ops.LeakyReLU, 0.0)
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return input._write_in_place(ops.LeakyReLU, float(negative_slope))
    return ops.LeakyReLU.apply(input, float(negative_slope))


def gelu(input, approximate="none"):
    """x * Phi(x) with the exact erf (PyTorch's default), or approximate='tanh':
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "none":
        return ops.GELU.apply(input)
    if approximate == "tanh":
        inner = (input + 0.044715 * input * input * input) * math.sqrt(2.0 / math.pi)
        return 0.5 * input * (1.0 + inner.tanh())
    raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def softplus(input, beta=1.0):
    """log(1 + exp(beta x)) / beta, computed without overflow."""
    if beta == 1:
        return ops.Softplus.apply(input)
    return ops.Softplus.apply(input * beta) / beta


def _softmax_dim(input, dim, name):
    """PyTorch's legacy rule when no dim is given (dim 0 for 0-, 1- and 3-d input, else 1),
    with its warning: the rule guesses, so say dim= explicitly."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  f"Change the call to include dim=X as an argument.", stacklevel=3)
    return 0 if input.dim() in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return input.softmax(_softmax_dim(input, dim, "softmax"))


def log_softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return input.log_softmax(_softmax_dim(input, dim, "log_softmax"))


# --------------------------------------------------------------------------- layers
def linear(input, weight, bias=None):
    """input @ weight.T + bias: weight is (out_features, in_features), as in PyTorch.

    One fused node (ops.Linear) rather than transpose, matmul and add: the layer every model
    has should cost one record in the graph."""
    if input.dim() == 0 or weight.dim() != 2:
        raise RuntimeError(f"linear: expected input of at least 1 dim and a 2-D weight, got "
                           f"{list(input.shape)} and {list(weight.shape)}")
    check_same_device(input, weight, bias)
    if input.dim() == 1:
        return linear(input.unsqueeze(0), weight, bias).squeeze(0)
    if input.shape[-1] != weight.shape[1]:
        rows = int(np.prod(input.shape[:-1]))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                           f"and {weight.shape[1]}x{weight.shape[0]})")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        out = input.matmul(weight.t())  # mixed dtypes: let the general ops promote
        return out if bias is None else out + bias
    return ops.Linear.apply(input, weight, bias)


def _batched_4d(input, name):
    """Accept (N, C, H, W) or an unbatched (C, H, W); returns the 4-d tensor and whether it
    was unbatched (so the result can be squeezed back)."""
    if input.dim() == 3:
        return input.unsqueeze(0), True
    if input.dim() != 4:
        raise RuntimeError(f"{name}: Expected 3D (unbatched) or 4D (batched) input, but got "
                           f"input of size: {list(input.shape)}")
    return input, False


def _unsupported(name, **settings):
    for setting, (value, default) in settings.items():
        if value != default:
            raise NotImplementedError(f"{name}: {setting}={value!r} is not implemented in tinygrad_edu "
                                      f"(only {setting}={default!r})")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (really cross-correlation, as in every deep learning library).
    `padding` is an int, a pair, 'valid' (no padding) or 'same' (odd kernels, stride 1)."""
    _unsupported("conv2d", dilation=(_pair(dilation, "dilation"), (1, 1)), groups=(groups, 1))
    check_same_device(input, weight, bias)
    x, unbatched = _batched_4d(input, "conv2d")
    if weight.dim() != 4:
        raise RuntimeError(f"conv2d: expected a 4-D weight (out_channels, in_channels, kH, kW), "
                           f"got weight of size {list(weight.shape)}")
    out_channels, in_channels, kh, kw = weight.shape
    if x.shape[1] != in_channels:
        raise RuntimeError(f"Given groups=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {in_channels} channels, but got "
                           f"{x.shape[1]} channels instead")
    stride = _pair(stride, "stride")
    padding = _conv_padding(padding, (kh, kw), stride)
    padded = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    if padded[0] < kh or padded[1] < kw:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x {padded[1]}). "
                           f"Kernel size: ({kh} x {kw}). Kernel size can't be greater than actual input size")
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f"conv2d: bias of shape {list(bias.shape)} does not match "
                           f"{out_channels} output channels")
    x, weight = (x, weight) if x.dtype is weight.dtype else (x.type(weight.dtype), weight)
    out = ops.Conv2d.apply(x.contiguous(), weight, bias, stride, padding)
    return out.squeeze(0) if unbatched else out


def _conv_padding(padding, kernel, stride):
    if padding == "valid":
        return 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise NotImplementedError("padding='same' needs odd kernel sizes in tinygrad_edu "
                                      "(even ones need uneven padding)")
        return (kernel[0] - 1) // 2, (kernel[1] - 1) // 2
    if isinstance(padding, str):
        raise ValueError(f"Invalid padding string {padding!r}, should be one of ('valid', 'same')")
    return _pair(padding, "padding")


def _pool_settings(name, input, kernel_size, stride, padding):
    """Normalise pooling arguments and check them with PyTorch's messages."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == () or stride == [] else _pair(stride, "stride")
    padding = _pair(padding, "padding")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                           f"pad={max(padding)}, kernel_size={max(kernel)} and dilation=1")
    _, c, h, w = input.shape
    oh = ops.conv_output_size(h, kernel[0], stride[0], padding[0])
    ow = ops.conv_output_size(w, kernel[1], stride[1], padding[1])
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{name}: Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{oh}x{ow}). Output size is too small")
    return kernel, stride, padding


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The max of each window; `stride` defaults to the kernel size (non-overlapping windows).
    With return_indices, also the flat index h * W + w of each max in its input plane."""
    _unsupported("max_pool2d", dilation=(_pair(dilation, "dilation"), (1, 1)), ceil_mode=(ceil_mode, False))
    x, unbatched = _batched_4d(input, "max_pool2d")
    kernel, stride, padding = _pool_settings("max_pool2d", x, kernel_size, stride, padding)
    x = x.contiguous()
    out = ops.MaxPool2d.apply(x, kernel, stride, padding)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    # the op keeps its argmax to itself; asking the kernel again is simplest
    _, argmax = kernels_for(x.payload).max_pool2d_forward(x.payload, kernel, stride, padding)
    indices = Tensor._wrap(argmax)
    return out, indices.squeeze(0) if unbatched else indices


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each window (zero padding counts toward the mean, as PyTorch's default)."""
    _unsupported("avg_pool2d", ceil_mode=(ceil_mode, False), count_include_pad=(count_include_pad, True),
                 divisor_override=(divisor_override, None))
    x, unbatched = _batched_4d(input, "avg_pool2d")
    kernel, stride, padding = _pool_settings("avg_pool2d", x, kernel_size, stride, padding)
    out = ops.AvgPool2d.apply(x.contiguous(), kernel, stride, padding)
    return out.squeeze(0) if unbatched else out


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability p and scale the rest by 1 / (1 - p), so the expected
    value is unchanged and evaluation (training=False, the identity) needs no rescaling.
    The mask comes from the seeded generator: manual_seed makes it reproducible."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        mask = np.zeros(input.shape, dtype=input.payload.dtype)
    else:
        keep = numpy_generator(generator).random(tuple(input.shape)) >= p
        mask = (keep / (1.0 - p)).astype(input.payload.dtype)
    mask = Tensor._wrap(move(mask, input.device))
    return input.mul_(mask) if inplace else input * mask


def embedding(input, weight, padding_idx=None):
    """Rows of `weight` picked by the integer tensor `input` (any shape): output shape is
    input.shape + (embedding_dim,). The row padding_idx gets no gradient."""
    if input.is_floating_point():
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {input.dtype} instead")
    count = weight.shape[0]
    # on a GPU the indices stay there: unchecked, as with PyTorch's device-side assert
    indices = input.payload if input.is_cuda else input._host_array()
    if not input.is_cuda and indices.size and (indices.min() < 0 or indices.max() >= count):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise IndexError(f"index out of range in self: index {bad} for an embedding of "
                         f"{count} rows (valid indices are 0 to {count - 1})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += count
    return ops.Embedding.apply(weight, input.long().payload, padding_idx)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) to zero mean and unit variance, then scale and shift.

    Training: use this batch's mean and (biased) variance, and move the running estimates
    toward them: running = (1 - momentum) * running + momentum * batch, where the running
    variance takes the unbiased batch variance (n / (n - 1) times), as PyTorch does.
    Evaluation: use the running estimates, so one sample's output does not depend on its batch.
    """
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {input.dim()}D input)")
    channels = input.shape[1]
    axes = (0,) + tuple(range(2, input.dim()))
    shape = (1, channels) + (1,) * (input.dim() - 2)
    if training:
        count = input.numel() // max(channels, 1)
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(input.shape)}")
        mean = input.mean(axes)
        var = input.var(axes, correction=0)
        if running_mean is not None:
            with no_grad():  # running statistics are state, not part of the graph
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.detach() * (momentum * count / (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are required when not training")
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) / (var.reshape(shape) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def one_hot(tensor, num_classes=-1):
    """(..., ) class indices -> (..., num_classes) int64 with a 1 at each index."""
    if tensor.is_floating_point():
        raise RuntimeError("one_hot is only applicable to index tensor.")
    indices = tensor._host_array().astype(np.int64)
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and indices.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if indices.size and indices.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (indices[..., None] == np.arange(num_classes)).astype(np.int64)
    return Tensor._wrap(move(out, tensor.device))


# --------------------------------------------------------------------------- losses
_REDUCTIONS = ("none", "mean", "sum")


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_if_broadcast(name, input, target):
    """mse/l1 broadcast different shapes, which is almost always a bug ((N, 1) vs (N,) makes
    an N x N loss): warn as PyTorch does."""
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"{name}: Using a target size ({list(target.shape)}) that is different to the "
                      f"input size ({list(input.shape)}). This will likely lead to incorrect results "
                      f"due to broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum) of squared differences."""
    _check_reduction(reduction)
    _warn_if_broadcast("mse_loss", input, target)
    difference = input - target
    return _reduce(difference * difference, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean (or sum) of absolute differences."""
    _check_reduction(reduction)
    _warn_if_broadcast("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def _class_inputs(name, input, target, ignore_index):
    """Check (N, C) scores against (N,) class indices and bring extra dims (N, C, d1, ...)
    to rows: returns 2-d scores, 1-d int64 targets and the shape of the per-element losses."""
    if not isinstance(target, Tensor):
        raise TypeError(f"{name}: target must be a Tensor of class indices, got {type(target).__name__}")
    if target.is_floating_point():
        raise RuntimeError(
            f"{name}: expected target to hold class indices (an integer tensor of shape "
            f"{list(input.shape[:1] + input.shape[2:]) if input.dim() >= 2 else []}), but got a "
            f"{target.dtype} tensor of shape {list(target.shape)}; convert it with target.long() "
            f"(class-probability targets are not supported)")
    if input.dim() == 1:  # one unbatched sample: (C,) scores and a 0-d target
        if target.dim() != 0:
            raise ValueError(f"{name}: for input of shape {list(input.shape)} (one sample) the "
                             f"target must be 0-d, got shape {list(target.shape)}")
        input, target, loss_shape = input.unsqueeze(0), target.reshape(1), ()
    elif input.dim() >= 2:
        expected = tuple(input.shape[:1]) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            if target.dim() >= 1 and target.shape[0] != input.shape[0]:
                raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                                 f"batch_size ({target.shape[0]}): input shape {list(input.shape)}, "
                                 f"target shape {list(target.shape)}")
            raise RuntimeError(f"{name}: input of shape {list(input.shape)} needs a target of shape "
                               f"{list(expected)}, got target shape {list(target.shape)}")
        loss_shape = expected
        if input.dim() > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C)
            input = input.permute(0, *range(2, input.dim()), 1)
            input = input.reshape(-1, input.shape[-1])
            target = target.reshape(-1)
    else:
        raise ValueError(f"{name}: input must have at least 1 dimension, got a 0-d tensor")
    classes = input.shape[1]
    # checked on the host only for CPU targets: reading cuda targets back would sync every step
    values = np.zeros(0, np.int64) if target.is_cuda else target._host_array()
    bad = values[((values < 0) | (values >= classes)) & (values != ignore_index)]
    if bad.size:
        raise IndexError(f"Target {bad[0]} is out of bounds for {classes} classes (class indices "
                         f"must lie in [0, {classes - 1}])")
    return input, target.long(), loss_shape


def _weighted_class_reduction(losses, target, weight, ignore_index, reduction, loss_shape, classes):
    """Apply class weights and ignore_index to per-row losses, then reduce. 'mean' divides by
    the total weight of the counted rows (not by N), exactly as PyTorch's weighted mean."""
    counted = target != ignore_index
    # the common case, a plain mean or sum (on cuda the weighted form below gives the same
    # numbers without reading `counted` back to the host)
    if weight is None and not counted.is_cuda and counted._host_array().all():
        return losses.reshape(loss_shape) if reduction == "none" else _reduce(losses, reduction)
    if weight is not None:
        if tuple(weight.shape) != (classes,):
            raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or "
                               f"no classes but got weight tensor of shape: {list(weight.shape)}")
        safe_target = target.where(counted, 0)
        row_weight = weight[safe_target] * counted.type(weight.dtype)
    else:
        row_weight = counted.type(losses.dtype)
    losses = losses * row_weight
    if reduction == "none":
        return losses.reshape(loss_shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / row_weight.sum()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[n, target[n]] averaged: the loss for log-probabilities (after log_softmax)."""
    _check_reduction(reduction)
    input, target, loss_shape = _class_inputs("nll_loss", input, target, ignore_index)
    counted = target != ignore_index
    picked = input.gather(1, target.where(counted, 0).unsqueeze(1)).squeeze(1)
    return _weighted_class_reduction(-picked, target, weight, ignore_index, reduction, loss_shape,
                                     input.shape[1])


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """log_softmax + nll_loss in one fused, overflow-free op. `input` holds raw scores
    (logits), (N, C) or (N, C, d1, ...); `target` holds class indices 0..C-1, int64."""
    _check_reduction(reduction)
    check_same_device(input, target)
    input, target, loss_shape = _class_inputs("cross_entropy", input, target, ignore_index)
    counted = target != ignore_index
    safe_target = target.where(counted, 0)  # an ignored row still needs a valid index in the kernel
    if not input.is_floating_point():
        input = input.float()
    losses = ops.CrossEntropy.apply(input.contiguous(), safe_target.contiguous().payload)
    return _weighted_class_reduction(losses, target, weight, ignore_index, reduction, loss_shape,
                                     input.shape[1])


def _same_shape(name, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: Using a target size ({list(target.shape)}) that is different to "
                         f"the input size ({list(input.shape)}) is deprecated. Please ensure they "
                         f"have the same size.")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p in [0, 1]. Each log is clamped at
    -100, as in PyTorch, so p = 0 or 1 gives a large finite loss instead of inf.
    Prefer binary_cross_entropy_with_logits on raw scores: it is more accurate."""
    _check_reduction(reduction)
    _same_shape("binary_cross_entropy", input, target)
    values = np.zeros(0) if input.is_cuda else input._host_array()   # (no host read on cuda)
    if values.size and (values.min() < 0 or values.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1 (got values from "
                           f"{values.min()} to {values.max()}; pass raw scores to "
                           f"binary_cross_entropy_with_logits instead)")
    # clamp p away from 0 first (to the tiniest positive float, whose log is below -100)
    # so log never sees 0 and warns; the result is then exactly max(log p, -100)
    tiniest = float(np.finfo(input.payload.dtype).smallest_subnormal)
    log_p = input.clamp(min=tiniest).log().clamp(min=-100.0)
    log_not_p = (1.0 - input).clamp(min=tiniest).log().clamp(min=-100.0)
    losses = -(target * log_p + (1.0 - target) * log_not_p)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy, in the stable form (1 - t) x + softplus(-x), which never
    takes the log of 0 or exp of a large number. pos_weight p scales the positive term:
    (1 - t) x + (1 + (p - 1) t) softplus(-x)."""
    _check_reduction(reduction)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    log_one_plus_exp = softplus(-input)  # = -log sigmoid(x)
    if pos_weight is not None:
        log_one_plus_exp = (1.0 + (pos_weight - 1.0) * target) * log_one_plus_exp
    losses = (1.0 - target) * input + log_one_plus_exp
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)
