"""Optimizers and LR schedulers against PyTorch's documented formulas, written in numpy here
(and against torch.optim itself when torch is installed)."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR, _LRScheduler

STEPS = 5


# ---------------------------------------------------------------------------- helpers
def quadratic_problem(seed=0, shape=(3, 4)):
    """A loss whose gradient we know in closed form: L = sum(c * p + 0.5 * d * p²), so
    dL/dp = c + d * p. The gradient changes with p, which exercises every state buffer."""
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=shape)
    c = rng.normal(size=shape)
    d = rng.uniform(0.5, 2.0, size=shape)
    return p0, c, d


def run_tinygrad(make_optimizer, p0, c, d, steps=STEPS):
    p = tg.tensor(p0, requires_grad=True)
    opt = make_optimizer([p])
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = (tg.tensor(c) * p + 0.5 * tg.tensor(d) * p * p).sum()
        loss.backward()
        opt.step()
        history.append(p.detach().numpy().copy())
    return history


def grad_of(p, c, d):
    return c + d * p


def sgd_reference(p, c, d, steps, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    """torch.optim.SGD's algorithm, from its documentation."""
    history, buf = [], None
    for _ in range(steps):
        g = grad_of(p, c, d)
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        history.append(p)
    return history


def adam_reference(p, c, d, steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """torch.optim.Adam / AdamW's algorithm, from their documentation (bias-corrected m̂, v̂)."""
    beta1, beta2 = betas
    m, v, history = np.zeros_like(p), np.zeros_like(p), []
    for t in range(1, steps + 1):
        g = grad_of(p, c, d)
        if weight_decay != 0 and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay != 0:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(p)
    return history


SGD_VARIANTS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
    dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.05),
]

ADAM_VARIANTS = [
    dict(lr=0.1),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.05, weight_decay=0.1),
]


# ---------------------------------------------------------------------------- update rules
@pytest.mark.parametrize("options", SGD_VARIANTS, ids=str)
def test_sgd_matches_documented_formula(options):
    p0, c, d = quadratic_problem()
    got = run_tinygrad(lambda params: optim.SGD(params, **options), p0, c, d)
    expected = sgd_reference(p0, c, d, STEPS, **options)
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("options", ADAM_VARIANTS, ids=str)
def test_adam_matches_documented_formula(options):
    p0, c, d = quadratic_problem(1)
    got = run_tinygrad(lambda params: optim.Adam(params, **options), p0, c, d)
    expected = adam_reference(p0, c, d, STEPS, **options)
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("weight_decay", [0.0, 0.01, 0.3])
def test_adamw_matches_documented_formula(weight_decay):
    p0, c, d = quadratic_problem(2)
    got = run_tinygrad(lambda params: optim.AdamW(params, lr=0.05, weight_decay=weight_decay), p0, c, d)
    expected = adam_reference(p0, c, d, STEPS, lr=0.05, weight_decay=weight_decay, decoupled=True)
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind, options", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
], ids=str)
def test_large_parameters_match_the_formula(kind, options, dtype):
    """Big parameters take the fused multi-threaded kernel path on the Numba backend."""
    p0, c, d = (a.astype(dtype) for a in quadratic_problem(5, shape=(256, 160)))
    got = run_tinygrad(lambda params: getattr(optim, kind)(params, **options), p0, c, d, steps=3)
    if kind == "SGD":
        expected = sgd_reference(p0, c, d, 3, **options)
    else:
        expected = adam_reference(p0, c, d, 3, decoupled=kind == "AdamW", **options)
    tolerance = 1e-9 if dtype == np.float64 else 2e-5
    assert got[-1].dtype == dtype
    np.testing.assert_allclose(got[-1], expected[-1], rtol=tolerance, atol=tolerance)


def test_adamw_default_weight_decay_and_difference_from_adam():
    p = tg.tensor([1.0], requires_grad=True)
    assert optim.AdamW([p]).param_groups[0]["weight_decay"] == 1e-2
    p0, c, d = quadratic_problem(3)
    adam = run_tinygrad(lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.3), p0, c, d)
    adamw = run_tinygrad(lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.3), p0, c, d)
    assert not np.allclose(adam[-1], adamw[-1])  # L2 and decoupled decay are different rules


def test_float32_parameters_stay_float32():
    p = tg.randn(4, requires_grad=True)
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9), optim.Adam([p])):
        (p * p).sum().backward()
        opt.step()
        assert p.dtype == tg.float32
        for value in opt.state[p].values():
            if isinstance(value, tg.Tensor):
                assert value.dtype == tg.float32


@pytest.mark.parametrize("kind, options", [("SGD", o) for o in SGD_VARIANTS] +
                         [("Adam", o) for o in ADAM_VARIANTS] +
                         [("AdamW", dict(lr=0.05)), ("AdamW", dict(lr=0.01, weight_decay=0.2))], ids=str)
def test_matches_torch_optim(kind, options):
    torch = pytest.importorskip("torch")
    p0, c, d = quadratic_problem(4)
    ours = run_tinygrad(lambda params: getattr(optim, kind)(params, **options), p0, c, d)
    p = torch.tensor(p0, requires_grad=True)
    opt = getattr(torch.optim, kind)([p], **options)
    for step in range(STEPS):
        opt.zero_grad()
        (torch.tensor(c) * p + 0.5 * torch.tensor(d) * p * p).sum().backward()
        opt.step()
        np.testing.assert_allclose(ours[step], p.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"step {step + 1}")


def test_adam_fits_a_small_regression():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    true_w = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32)
    y = x @ true_w + 0.3
    X, Y = tg.tensor(x), tg.tensor(y)
    w = tg.zeros(3, 1, requires_grad=True)
    b = tg.zeros(1, requires_grad=True)
    opt = optim.Adam([w, b], lr=0.05)
    losses = []
    for _ in range(300):
        opt.zero_grad()
        loss = ((X @ w + b - Y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-4 < losses[0]
    np.testing.assert_allclose(w.detach().numpy(), true_w, atol=1e-2)


# ---------------------------------------------------------------------------- behaviour
def test_step_updates_in_place_so_views_see_it():
    p = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    storage = p.payload
    view = p.detach()[0]
    opt = optim.SGD([p], lr=0.5)
    p.sum().backward()
    version = p._version
    opt.step()
    assert p.payload is storage
    np.testing.assert_allclose(view.numpy(), [0.5, 1.5])
    assert p._version > version  # autograd's in-place check knows p changed


def test_step_skips_params_without_grad_and_zero_grad_modes():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=1.0, momentum=0.9)
    (a * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [-1.0, 0.0])
    np.testing.assert_allclose(b.detach().numpy(), [3.0])
    assert b not in opt.state or "momentum_buffer" not in opt.state[b]
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and np.all(a.grad.numpy() == 0)
    opt.zero_grad()
    assert a.grad is None


def test_closure_is_called_and_its_loss_returned():
    p = tg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        calls.append(1)
        return loss

    loss = opt.step(closure)
    assert calls == [1] and loss.item() == 4.0
    np.testing.assert_allclose(p.detach().numpy(), [1.0])  # 2 - 0.25 * 4


def test_param_groups_have_their_own_options():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.0
    (a + b).sum().backward()
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5])
    c = tg.tensor([1.0], requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 1.0})
    c.sum().backward()
    opt.step()
    assert c.item() == 0.0
    assert "Parameter Group 2" in repr(opt)


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD([p], lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD([p], lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD([p], lr=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD([p]), "required optimization parameter lr"),
    (lambda p: optim.Adam([p], lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.Adam([p], eps=-1e-8), "Invalid epsilon value"),
    (lambda p: optim.Adam([p], betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam([p], betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW([p], weight_decay=-0.1), "Invalid weight_decay value"),
    (lambda p: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    (lambda p: optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1), "more than one parameter group"),
    (lambda p: optim.SGD([p * 2], lr=0.1), "can't optimize a non-leaf Tensor"),
])
def test_invalid_arguments_raise_value_error(make, message):
    p = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=message):
        make(p)


def test_invalid_param_types_raise_type_error():
    p = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)


def test_duplicate_parameters_in_a_group_warn():
    p = tg.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


# ---------------------------------------------------------------------------- state dicts
def train(opt, params, c, steps):
    for _ in range(steps):
        opt.zero_grad()
        sum(((tg.tensor(ci) * p) ** 2).sum() for ci, p in zip(c, params)).backward()
        opt.step()


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01}], lr=0.05),
    lambda ps: optim.AdamW(ps, lr=0.05, betas=(0.8, 0.9)),
], ids=["sgd", "adam-groups", "adamw"])
def test_state_dict_round_trips_through_save_and_load(make, tmp_path):
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(2, 3)), rng.normal(size=(3,))]
    c = [rng.normal(size=v.shape) for v in values]
    params = [tg.tensor(v, requires_grad=True) for v in values]
    opt = make(params)
    train(opt, params, c, 3)

    state = opt.state_dict()
    assert sorted(state["state"]) == [0, 1]
    assert [i for g in state["param_groups"] for i in g["params"]] == [0, 1]
    tg.save(state, tmp_path / "opt.tg")

    # a "restarted" run: same parameter values, fresh optimizer, state loaded from disk
    resumed_params = [tg.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    resumed = make(resumed_params)
    resumed.load_state_dict(tg.load(tmp_path / "opt.tg"))
    assert resumed.param_groups[-1]["lr"] == opt.param_groups[-1]["lr"]
    train(opt, params, c, 3)
    train(resumed, resumed_params, c, 3)
    for a, b in zip(params, resumed_params):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_state_dict_copies_and_casts_state():
    p64 = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p64], lr=0.1, momentum=0.9)
    (p64 * p64).sum().backward()
    opt.step()
    p32 = tg.tensor([1.0, 2.0], requires_grad=True)
    other = optim.SGD([p32], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    other.load_state_dict(state)
    buffer = other.state[p32]["momentum_buffer"]
    assert buffer.dtype == tg.float32
    assert buffer.payload is not state["state"][0]["momentum_buffer"].payload
    np.testing.assert_allclose(buffer.numpy(), [2.0, 4.0])


def test_load_state_dict_rejects_mismatched_groups():
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    state = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(state)


# ---------------------------------------------------------------------------- schedulers
def make_optimizer(lr=1.0, groups=1):
    return optim.SGD([{"params": [tg.tensor([1.0], requires_grad=True)], "lr": lr * (i + 1)}
                      for i in range(groups)], lr=lr)


def lrs_over(scheduler, epochs):
    values = []
    for _ in range(epochs):
        values.append(scheduler.get_last_lr())
        scheduler.optimizer.step()
        scheduler.step()
    return values


def test_step_lr_follows_closed_form():
    scheduler = StepLR(make_optimizer(0.5, groups=2), step_size=3, gamma=0.1)
    assert scheduler.last_epoch == 0
    got = lrs_over(scheduler, 20)
    expected = [[base * 0.1 ** (epoch // 3) for base in (0.5, 1.0)] for epoch in range(20)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert scheduler.last_epoch == 20
    assert scheduler.optimizer.param_groups[0]["lr"] == scheduler.get_last_lr()[0]


@pytest.mark.parametrize("T_max, eta_min", [(10, 0.0), (7, 0.01)])
def test_cosine_annealing_follows_closed_form(T_max, eta_min):
    scheduler = CosineAnnealingLR(make_optimizer(0.1), T_max=T_max, eta_min=eta_min)
    got = [lr[0] for lr in lrs_over(scheduler, 20)]
    expected = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2 for t in range(20)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind, kwargs", [("StepLR", dict(step_size=4, gamma=0.5)),
                                          ("CosineAnnealingLR", dict(T_max=6, eta_min=0.001)),
                                          ("CosineAnnealingLR", dict(T_max=10))])
def test_schedulers_match_torch(kind, kwargs):
    torch = pytest.importorskip("torch")
    ours = getattr(optim.lr_scheduler, kind)(make_optimizer(0.1), **kwargs)
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, kind)(torch_opt, **kwargs)
    for epoch in range(20):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"epoch {epoch}")
        torch_opt.step()
        ours.step()
        theirs.step()


def test_scheduler_state_dict_round_trip(tmp_path):
    first = CosineAnnealingLR(make_optimizer(0.1), T_max=8)
    lrs_over(first, 5)
    tg.save(first.state_dict(), tmp_path / "sched.tg")
    second = CosineAnnealingLR(make_optimizer(0.1), T_max=8)
    second.load_state_dict(tg.load(tmp_path / "sched.tg"))
    second.optimizer.param_groups[0]["lr"] = first.optimizer.param_groups[0]["lr"]
    assert second.last_epoch == 5 and "optimizer" not in first.state_dict()
    np.testing.assert_allclose(lrs_over(second, 6), lrs_over(first, 6), rtol=1e-12)


def test_scheduler_base_is_extensible_and_checks_arguments():
    class HalveEveryEpoch(LRScheduler):
        def get_lr(self):
            return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

    assert _LRScheduler is LRScheduler
    scheduler = HalveEveryEpoch(make_optimizer(1.0))
    assert [lr[0] for lr in lrs_over(scheduler, 4)] == [1.0, 0.5, 0.25, 0.125]
    with pytest.raises(TypeError, match="is not an Optimizer"):
        StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(make_optimizer(), step_size=1, last_epoch=3)
    with pytest.raises(NotImplementedError):
        LRScheduler(make_optimizer())


def test_step_with_epoch_uses_closed_form():
    scheduler = StepLR(make_optimizer(1.0), step_size=2, gamma=0.1)
    scheduler.step(5)
    assert scheduler.last_epoch == 5
    np.testing.assert_allclose(scheduler.get_last_lr(), [0.01])
