"""`Tensor`: an array that remembers how it was computed.

Storage is a numpy array on the CPU or a numba device array on the GPU (the *payload*).
The methods here are thin: they check arguments, turn Python scalars and dims into what an
op expects, and call `SomeOp.apply(...)`. The math and the derivatives live in `ops/`.
"""
import collections
import numbers

import numpy as np

from . import dtypes, ops
from .autograd import Variable, is_grad_enabled, no_grad
from .backend import device, device_of, is_contiguous, is_cuda_array, kernels_for, move
from .random import numpy_generator

__all__ = ["Tensor", "Size", "broadcast_error", "check_same_device"]

_ndarray = np.ndarray
MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])


class Size(tuple):
    """A tensor's shape: a tuple that prints like PyTorch's `torch.Size([2, 3])`."""

    def numel(self):
        count = 1
        for size in self:
            count *= size
        return count

    def __repr__(self):
        return f"tinygrad_edu.Size({list(self)})"


def broadcast_error(shape_a, shape_b):
    """The error for two shapes that do not broadcast, naming both and the dimension."""
    for offset in range(1, max(len(shape_a), len(shape_b)) + 1):
        a = shape_a[-offset] if offset <= len(shape_a) else 1
        b = shape_b[-offset] if offset <= len(shape_b) else 1
        if a != b and a != 1 and b != 1:
            dim = max(len(shape_a), len(shape_b)) - offset
            return RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {dim}: shapes {list(shape_a)} and {list(shape_b)} "
                f"cannot be broadcast together")
    return None


def check_same_device(*tensors):
    """Refuse to mix devices, naming both: data never moves between devices silently."""
    first = tensors[0]
    for other in tensors[1:]:
        # payload types differ exactly when devices may (numpy vs device array)
        if other is not None and type(other.payload) is not type(first.payload) \
                and other.device != first.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {first.device} and {other.device}!")


class Tensor(Variable):
    """An n-dimensional array with autograd. Make one with `tinygrad_edu.tensor(data)`."""
    __slots__ = ()
    __array_priority__ = 1000  # so `ndarray + tensor` calls Tensor.__radd__

    def __init__(self, *data):
        """`Tensor([1, 2])` copies data as float32; `Tensor(2, 3)` is uninitialised 2x3."""
        if len(data) == 1 and not isinstance(data[0], numbers.Integral):
            payload = np.array(data[0], dtype=np.float32)
        else:
            payload = np.empty(tuple(data), dtype=np.float32)
        Variable.__init__(self, payload)

    # ------------------------------------------------------------------ engine hooks
    @staticmethod
    def _wrap(payload):
        """A graph-free Tensor around an array (numpy turns 0-d results into scalars; undo that)."""
        if type(payload) is not _ndarray and not is_cuda_array(payload):
            payload = np.asarray(payload)
        tensor = Tensor.__new__(Tensor)
        # Variable.__init__'s fields, set here directly: every op's result is made here, and
        # the extra call cost 5% of a small op (tests/test_autograd.py checks both agree)
        tensor.payload = payload
        tensor.grad = None
        tensor.grad_fn = None
        tensor.requires_grad = False
        tensor._version_counter = None
        tensor._accumulator = None
        return tensor

    @staticmethod
    def _add_grads(a, b):
        return kernels_for(a, b).add(a, b)

    def _accumulate_grad(self, grad):
        if grad.shape != self.payload.shape:
            raise RuntimeError(f"gradient of shape {tuple(grad.shape)} arrived for a tensor of "
                               f"shape {tuple(self.payload.shape)}: a Function's backward "
                               f"returned a wrongly shaped gradient")
        K = kernels_for(grad)
        if grad.dtype != self.payload.dtype:
            grad = K.astype(grad, self.payload.dtype)
        if self.grad is None:
            # a copy of our own: the same gradient array may also go to other inputs
            self.grad = Tensor._wrap(K.copy(grad))
        else:
            self.grad = Tensor._wrap(K.add(self.grad.payload, grad))

    def _default_gradient(self):
        if self.payload.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return kernels_for(self.payload).ones_like(self.payload)

    def backward(self, gradient=None, retain_graph=False):
        """Backpropagate from this tensor; `gradient` is required unless it has one element."""
        if gradient is not None:
            gradient = gradient if isinstance(gradient, Tensor) else \
                Tensor._wrap(move(np.asarray(gradient, dtype=self.payload.dtype), self.device))
            if tuple(gradient.shape) != tuple(self.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output has a shape of "
                                   f"{list(gradient.shape)} and output has a shape of {list(self.shape)}")
        Variable.backward(self, gradient, retain_graph)

    # ------------------------------------------------------------------ properties
    @property
    def shape(self):
        return Size(self.payload.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.payload.shape[dim]

    def dim(self):
        return self.payload.ndim

    ndim = property(dim)

    def numel(self):
        return int(self.payload.size)

    nelement = numel

    @property
    def dtype(self):
        return dtypes.from_numpy_dtype(self.payload.dtype)

    @property
    def device(self):
        return device_of(self.payload)

    @property
    def is_cuda(self):
        return is_cuda_array(self.payload)

    def is_floating_point(self):
        return self.payload.dtype.kind == "f"

    def element_size(self):
        return self.payload.dtype.itemsize

    @property
    def data(self):
        """The same storage without history: changes through it are not tracked, which is
        why `param.data -= lr * param.grad` is allowed."""
        return Tensor._wrap(self.payload)

    @data.setter
    def data(self, value):
        self.payload = value.payload if isinstance(value, Tensor) else np.asarray(value)

    @property
    def T(self):
        return self.permute(*reversed(range(self.dim())))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    # ------------------------------------------------------------------ grad flags
    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        if requires_grad and not self.is_floating_point():
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(got {self.dtype})")
        self.requires_grad = requires_grad
        return self

    def detach(self):
        """The same storage and version counter, cut out of the graph."""
        out = Tensor._wrap(self.payload)
        out._version_counter = self._counter()
        return out

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    # ------------------------------------------------------------------ operands
    def _operand(self, other):
        """`other` as something an op accepts next to self: a Tensor or a Python number,
        with PyTorch's promotion (an int tensor meeting a float becomes float)."""
        if isinstance(other, Tensor):
            if type(other.payload) is not type(self.payload):  # maybe another device
                check_same_device(self, other)
            return other
        if isinstance(other, (bool, numbers.Number, np.generic)):
            return other.item() if isinstance(other, np.generic) else other
        if isinstance(other, (np.ndarray, list, tuple)):
            return Tensor._wrap(move(_as_array(other), self.device))
        return NotImplemented

    def _binary(self, function, other, reverse=False):
        """`self (op) other` (or `other (op) self` when reverse), `other` a Tensor or anything
        `_operand` accepts, with PyTorch's promotion. The common cases come first, checked
        cheaply: every small op pays for this."""
        if isinstance(other, Tensor):
            if type(other.payload) is not type(self.payload):
                check_same_device(self, other)
            a, b = (self, other) if other.payload.dtype is self.payload.dtype else _promote(self, other)
            apply = function.apply_two
        elif _number_needs_no_promotion(self, other):
            a, b = self, other
            apply = function.apply
        else:  # numpy scalars, lists and arrays, numbers that promote the tensor
            other = self._operand(other)
            if other is NotImplemented:
                return NotImplemented
            a, b = _promote(self, other)
            apply = function.apply
        if reverse:
            a, b = b, a
        try:
            return apply(a, b)
        except ValueError:
            error = broadcast_error(_shape(a), _shape(b))
            if error is None:
                raise
            raise error from None

    def __add__(self, other):
        return self._binary(ops.Add, other)

    def __radd__(self, other):
        return self._binary(ops.Add, other, reverse=True)

    def __sub__(self, other):
        return self._binary(ops.Sub, other)

    def __rsub__(self, other):
        return self._binary(ops.Sub, other, reverse=True)

    def __mul__(self, other):
        return self._binary(ops.Mul, other)

    def __rmul__(self, other):
        return self._binary(ops.Mul, other, reverse=True)

    def __truediv__(self, other):
        if not self.is_floating_point() and not _is_float_operand(other):
            return self.float()._binary(ops.Div, other)  # true division makes floats
        return self._binary(ops.Div, other)

    def __rtruediv__(self, other):
        if not self.is_floating_point() and not _is_float_operand(other):
            return self.float()._binary(ops.Div, other, reverse=True)
        return self._binary(ops.Div, other, reverse=True)

    def __pow__(self, other):
        return self._binary(ops.Pow, other)

    def __rpow__(self, other):
        return self._binary(ops.Pow, other, reverse=True)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __rmatmul__(self, other):
        other = self._operand(other)
        return NotImplemented if other is NotImplemented else other.matmul(self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    neg = __neg__

    def _compare(self, kernel_name, other):
        """Comparisons make bool tensors and record nothing: they have no gradient."""
        other = self._operand(other)
        if other is NotImplemented:
            return NotImplemented
        a, b = self.payload, other.payload if isinstance(other, Tensor) else other
        try:
            return Tensor._wrap(getattr(kernels_for(a, b), kernel_name)(a, b))
        except ValueError:
            # a and b are payloads here, not Tensors: read their shapes from the arrays
            error = broadcast_error(tuple(np.shape(a)), tuple(np.shape(b)))
            if error is None:
                raise
            raise error from None

    def __eq__(self, other):
        return False if other is None else self._compare("eq", other)

    def __ne__(self, other):
        return True if other is None else self._compare("ne", other)

    def __lt__(self, other):
        return self._compare("lt", other)

    def __le__(self, other):
        return self._compare("le", other)

    def __gt__(self, other):
        return self._compare("gt", other)

    def __ge__(self, other):
        return self._compare("ge", other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    __hash__ = Variable.__hash__  # identity, so tensors can be dict keys like PyTorch's

    def __invert__(self):
        if self.payload.dtype != np.bool_:
            raise TypeError("~ is only supported on bool tensors here")
        return Tensor._wrap(kernels_for(self.payload).eq(self.payload, False))

    def logical_not(self):
        return ~(self.bool())

    def __and__(self, other):
        return self._compare("logical_and", other)

    def __or__(self, other):
        return self._compare("logical_or", other)

    # ------------------------------------------------------------------ unary math
    def exp(self):
        return ops.Exp.apply(self._as_float())

    def log(self):
        return ops.Log.apply(self._as_float())

    def sqrt(self):
        return ops.Sqrt.apply(self._as_float())

    def abs(self):
        return ops.Abs.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self._as_float())

    def sigmoid(self):
        return ops.Sigmoid.apply(self._as_float())

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return ops.Clamp.apply(self, min, max)

    clip = clamp

    def square(self):
        return self * self

    def rsqrt(self):
        return self.sqrt().reciprocal()

    def reciprocal(self):
        return 1.0 / self

    def maximum(self, other):
        """Elementwise max; composed from where (ties send the gradient to self)."""
        other = self._operand(other)
        return ops.Where.apply(self >= other, self, other)

    def minimum(self, other):
        other = self._operand(other)
        return ops.Where.apply(self <= other, self, other)

    def _as_float(self):
        return self if self.is_floating_point() else self.float()

    # ------------------------------------------------------------------ matmul and softmax
    def matmul(self, other):
        """`@` for operands of 2 or more dims (batched, with broadcast batch dims); 1-D operands
        go through `_matmul_vectors`. The 2-D-and-up path comes first: it is the hot one."""
        other = self._operand(other)  # refuses another device; a list or array becomes a tensor
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul expects a tensor, got {type(other).__name__}")
        a, b = self.payload, other.payload
        if a.ndim < 2 or b.ndim < 2:
            return self._matmul_vectors(other)
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[-2]}x"
                               f"{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
        left, right = (self, other) if a.dtype is b.dtype else _promote(self, other)
        try:
            return ops.MatMul.apply_two(left, right)
        except ValueError:
            raise broadcast_error(a.shape[:-2], b.shape[:-2]) from None

    __matmul__ = matmul  # `x @ y` is this method itself: one Python call less per product

    def _matmul_vectors(self, other):
        """A 1-D operand is a row on the left, a column on the right, squeezed out after."""
        dims_a, dims_b = self.dim(), other.dim()
        if dims_a == 0 or dims_b == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                               f"{dims_a}D and {dims_b}D")
        out = (self.unsqueeze(0) if dims_a == 1 else self).matmul(
            other.unsqueeze(-1) if dims_b == 1 else other)
        # drop the added row first: for 1-D @ 1-D the result (1, 1) must reach () and
        # squeeze(-2) of a 1-D result would be out of range
        if dims_a == 1:
            out = out.squeeze(-2)
        if dims_b == 1:
            out = out.squeeze(-1)
        return out

    def mm(self, other):
        if self.dim() != 2 or getattr(other, "ndim", 0) != 2:
            raise RuntimeError(f"mm: both arguments must be 2-D, got {self.dim()}D and "
                               f"{getattr(other, 'ndim', 0)}D")
        return self.matmul(other)

    def softmax(self, dim):
        return ops.Softmax.apply(self._as_float(), _one_dim(dim, self.dim()))

    def log_softmax(self, dim):
        return ops.LogSoftmax.apply(self._as_float(), _one_dim(dim, self.dim()))

    def where(self, condition, other):
        """`self` where condition holds, else `other` (PyTorch's method form)."""
        a, b = _promote(self, self._operand(other))
        return ops.Where.apply(_condition(condition), a, b)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        source = self.to(dtype) if dtype is not None else self
        if source.payload.dtype == np.bool_:
            source = source.long()
        return ops.Sum.apply(source, _dims(dim, self.dim()), keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        source = self.to(dtype) if dtype is not None else self
        if not source.is_floating_point():
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be a "
                               f"floating point dtype. Got: {source.dtype}")
        return ops.Mean.apply(source, _dims(dim, self.dim()), keepdim)

    def _pick(self, kernel_name, function, result_type, dim, keepdim):
        K = kernels_for(self.payload)
        # an empty tensor has no largest element, but max(dim) of a (0, 3) tensor along dim 1
        # is a fine empty result: only refuse when the reduced dim itself is empty
        if self.numel() == 0 and dim is None:
            raise RuntimeError(f"{result_type.__name__}(): Expected reduction dim to be specified "
                               f"for input.numel() == 0")
        if self.numel() == 0 and self.shape[_one_dim(dim, self.dim())] == 0:
            raise IndexError(f"{result_type.__name__}(): Expected reduction dim "
                             f"{_one_dim(dim, self.dim())} to have non-zero size.")
        if dim is None:
            flat = self.reshape(-1)
            index = getattr(K, kernel_name)(flat.payload, 0, True)
            return function.apply(flat, index, 0, False).reshape(())
        axis = _one_dim(dim, self.dim())
        source = self.reshape(1) if self.dim() == 0 else self
        indices = getattr(K, kernel_name)(source.payload, axis, True)
        values = function.apply(source, indices, axis, keepdim)
        kept = Tensor._wrap(indices if keepdim else indices.reshape(values.payload.shape))
        if self.dim() == 0:
            values, kept = values.reshape(()), kept.reshape(())
        return result_type(values, kept)

    def max(self, dim=None, keepdim=False):
        """max() is the largest element; max(dim) is (values, indices) along dim;
        max(tensor) is the elementwise maximum."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._pick("argmax", ops.Max, MaxResult, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._pick("argmin", ops.Min, MinResult, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        out = self.max(dim, keepdim)
        return out if dim is None else out.values

    def argmax(self, dim=None, keepdim=False):
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg("argmin", dim, keepdim)

    def _arg(self, kernel_name, dim, keepdim):
        kernel = getattr(kernels_for(self.payload), kernel_name)
        if dim is None:
            return Tensor._wrap(kernel(self.payload.reshape(-1), 0, False))
        return Tensor._wrap(kernel(self.payload, _one_dim(dim, self.dim()), keepdim))

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        """Mean squared deviation, divided by n - correction (1 by default, as in PyTorch)."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        dims = _dims(dim, self.dim())
        count = self.numel() if dims is None else int(np.prod([self.shape[d] for d in dims]))
        deviation = self - self.mean(dims, keepdim=True)
        return (deviation * deviation).sum(dims, keepdim=keepdim) / max(count - correction, 0)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return self.var(dim, unbiased, keepdim, correction).sqrt()

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return ops.Reshape.apply(self, _resolve_shape(_size_args(shape), self.numel()))

    def view(self, *shape):
        shape = _resolve_shape(_size_args(shape), self.numel())
        if not is_contiguous(self.payload) and self.numel() > 1 and shape != self.payload.shape:
            raise RuntimeError("view size is not compatible with input tensor's size and stride "
                               "(at least one dimension spans across two contiguous subspaces). "
                               "Use .reshape(...) instead.")
        return ops.Reshape.apply(self, shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *dims):
        dims = _size_args(dims)
        if sorted(d % max(self.dim(), 1) for d in dims) != list(range(self.dim())):
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of dimensions "
                               f"i.e. input.dim() = {self.dim()} is not equal to len(dims) = {len(dims)}"
                               if len(dims) != self.dim() else f"permute: repeated dim in {dims}")
        return ops.Permute.apply(self, tuple(d % self.dim() for d in dims))

    def transpose(self, dim0, dim1):
        axes = list(range(self.dim()))
        dim0, dim1 = _one_dim(dim0, self.dim()), _one_dim(dim1, self.dim())
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return ops.Permute.apply(self, tuple(axes))

    def t(self):
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
        return self if self.dim() < 2 else self.transpose(0, 1)

    def unsqueeze(self, dim):
        dim = _one_dim(dim, self.dim() + 1)
        shape = self.payload.shape
        return ops.Reshape.apply(self, shape[:dim] + (1,) + shape[dim:])

    def squeeze(self, dim=None):
        shape = self.payload.shape
        if dim is None:
            new_shape = tuple(s for s in shape if s != 1)
        else:
            dims = _dims(dim, self.dim()) or ()
            new_shape = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        return self if new_shape == shape else ops.Reshape.apply(self, new_shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.dim() == 0:
            return self.reshape(1)
        start, end = _one_dim(start_dim, self.dim()), _one_dim(end_dim, self.dim())
        shape = self.payload.shape
        return self.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def unflatten(self, dim, sizes):
        dim = _one_dim(dim, self.dim())
        shape = self.payload.shape
        return self.reshape(shape[:dim] + tuple(sizes) + shape[dim + 1:])

    def expand(self, *sizes):
        sizes = _size_args(sizes)
        shape = self.payload.shape
        if len(sizes) < len(shape):
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                               f"greater or equal to the number of dimensions in the tensor ({len(shape)})")
        padded = (1,) * (len(sizes) - len(shape)) + shape
        target = tuple(old if new == -1 else new for old, new in zip(padded, sizes))
        for old, new in zip(padded, target):
            if old != new and old != 1:
                raise RuntimeError(f"The expanded size of the tensor ({new}) must match the "
                                   f"existing size ({old}) at non-singleton dimension: "
                                   f"shape {list(shape)} cannot expand to {list(sizes)}")
        return ops.Expand.apply(self, target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def contiguous(self):
        return self if is_contiguous(self.payload) else ops.Copy.apply(self)

    def is_contiguous(self):
        return bool(is_contiguous(self.payload))

    def clone(self):
        return ops.Copy.apply(self)

    def gather(self, dim, index):
        index = _index_payload(index)
        dim = _one_dim(dim, self.dim())
        if index.ndim != self.dim():
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        # PyTorch allows index.size(d) <= self.size(d) for d != dim and reads only the leading
        # part of those dims; take_along_axis wants them equal, so cut self down to match
        if any(i != s for d, (i, s) in enumerate(zip(index.shape, self.payload.shape)) if d != dim):
            source = self[tuple(slice(None) if d == dim else slice(0, i) for d, i in enumerate(index.shape))]
            return ops.Gather.apply(source, dim, index)
        return ops.Gather.apply(self, dim, index)

    def chunk(self, chunks, dim=0):
        size = -(-self.shape[dim] // chunks)
        return self.split(size, dim)

    def split(self, split_size, dim=0):
        dim = _one_dim(dim, self.dim())
        length = self.shape[dim]
        sizes = split_size if isinstance(split_size, (list, tuple)) else \
            [min(split_size, length - start) for start in range(0, length, split_size)]
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self[(slice(None),) * dim + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def __getitem__(self, index):
        index = _normalize_index(index)
        try:
            return ops.GetItem.apply(self, index)
        except IndexError as error:
            raise IndexError(f"{error} (tensor of shape {list(self.shape)})") from None

    def __setitem__(self, index, value):
        value = self._operand(value)
        if value is NotImplemented:
            raise TypeError(f"can't assign a {type(value).__name__} to a tensor")
        self._write_in_place(ops.IndexPut, _normalize_index(index), value)

    def __len__(self):
        if self.dim() == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.payload.shape[0]

    def __iter__(self):
        if self.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------------------------ in place
    def _write_in_place(self, function, *args):
        """Every in-place op: compute `function(self, *args)` out of place, write the result
        into self's storage (so views see it), bump the version counter, and, when recording,
        make self the output of the new node."""
        recording = is_grad_enabled() and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
        if recording and self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation. Wrap it in `with no_grad():` or use `.data`.")
        if recording:
            result = function.apply(self, *args)
        else:
            with no_grad():
                result = function.apply(self, *args)
        if result.payload.shape != self.payload.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                               f"shape {list(result.shape)}")
        if not np.can_cast(result.payload.dtype, self.payload.dtype, casting="same_kind"):
            raise RuntimeError(f"result type {dtypes.from_numpy_dtype(result.payload.dtype)} can't be "
                               f"cast to the desired output type {self.dtype}")
        kernels_for(self.payload).copy_into(self.payload, result.payload)
        self._counter().bump()
        if recording:
            self.grad_fn = result.grad_fn
            self.requires_grad = True
        return self

    def add_(self, other, alpha=1):
        return self._write_in_place(ops.Add, self._operand(other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        return self._write_in_place(ops.Sub, self._operand(other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._write_in_place(ops.Mul, self._operand(other))

    def div_(self, other):
        return self._write_in_place(ops.Div, self._operand(other))

    def clamp_(self, min=None, max=None):
        return self._write_in_place(ops.Clamp, min, max)

    def copy_(self, source):
        """Copy `source` (broadcast to self's shape) into self, like `self[...] = source`."""
        return self._write_in_place(ops.IndexPut, Ellipsis, self._operand(source))

    def fill_(self, value):
        return self._write_in_place(ops.IndexPut, Ellipsis, float(value) if self.is_floating_point() else value)

    def zero_(self):
        return self.fill_(0)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        values = numpy_generator(generator).uniform(a, b, size=self.payload.shape)
        return self.copy_(Tensor._wrap(move(values.astype(self.payload.dtype), self.device)))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        values = numpy_generator(generator).normal(mean, std, size=self.payload.shape)
        return self.copy_(Tensor._wrap(move(values.astype(self.payload.dtype), self.device)))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    # ------------------------------------------------------------------ conversion
    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._host_array().reshape(()).item()

    def tolist(self):
        return self._host_array().tolist()

    def numpy(self):
        """The storage as a numpy array (shared, not copied)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if self.is_cuda:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. "
                            f"Use Tensor.cpu() to copy the tensor to host memory first.")
        return self.payload

    def _host_array(self):
        return move(self.payload, device("cpu"))

    def __array__(self, dtype=None, copy=None):
        array = self._host_array()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.is_floating_point():
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __format__(self, spec):
        return format(self.item(), spec) if self.dim() == 0 and spec else repr(self)

    def to(self, *args, dtype=None, device=None, copy=False):
        """`to("cuda")`, `to(float64)`, `to(other_tensor)` or `to(device, dtype)`."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, _device_type)):
                device = arg
            else:
                dtype = arg
        out = self
        if device is not None and _device_type(device) != self.device:
            out = ops.ToDevice.apply(out, _device_type(device))
        if dtype is not None:
            out = out.type(dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None):
        if dtype is None:
            return f"tinygrad_edu.{_LEGACY_TYPE_NAMES[self.dtype.name]}"
        dtype = dtypes.to_dtype(dtype)
        if dtype.numpy == self.payload.dtype:
            return self
        if self.requires_grad and dtype.is_floating_point:
            return ops.Cast.apply(self, dtype.numpy)
        return Tensor._wrap(kernels_for(self.payload).astype(self.payload, dtype.numpy))

    def float(self):
        return self.type(dtypes.float32)

    def double(self):
        return self.type(dtypes.float64)

    def long(self):
        return self.type(dtypes.int64)

    def int(self):
        return self.type(dtypes.int32)

    def bool(self):
        return self.type(dtypes.bool_)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    # ------------------------------------------------------------------ printing
    def __repr__(self):
        array = self._host_array()
        if array.size == 0:
            body = "[]"
        elif array.dtype.kind == "f":
            finite = array[np.isfinite(array)]
            integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
            body = np.array2string(array, separator=", ", prefix="tensor(", precision=4,
                                   floatmode="maxprec" if integral else "fixed")
        else:
            body = np.array2string(array, separator=", ", prefix="tensor(")
        extras = []
        if array.size == 0 and array.ndim != 1:
            extras.append(f"size={tuple(array.shape)}")
        if self.is_cuda:
            extras.append(f"device='{self.device}'")
        # an empty body cannot show ints or bools, so PyTorch names every non-default dtype then
        implied = (np.float32,) if array.size == 0 else (np.float32, np.int64, np.bool_)
        if array.dtype not in implied:
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __str__ = __repr__


_device_type = device
# what `t.type()` answers, PyTorch's legacy class names: float32 -> 'FloatTensor'
_LEGACY_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor",
                      "int32": "IntTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


# ---------------------------------------------------------------------- helpers
def _as_array(data):
    """Python data or an array as a numpy array with PyTorch's default dtypes."""
    array = np.asarray(data)
    if array.dtype == np.float64 and not isinstance(data, np.ndarray):
        array = array.astype(np.float32)  # Python floats default to float32, as in PyTorch
    return array


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tensor) else ()


def _number_needs_no_promotion(tensor, other):
    """True when `tensor (op) other` can run as is for a Python number `other`: a float with
    a float tensor, or an int with a number tensor."""
    kind = tensor.payload.dtype.kind
    return (type(other) is float and kind == "f") or (type(other) is int and kind in "fiu")


def _is_float_operand(other):
    if isinstance(other, Tensor):
        return other.is_floating_point()
    return isinstance(other, float)


def _promote(a, b):
    """PyTorch's category rule: when a float meets an int or bool, the int side becomes
    that float's dtype (numpy would widen int64 + float32 to float64)."""
    if isinstance(b, Tensor) and a.payload.dtype is b.payload.dtype:
        return a, b  # the common case: nothing to promote
    a_float = a.is_floating_point()
    if isinstance(b, Tensor):
        b_float = b.is_floating_point()
        if a_float and not b_float:
            b = b.type(a.dtype)
        elif b_float and not a_float:
            a = a.type(b.dtype)
    elif isinstance(b, float) and not a_float:
        a = a.float()
    elif isinstance(b, bool) and a.payload.dtype != np.bool_:
        b = int(b)
    return a, b


def _condition(condition):
    if isinstance(condition, Tensor):
        payload = condition.payload
        return payload if payload.dtype == np.bool_ else kernels_for(payload).ne(payload, 0)
    return np.asarray(condition, dtype=bool)


def _size_args(args):
    """Sizes given as varargs `(2, 3)`, as one tuple/list/Size, or empty."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


def _resolve_shape(shape, numel):
    """Fill in one -1 and check the element count, naming the size on failure."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for size in shape:
        if size != -1:
            known *= size
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _one_dim(dim, ndim):
    """A single (possibly negative) dim as an axis index, with PyTorch's range error."""
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-size}, {size - 1}], but got {dim})")
    return dim % size


def _dims(dim, ndim):
    return ops.normalize_dims(dim, ndim)


def _index_payload(index):
    if isinstance(index, Tensor):
        return index.payload
    return np.asarray(index)


def _normalize_index(index):
    """Turn tensors and lists inside an index into arrays numpy understands."""
    if isinstance(index, tuple):
        return tuple(_normalize_index_part(part) for part in index)
    return _normalize_index_part(index)


def _normalize_index_part(part):
    if isinstance(part, Tensor):
        return part.payload
    if isinstance(part, list):
        array = np.asarray(part)
        # `x[[]]` selects nothing, as in PyTorch; numpy would read [] as a float index and refuse
        return array.astype(np.int64) if array.size == 0 else array
    return part
