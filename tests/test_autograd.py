"""The graph core: Function/apply, the engine, grad mode, backward, grad_fn, hooks, versions, gradcheck.

Oracles: hand-derived derivatives, finite differences (gradcheck) and the same expression
computed another way. Nothing here depends on a particular kernel backend.
"""
import re
import threading
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Value, ops
from tinygrad_edu.autograd import (AccumulateGrad, Function, GradcheckError, Node, gradcheck,
                                   topological_order)


def f64(data, requires_grad=True):
    return tg.tensor(data, dtype=tg.float64, requires_grad=requires_grad)


# --------------------------------------------------------------------------- user Functions
class Cube(Function):
    """A user-defined op: x**3, with its derivative 3x**2 written by hand.
    Written with plain operators so it runs on floats (Value) and arrays (Tensor) alike."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x * x


class WrongCube(Function):
    """The same op with a deliberately wrong derivative (2x**2 instead of 3x**2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 2 * x * x


class ScaleBy(Function):
    """A Function with a non-tensor argument: it passes through and gets gradient None."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        ctx.seen_needs = ctx.needs_input_grad
        return x * factor

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


def test_custom_function_gradcheck_tensor():
    x = f64([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]])
    assert gradcheck(Cube.apply, (x,))


def test_custom_function_gradcheck_value():
    assert gradcheck(Cube.apply, (Value(1.7),))


def test_custom_function_values_and_grad():
    x = f64([1.0, -2.0, 3.0])
    y = Cube.apply(x)
    np.testing.assert_allclose(y.detach().numpy(), [1.0, -8.0, 27.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, -2.0, 3.0]) ** 2)
    assert y.grad_fn.name() == "CubeBackward"
    assert isinstance(y.grad_fn, Node)


def test_custom_function_on_value_uses_the_same_node_class():
    v = Value(2.0)
    out = Cube.apply(v)
    assert isinstance(out, Value) and out.data == 8.0
    out.backward()
    assert v.grad == pytest.approx(12.0)
    t = Cube.apply(f64([2.0]))
    assert type(out.grad_fn) is type(t.grad_fn) is Node
    assert type((Value(1.0) * 2).grad_fn) is type((f64([1.0]) * 2).grad_fn)


def test_non_tensor_arguments_pass_through():
    x = f64([1.0, 2.0])
    y = ScaleBy.apply(x, 3.0)
    assert y.grad_fn.seen_needs == (True, False)
    assert y.grad_fn.next_functions[1] is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    assert gradcheck(lambda t: ScaleBy.apply(t, -2.5), (x.detach().requires_grad_(),))


def test_needs_input_grad_reflects_requires_grad():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    Probe.apply(f64([1.0]), f64([1.0], requires_grad=False))
    Probe.apply(f64([1.0], requires_grad=False), f64([1.0]))
    assert seen == [(True, False), (False, True)]


def test_save_for_backward_round_trip():
    class Keep(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a, a * 2)
            return a * 1

        @staticmethod
        def backward(ctx, grad):
            a, doubled = ctx.saved_tensors
            np.testing.assert_allclose(doubled, 2 * a)
            return grad

    x = f64([1.0, 4.0])
    Keep.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_backward_returning_wrong_count_is_an_error():
    class TooMany(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError, match="returned 2 gradients"):
        TooMany.apply(f64([1.0])).sum().backward()


# --------------------------------------------------------------------------- the engine
def test_diamond_graph_accumulates_both_paths():
    x = f64([1.5, -2.0])
    a = x * 3
    y = (a * a + a).sum()  # dy/dx = (2a + 1) * 3
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), (2 * 3 * np.array([1.5, -2.0]) + 1) * 3)


# A node reached by two paths of different depth must wait for both before it runs
# (an engine that marks nodes when first pushed gets these wrong).
def test_shared_subexpression_gets_gradient_from_every_path():
    x = f64([1.0, -0.5])
    a = x * 2
    c = (a * (a + 1)).sum()  # c = 4x^2 + 2x
    c.backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, -0.5]) + 2)


def test_leaf_used_at_two_depths():
    x = f64([1.0])
    (x + x * x).sum().backward()  # d/dx = 1 + 2x
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


def test_shared_subexpression_value():
    x = Value(1.0)
    a = x * 2
    (a * (a + 1)).backward()
    assert x.grad == pytest.approx(10.0)


def test_topological_order_puts_outputs_first():
    x = f64([1.0])
    a = x * 2
    b = a + 1
    c = (a * b).sum()
    order = topological_order(c.grad_fn)
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.next_functions:
            if parent is not None:
                assert position[node] < position[parent]


@pytest.mark.slow
def test_value_chain_of_a_million_ops_does_not_recurse():
    """Slow-ish (a few seconds): an iterative engine handles 1,000,000 chained ops."""
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert y.data == pytest.approx(1_000_000.5)


def test_tensor_chain_of_100k_ops_does_not_recurse():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


# --------------------------------------------------------------------------- grad mode
def test_no_grad_context_manager():
    x = f64([1.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_decorator():
    x = f64([1.0])

    @tg.no_grad()
    def double(t):
        assert not tg.is_grad_enabled()
        return t * 2

    y = double(x)
    assert y.grad_fn is None and not y.requires_grad
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad_context_and_decorator():
    x = f64([1.0])

    @tg.enable_grad()
    def double(t):
        return t * 2

    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            y = x * 2
        assert not tg.is_grad_enabled()
        z = double(x)
        assert not tg.is_grad_enabled()
    assert y.grad_fn is not None and z.grad_fn is not None


def test_set_grad_enabled_as_call_and_as_context_manager():
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
        assert (f64([1.0]) * 2).grad_fn is None
        tg.set_grad_enabled(True)
        assert tg.is_grad_enabled()
        with tg.set_grad_enabled(False):
            assert not tg.is_grad_enabled()
        assert tg.is_grad_enabled()
        with tg.no_grad():
            with tg.set_grad_enabled(True):
                assert tg.is_grad_enabled()
            assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with tg.no_grad():
            raise ValueError("boom")
    assert tg.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["enabled"] = tg.is_grad_enabled()
        seen["grad_fn"] = (f64([1.0]) * 2).grad_fn

    with tg.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert not tg.is_grad_enabled()
    assert seen["enabled"] is True
    assert seen["grad_fn"] is not None


def test_no_grad_in_a_thread_does_not_leak_to_main():
    started, release = threading.Event(), threading.Event()

    def worker():
        with tg.no_grad():
            started.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(5)
    try:
        assert tg.is_grad_enabled()
        assert (f64([1.0]) * 2).grad_fn is not None
    finally:
        release.set()
        thread.join()


# --------------------------------------------------------------------------- backward()
def test_backward_non_scalar_needs_gradient():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_with_explicit_gradient():
    x = f64([1.0, 2.0, 3.0])
    weights = np.array([0.5, -1.0, 2.0])
    (x * x).backward(tg.tensor(weights, dtype=tg.float64))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0, 3.0]) * weights)


def test_backward_gradient_shape_mismatch():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"\[3\].*\[2\]"):
        (x * 2).backward(tg.ones(3, dtype=tg.float64))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(2).sum().backward()


def test_second_backward_through_freed_graph_mentions_retain_graph():
    x = f64([1.0, 2.0])
    y = x.log().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=re.escape("retain_graph=True")):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x = f64([1.0, 2.0])
    y = (x.log() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    np.testing.assert_allclose(first, np.log([1.0, 2.0]) + 1)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_grads_accumulate_across_graphs():
    x = f64([3.0])
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0])


def test_backward_leaves_no_grad_on_non_leaves():
    x = f64([1.0])
    y = x * 2
    (y * 3).sum().backward()
    assert y.grad is None
    assert not y.is_leaf and x.is_leaf


# --------------------------------------------------------------------------- grad_fn / next_functions
def test_grad_fn_names():
    x = f64([[1.0, 2.0]])
    cases = {
        "MulBackward": x * 2, "AddBackward": x + 1, "SubBackward": x - 1, "DivBackward": x / 2,
        "PowBackward": x ** 2, "NegBackward": -x, "ExpBackward": x.exp(), "LogBackward": x.log(),
        "SumBackward": x.sum(), "MeanBackward": x.mean(), "MatMulBackward": x @ x.t(),
        "ReshapeBackward": x.reshape(2), "TanhBackward": x.tanh(), "SigmoidBackward": x.sigmoid(),
        "ReLUBackward": x.relu(), "SoftmaxBackward": x.softmax(1), "MaxBackward": x.max(1).values,
    }
    for name, tensor in cases.items():
        assert tensor.grad_fn is not None and tensor.grad_fn.name() == name
        assert repr(tensor.grad_fn) == f"<{name}>"
        assert f"grad_fn=<{name}>" in repr(tensor)


def test_grad_fn_none_on_leaves_and_under_no_grad():
    x = f64([1.0])
    assert x.grad_fn is None
    with tg.no_grad():
        assert (x * 2).grad_fn is None
    assert (tg.ones(1) * 2).grad_fn is None  # nothing requires grad


def test_next_functions_walk_to_accumulate_grad():
    w = f64([1.0, 2.0])
    b = f64([0.5, 0.5])
    out = (w * 3 + b).sum()
    node = out.grad_fn
    assert node.name() == "SumBackward"
    add = node.next_functions[0]
    assert add.name() == "AddBackward"
    mul, b_leaf = add.next_functions
    assert mul.name() == "MulBackward"
    assert isinstance(b_leaf, AccumulateGrad) and b_leaf.variable is b
    w_leaf = mul.next_functions[0]
    assert w_leaf.name() == "AccumulateGrad" and w_leaf.variable is w
    assert mul.next_functions[1] is None  # the constant 3


def test_same_leaf_has_one_accumulate_grad_node():
    w = f64([1.0])
    assert (w * 2).grad_fn.next_functions[0] is (w + 1).grad_fn.next_functions[0]


# --------------------------------------------------------------------------- hooks and retain_grad
def test_register_hook_can_replace_the_gradient():
    x = f64([1.0, 2.0])
    y = x * 3
    y.register_hook(lambda grad: grad * 10)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_register_hook_observes_without_replacing():
    x = f64([1.0, 2.0])
    seen = []
    x.register_hook(lambda grad: seen.append(grad.numpy().copy()))
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_register_hook_on_leaf_replaces_grad():
    x = f64([1.0, 2.0])
    x.register_hook(lambda grad: grad * 0 + 7)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])


def test_register_hook_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_non_leaf_grad():
    x = f64([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9 * np.array([1.0, 2.0]))


def test_retain_grad_sees_the_hooked_gradient():
    x = f64([1.0])
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [10.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0])


# --------------------------------------------------------------------------- version counter
def test_inplace_on_saved_input_raises_at_backward():
    base = f64([1.0, 2.0])
    x = base * 1
    y = x.log()  # saves x
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_saved_operand_of_mul_raises():
    a = f64([1.0, 2.0])
    b = tg.tensor([3.0, 4.0], dtype=tg.float64)
    c = a * b  # grad of a needs b
    b.add_(1)
    with pytest.raises(RuntimeError, match="MulBackward"):
        c.sum().backward()


def test_inplace_on_unneeded_tensor_is_fine():
    a = f64([1.0, 2.0])
    b = tg.tensor([3.0, 4.0], dtype=tg.float64)
    c = a + b  # add saves nothing
    b.add_(1)
    c.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 1.0])
    e = a * 1
    f = e * 2  # the gradient of e needs only the constant 2: e itself is not saved
    e.mul_(5)
    f.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])


def test_exp_saves_its_output_not_its_input():
    a = f64([0.5])
    x = a * 1
    y = x.exp()
    x.mul_(3)  # the input is not needed by exp's backward
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp([0.5]))
    z = (a * 1).exp()
    z.add_(1)  # but the output is
    with pytest.raises(RuntimeError, match="inplace"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad():
    w = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 5.0
    with tg.no_grad():
        w.add_(1)
        w[0] = 5.0
        w.mul_(2)
    np.testing.assert_allclose(w.detach().numpy(), [10.0, 6.0])
    assert w.requires_grad and w.is_leaf and w.grad_fn is None


def test_version_counter_counts_writes():
    t = tg.zeros(3)
    start = t._version
    t.add_(1)
    t.mul_(2)
    t[0] = 3.0
    assert t._version == start + 3


def test_views_share_the_version_counter():
    base = f64([1.0, 2.0, 3.0])
    x = base * 1
    y = x.log()  # saves x
    x[0:2].mul_(2)  # writes through a view
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_modifying_base_breaks_saved_view():
    base = f64([[1.0, 2.0], [3.0, 4.0]])
    x = base * 1
    view = x.reshape(4)
    y = view.log()
    x.add_(1)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_write_through_an_alias_after_the_saved_input_is_dropped():
    a = f64([1.0, 2.0])
    x = a * 1
    y = x.log()  # saves x
    alias = x.view(2)
    del x  # the node still finds x's version counter
    alias.mul_(2)
    with pytest.raises(RuntimeError, match="input 0 of LogBackward"):
        y.sum().backward()


def test_write_through_an_alias_after_the_saved_output_is_dropped():
    a = f64([1.0, 2.0])
    z = (a * 1).exp()  # saves its output
    total = (z * 1).sum()
    alias = z.view(2)  # z's counter is made here, and exp's node is told
    del z
    alias.add_(1)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward"):
        total.backward()


def test_saving_an_input_holds_it_until_backward_only():
    a = f64([1.0, 2.0])
    x = a * 1
    y = x.log()  # saves x
    z = (a * 1).exp()  # saves only its output: holds no input
    watch_x = weakref.ref(x)
    del x
    assert watch_x() is not None  # held for the in-place check
    y.sum().backward()
    assert watch_x() is None  # released with the saved values
    assert z.grad_fn._inputs == ()


def test_tensor_wrap_sets_every_field_variable_init_sets():
    """Tensor._wrap writes Variable.__init__'s fields out (it is on every op's path)."""
    from tinygrad_edu.autograd import Variable
    payload = np.zeros(2)
    wrapped = tg.Tensor._wrap(payload)
    initialised = tg.Tensor.__new__(tg.Tensor)
    Variable.__init__(initialised, payload)
    fields = [name for name in Variable.__slots__ if name != "__weakref__"]
    assert [getattr(wrapped, f) for f in fields] == [getattr(initialised, f) for f in fields]


def test_apply_two_builds_the_same_node_as_apply():
    """Function.apply_two is apply unrolled for two variables: same result, same node."""
    for needs in [(True, True), (True, False), (False, True), (False, False)]:
        a = tg.tensor([[1.0, 2.0]], dtype=tg.float64, requires_grad=needs[0])
        b = tg.tensor([[3.0], [4.0]], dtype=tg.float64, requires_grad=needs[1])
        for op in (ops.Add, ops.Sub, ops.Mul, ops.Div, ops.MatMul):
            general, unrolled = op.apply(a, b), op.apply_two(a, b)
            np.testing.assert_array_equal(general.detach().numpy(), unrolled.detach().numpy())
            assert general.requires_grad == unrolled.requires_grad == any(needs)
            if any(needs):
                g, u = general.grad_fn, unrolled.grad_fn
                assert type(g) is type(u) is Node and g.function is u.function is op
                assert g.needs_input_grad == u.needs_input_grad == needs
                assert list(g.next_functions) == list(u.next_functions)
                assert len(g._saved) == len(u._saved)
                # the same inputs saved; values computed in forward (Div's output) equal
                assert all(x is y or np.array_equal(x, y) for x, y in zip(g._saved, u._saved))
                assert g._inputs == u._inputs and g._saved_at == u._saved_at


def test_inplace_through_the_graph_gives_correct_gradient():
    a = f64([1.0, 2.0])
    x = a * 2
    x.mul_(3)  # recorded: x is now the output of a MulBackward
    assert x.grad_fn.name() == "MulBackward"
    x.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [6.0, 6.0])


# --------------------------------------------------------------------------- gradcheck
def test_gradcheck_true_for_correct_ops():
    x = f64([[0.3, -1.1], [2.0, 0.7]])
    y = f64([[1.5, 0.2], [-0.4, 0.9]])
    assert gradcheck(lambda a, b: (a * b + a.exp()).sum(1), (x, y))


def test_gradcheck_names_the_worst_element():
    x = f64([0.5, -1.0, 2.5, 1.5])  # 3x^2 vs 2x^2 differ most where |x| is largest: element 2
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongCube.apply, (x,))
    message = str(info.value)
    assert "input 0" in message
    assert re.search(r"element \((np\.int64\()?2\)?,\)", message)
    assert "autograd gave" in message and "finite differences" in message


def test_gradcheck_report_is_plain_for_learners():
    x = f64([0.5, -1.0, 2.5, 1.5])
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongCube.apply, (x,))
    assert "element (2,)" in str(info.value)
    assert "np." not in str(info.value)


def test_gradcheck_raise_exception_false_returns_false():
    assert gradcheck(WrongCube.apply, (f64([1.0, 2.0]),), raise_exception=False) is False


def test_gradcheck_catches_wrong_value_function():
    with pytest.raises(GradcheckError):
        gradcheck(WrongCube.apply, (Value(1.3),))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError):
        gradcheck(lambda a: a * 2, (tg.ones(2, dtype=tg.float64),))
