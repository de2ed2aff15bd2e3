"""The errors a learner will hit: each must say what went wrong with the numbers involved."""
import re

import numpy as np
import pytest

import tinygrad_edu as tg


def test_matmul_incompatible_shapes_names_both():
    with pytest.raises(RuntimeError, match=re.escape("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(RuntimeError, match=re.escape("(2x3 and 4x5)")):
        tg.ones(2, 3).mm(tg.ones(4, 5))
    with pytest.raises(RuntimeError, match=re.escape("(1x3 and 2x1)")):
        tg.ones(3) @ tg.ones(2)  # 1-D operands are shown as the row/column they become


def test_matmul_of_a_zero_dim_tensor():
    with pytest.raises(RuntimeError, match="at least 1D"):
        tg.tensor(2.0) @ tg.ones(2)


def test_batched_matmul_with_incompatible_batch_dims():
    with pytest.raises(RuntimeError, match=r"\[2\].*\[3\]"):
        tg.ones(2, 2, 3) @ tg.ones(3, 3, 4)


def test_broadcast_failure_names_both_shapes_and_the_dim():
    with pytest.raises(RuntimeError) as info:
        tg.ones(2, 3) + tg.ones(4, 5)
    message = str(info.value)
    assert "[2, 3]" in message and "[4, 5]" in message
    assert "size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1" in message
    with pytest.raises(RuntimeError, match=r"dimension 0.*\[4, 3\].*\[2, 3\]"):
        tg.ones(4, 3) * tg.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"\[3\].*\[2\]"):
        tg.ones(3) > tg.ones(2)  # comparisons too


def test_view_of_impossible_size_names_size_and_count():
    with pytest.raises(RuntimeError, match=re.escape("shape '[4, 2]' is invalid for input of size 6")):
        tg.ones(2, 3).view(4, 2)
    with pytest.raises(RuntimeError, match=re.escape("shape '[4, -1]' is invalid for input of size 6")):
        tg.ones(2, 3).reshape(4, -1)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        tg.ones(6).view(-1, -1)


def test_view_of_non_contiguous_tensor_suggests_reshape():
    with pytest.raises(RuntimeError, match=r"reshape"):
        tg.ones(2, 3).t().view(6)


def _fake_cuda_tensor(shape):
    """A tensor whose storage claims to live on the GPU, without needing one: the device check
    looks at `__cuda_array_interface__`, so an ndarray that has it stands in for a device array."""

    class FakeDeviceArray(np.ndarray):
        @property
        def __cuda_array_interface__(self):
            return {"shape": self.shape, "typestr": self.dtype.str, "data": (0, False), "version": 3}

    return tg.Tensor._wrap(np.zeros(shape, np.float32).view(FakeDeviceArray))


def test_mixing_devices_names_both():
    gpu = _fake_cuda_tensor((2,))
    assert gpu.device.type == "cuda"
    with pytest.raises(RuntimeError, match=r"same device.*cpu and cuda:0"):
        tg.ones(2) + gpu
    with pytest.raises(RuntimeError, match=r"same device.*cpu and cuda:0"):
        tg.cat([tg.ones(2), gpu])


def test_unknown_device():
    with pytest.raises(RuntimeError, match=r"unknown device 'tpu'.*accepted.*'cpu'"):
        tg.device("tpu")


def test_unknown_dtype_says_what_was_given_and_what_is_accepted():
    with pytest.raises(TypeError) as info:
        tg.zeros(2, dtype="float16")
    message = str(info.value)
    assert "float16" in message and "float32" in message and "int64" in message and "bool" in message
    with pytest.raises(TypeError, match=r"complex.*accepted"):
        tg.tensor(np.array([1 + 2j]))
    with pytest.raises(TypeError, match=r"accepted"):
        tg.ones(2).type("half")


def test_numpy_on_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match=re.escape("Can't call numpy() on Tensor that requires grad")) as info:
        tg.ones(2, requires_grad=True).numpy()
    assert "detach().numpy()" in str(info.value)


def test_item_on_many_elements():
    with pytest.raises(RuntimeError, match="a Tensor with 4 elements cannot be converted to Scalar"):
        tg.ones(2, 2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tg.ones(2))


def test_backward_on_non_scalar():
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (tg.ones(3, requires_grad=True) * 2).backward()


def test_inplace_on_leaf_that_requires_grad():
    w = tg.ones(2, requires_grad=True)
    for write in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.__setitem__(0, 3.0)):
        with pytest.raises(RuntimeError, match=r"leaf Variable that requires grad.*no_grad"):
            write()


def test_inplace_result_that_does_not_fit():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        tg.ones(3).add_(tg.ones(2, 3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        tg.tensor([1, 2]).add_(0.5)


def test_dimension_out_of_range():
    with pytest.raises(IndexError, match=re.escape("expected to be in range of [-2, 1], but got 2")):
        tg.ones(2, 3).sum(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tg.ones(2, 3).softmax(-3)


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=re.escape("[2, 3]")):
        tg.ones(2, 3)[5]


def test_cat_and_stack_size_mismatch():
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0.*\[2, 3\].*\[2, 4\]"):
        tg.cat([tg.ones(2, 3), tg.ones(2, 4)])
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size.*\[2\].*\[3\]"):
        tg.stack([tg.ones(2), tg.ones(3)])


def test_expand_to_incompatible_size():
    with pytest.raises(RuntimeError, match=r"expanded size.*\(4\).*existing size \(3\)"):
        tg.ones(3).expand(2, 4)


def test_requires_grad_on_integers():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        tg.tensor([1, 2], requires_grad=True)


def test_max_of_empty_tensor():
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        tg.zeros(0).max()
    with pytest.raises(IndexError, match="reduction dim 1 to have non-zero size"):
        tg.zeros(3, 0).max(1)
