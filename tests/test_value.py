"""Value, the scalar half of the engine: every op and reflected form, checked against calculus,
finite differences, and the Tensor path on the same expression."""
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Value
from tinygrad_edu.autograd import gradcheck

# (name, f(x), df/dx by hand, domain of x)
UNARY = [
    ("neg", lambda x: -x, lambda x: -1.0, (-3, 3)),
    ("add_scalar", lambda x: x + 2.5, lambda x: 1.0, (-3, 3)),
    ("radd", lambda x: 2.5 + x, lambda x: 1.0, (-3, 3)),
    ("sub_scalar", lambda x: x - 1.5, lambda x: 1.0, (-3, 3)),
    ("rsub", lambda x: 1 - x, lambda x: -1.0, (-3, 3)),
    ("mul_scalar", lambda x: x * 3.0, lambda x: 3.0, (-3, 3)),
    ("rmul", lambda x: 2 * x, lambda x: 2.0, (-3, 3)),
    ("div_scalar", lambda x: x / 4.0, lambda x: 0.25, (-3, 3)),
    ("rdiv", lambda x: 10 / x, lambda x: -10 / x ** 2, (0.5, 3)),
    ("pow_scalar", lambda x: x ** 3, lambda x: 3 * x ** 2, (-3, 3)),
    ("pow_fractional", lambda x: x ** 0.5, lambda x: 0.5 / math.sqrt(x), (0.5, 3)),
    ("rpow", lambda x: 2 ** x, lambda x: math.log(2) * 2 ** x, (-3, 3)),
    ("relu_pos", lambda x: x.relu() if not isinstance(x, float) else max(x, 0.0), lambda x: 1.0, (0.1, 3)),
    ("relu_neg", lambda x: x.relu() if not isinstance(x, float) else max(x, 0.0), lambda x: 0.0, (-3, -0.1)),
    ("tanh", lambda x: x.tanh() if not isinstance(x, float) else math.tanh(x),
     lambda x: 1 - math.tanh(x) ** 2, (-3, 3)),
    ("exp", lambda x: x.exp() if not isinstance(x, float) else math.exp(x), math.exp, (-3, 3)),
    ("log", lambda x: x.log() if not isinstance(x, float) else math.log(x), lambda x: 1 / x, (0.2, 3)),
    ("sigmoid", lambda x: x.sigmoid() if not isinstance(x, float) else 1 / (1 + math.exp(-x)),
     lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, (-3, 3)),
]


@pytest.mark.parametrize("name,f,df,domain", UNARY, ids=[case[0] for case in UNARY])
@given(u=st.floats(0, 1))
def test_unary_value_and_derivative(name, f, df, domain, u):
    x0 = domain[0] + u * (domain[1] - domain[0])
    x = Value(x0)
    out = f(x)
    assert isinstance(out, Value)
    assert out.data == pytest.approx(f(x0), rel=1e-12, abs=1e-12)
    out.backward()
    assert x.grad == pytest.approx(df(x0), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("op,da,db", [
    (lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0),
    (lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0),
    (lambda a, b: a * b, lambda a, b: b, lambda a, b: a),
    (lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
    (lambda a, b: a ** b, lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * math.log(a)),
], ids=["add", "sub", "mul", "div", "pow"])
@given(a0=st.floats(0.3, 3.0), b0=st.floats(-2.0, 2.0).filter(lambda v: abs(v) > 0.2))
def test_binary_value_and_derivatives(op, da, db, a0, b0):
    a, b = Value(a0), Value(b0)
    out = op(a, b)
    assert out.data == pytest.approx(op(a0, b0), rel=1e-12)
    out.backward()
    assert a.grad == pytest.approx(da(a0, b0), rel=1e-9, abs=1e-12)
    assert b.grad == pytest.approx(db(a0, b0), rel=1e-9, abs=1e-12)


def test_data_grad_and_backward_basics():
    x = Value(3.0)
    assert x.data == 3.0 and x.grad == 0.0
    y = x * x + x
    y.backward()
    assert x.grad == 7.0
    x.data = 5
    assert x.data == 5.0 and isinstance(x.data, float)
    x.zero_grad()
    assert x.grad == 0.0


def test_repr_shows_data_and_grad():
    x = Value(2.0)
    (x * 3).backward()
    text = repr(x)
    assert "data=2.0000" in text and "grad=3.0000" in text
    assert text.startswith("Value(")


def test_grad_accumulates_over_backward_calls():
    x = Value(2.0)
    (x * x).backward()
    (x * x).backward()
    assert x.grad == 8.0


def test_value_ops_record_grad_fn():
    x = Value(2.0)
    assert x.grad_fn is None
    assert (x * 2).grad_fn.name() == "MulBackward"
    assert (x + 2).grad_fn.name() == "AddBackward"
    assert x.exp().grad_fn.name() == "ExpBackward"
    with tg.no_grad():
        assert (x * 2).grad_fn is None


def test_gradcheck_on_value_expression():
    assert gradcheck(lambda a, b: (a * b + a.exp() / b).tanh(), (Value(0.3), Value(1.7)))


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(1000.0).sigmoid().data == pytest.approx(1.0)
    assert Value(-1000.0).sigmoid().data == pytest.approx(0.0)


# --------------------------------------------------------------------------- random expression trees
# A tree is built from hypothesis draws, then evaluated twice: once with Value leaves and once
# with 0-d float64 Tensor leaves. Every op is total (bounded inputs, safe domains), so finite
# differences are meaningful. Trees share no intermediate results (only leaves repeat).
UNARY_OPS = {
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp_tanh": lambda a: a.tanh().exp(),
    "log": lambda a: (a * a + 1.0).log(),
    "relu_shift": lambda a: (a + 0.37).relu(),
    "rsub": lambda a: 1 - a,
    "rdiv": lambda a: 10 / (a * a + 2),
    "rpow": lambda a: 2 ** a.tanh(),
    "square": lambda a: a ** 2,
}
BINARY_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
    "pow": lambda a, b: (a.sigmoid() + 0.5) ** b.tanh(),
    "rmul": lambda a, b: 2 * a + 0.5 * b,
}


@st.composite
def expression_trees(draw, depth=4):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return ("leaf", draw(st.sampled_from(["x", "y", "c"])))
    if draw(st.booleans()):
        return ("unary", draw(st.sampled_from(sorted(UNARY_OPS))), draw(expression_trees(depth - 1)))
    return ("binary", draw(st.sampled_from(sorted(BINARY_OPS))),
            draw(expression_trees(depth - 1)), draw(expression_trees(depth - 1)))


def evaluate(tree, leaves):
    kind = tree[0]
    if kind == "leaf":
        return leaves[tree[1]]
    if kind == "unary":
        return UNARY_OPS[tree[1]](evaluate(tree[2], leaves))
    return BINARY_OPS[tree[1]](evaluate(tree[2], leaves), evaluate(tree[3], leaves))


def value_grads(tree, x0, y0):
    x, y = Value(x0), Value(y0)
    out = evaluate(tree, {"x": x, "y": y, "c": Value(0.7, requires_grad=False)})
    out = out if isinstance(out, Value) else Value(out)
    if out.requires_grad:
        out.backward()
    return out.data, x.grad, y.grad


def finite_difference(tree, x0, y0, h=1e-6):
    def f(x, y):
        with tg.no_grad():
            return float(evaluate(tree, {"x": Value(x), "y": Value(y), "c": Value(0.7)}))
    return ((f(x0 + h, y0) - f(x0 - h, y0)) / (2 * h), (f(x0, y0 + h) - f(x0, y0 - h)) / (2 * h))


# Explicit examples that every run includes: a leaf reached by two paths of different depth
# (x + x * x; and y - y, which Value builds as y + (-y)) must get the gradient of both.
X_PLUS_X_SQUARED = ("binary", "add", ("leaf", "x"), ("binary", "mul", ("leaf", "x"), ("leaf", "x")))
Y_MINUS_Y = ("binary", "sub", ("leaf", "y"), ("leaf", "y"))  # Value's sub is y + (-y): two paths


@given(tree=expression_trees(), x0=st.floats(-1.5, 1.5), y0=st.floats(-1.5, 1.5))
@example(tree=X_PLUS_X_SQUARED, x0=1.0, y0=0.5)
def test_random_expressions_match_finite_differences(tree, x0, y0):
    data, gx, gy = value_grads(tree, x0, y0)
    assert math.isfinite(data)
    nx, ny = finite_difference(tree, x0, y0)
    # relu's kink could sit between x0 - h and x0 + h; the shift by 0.37 makes that rare,
    # and tolerance covers the rounding of the central difference
    assert gx == pytest.approx(nx, rel=1e-4, abs=1e-5)
    assert gy == pytest.approx(ny, rel=1e-4, abs=1e-5)


@given(tree=expression_trees(), x0=st.floats(-1.5, 1.5), y0=st.floats(-1.5, 1.5))
@example(tree=Y_MINUS_Y, x0=0.0, y0=0.3)
def test_random_expressions_match_the_tensor_path(tree, x0, y0):
    data, gx, gy = value_grads(tree, x0, y0)
    x = tg.tensor(x0, dtype=tg.float64, requires_grad=True)
    y = tg.tensor(y0, dtype=tg.float64, requires_grad=True)
    c = tg.tensor(0.7, dtype=tg.float64)
    out = evaluate(tree, {"x": x, "y": y, "c": c})
    assert out.shape == ()
    assert out.item() == pytest.approx(data, rel=1e-12, abs=1e-12)
    if out.requires_grad:
        out.backward()
    tensor_gx = 0.0 if x.grad is None else x.grad.item()
    tensor_gy = 0.0 if y.grad is None else y.grad.item()
    assert tensor_gx == pytest.approx(gx, rel=1e-9, abs=1e-12)
    assert tensor_gy == pytest.approx(gy, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- shared subexpressions
# Expressions that reuse an intermediate result (a DAG, not a tree).
SHARED = [
    ("a_times_a_plus_1", lambda x, y: (lambda a: a * (a + 1))(x * y)),
    ("a_plus_a_times_y", lambda x, y: (lambda a: a + a * y.tanh())(x * 2)),
]


@pytest.mark.parametrize("name,expression", SHARED, ids=[case[0] for case in SHARED])
def test_shared_subexpressions_match_finite_differences(name, expression):
    x, y = Value(0.8), Value(-1.3)
    expression(x, y).backward()
    h = 1e-6
    f = lambda a, b: expression(Value(a), Value(b)).data  # noqa: E731
    assert x.grad == pytest.approx((f(0.8 + h, -1.3) - f(0.8 - h, -1.3)) / (2 * h), rel=1e-5)
    assert y.grad == pytest.approx((f(0.8, -1.3 + h) - f(0.8, -1.3 - h)) / (2 * h), rel=1e-5)
