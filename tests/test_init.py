"""nn.init: gains, fans, the distributions' spreads, reproducibility, in-place and graph-free."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import init


def param(*shape):
    return nn.Parameter(tg.zeros(*shape))


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "big")


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param_value in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                              ("leaky_relu", 0.2), ("selu", None), ("sigmoid", None)]:
        assert init.calculate_gain(name, param_value) == pytest.approx(torch.nn.init.calculate_gain(name, param_value))


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(tg.zeros(30, 50)) == (50, 30)  # Linear(50, 30).weight
    assert init._calculate_fan_in_and_fan_out(tg.zeros(6, 3, 5, 5)) == (75, 150)  # Conv2d(3, 6, 5)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tg.zeros(4))


def test_functions_work_in_place_on_parameters_and_record_no_graph():
    for fill in [lambda t: init.uniform_(t, -1, 1), lambda t: init.normal_(t, 0, 2), lambda t: init.constant_(t, 0.3),
                 init.zeros_, init.ones_, init.xavier_uniform_, init.xavier_normal_,
                 init.kaiming_uniform_, lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")]:
        p = param(4, 3)
        storage = p.payload
        out = fill(p)
        assert out is p and p.payload is storage  # the same tensor, written in place
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
    p = param(2, 2)
    init.constant_(p, 0.3)
    np.testing.assert_allclose(p.detach().numpy(), 0.3)
    init.ones_(p)
    assert np.all(p.detach().numpy() == 1)
    init.zeros_(p)
    assert not p.detach().numpy().any()


def test_manual_seed_and_generator_make_draws_reproducible():
    for fill in [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                 init.kaiming_normal_]:
        tg.manual_seed(5)
        a = fill(param(6, 4)).detach().numpy().copy()
        tg.manual_seed(5)
        b = fill(param(6, 4)).detach().numpy().copy()
        c = fill(param(6, 4)).detach().numpy().copy()
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    g1, g2 = tg.Generator().manual_seed(9), tg.Generator().manual_seed(9)
    np.testing.assert_array_equal(init.normal_(param(3, 3), generator=g1).detach().numpy(),
                                  init.normal_(param(3, 3), generator=g2).detach().numpy())


def _draw(fill, shape=(400, 500), **kwargs):
    tg.manual_seed(0)
    return fill(tg.zeros(*shape), **kwargs).numpy()


def test_uniform_and_normal_statistics():
    u = _draw(init.uniform_, a=-2.0, b=4.0)
    assert u.min() >= -2.0 and u.max() < 4.0
    assert u.mean() == pytest.approx(1.0, abs=0.02)
    n = _draw(init.normal_, mean=1.0, std=3.0)
    assert n.mean() == pytest.approx(1.0, abs=0.03) and n.std() == pytest.approx(3.0, rel=0.01)


def test_xavier_spreads():
    fan_in, fan_out = 500, 400
    std = math.sqrt(2.0 / (fan_in + fan_out))
    u = _draw(init.xavier_uniform_, gain=2.0)
    assert np.abs(u).max() <= 2.0 * math.sqrt(3) * std
    assert u.std() == pytest.approx(2.0 * std, rel=0.01)
    assert _draw(init.xavier_normal_).std() == pytest.approx(std, rel=0.01)


def test_kaiming_spreads_modes_and_the_default_linear_bound():
    fan_in, fan_out = 500, 400
    relu_std_in = math.sqrt(2) / math.sqrt(fan_in)
    u = _draw(init.kaiming_uniform_, nonlinearity="relu")
    assert np.abs(u).max() <= math.sqrt(3) * relu_std_in
    assert u.std() == pytest.approx(relu_std_in, rel=0.01)
    n = _draw(init.kaiming_normal_, mode="fan_out", nonlinearity="relu")
    assert n.std() == pytest.approx(math.sqrt(2) / math.sqrt(fan_out), rel=0.01)
    default_linear = _draw(init.kaiming_uniform_, a=math.sqrt(5))  # Linear's init: U(+-1/sqrt(fan_in))
    assert np.abs(default_linear).max() <= 1 / math.sqrt(fan_in)
    assert np.abs(default_linear).max() > 0.99 / math.sqrt(fan_in)
    conv = _draw(init.kaiming_normal_, shape=(8, 4, 3, 3))
    assert conv.std() == pytest.approx(init.calculate_gain("leaky_relu", 0) / math.sqrt(36), rel=0.15)
    with pytest.raises(ValueError, match="Mode fan_avg not supported, please use one of fan_in, fan_out"):
        init.kaiming_uniform_(tg.zeros(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(tg.zeros(0, 3))


def test_init_applied_through_module_apply():
    def reinit(module):
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)

    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    net.apply(reinit)
    assert not net[0].bias.detach().numpy().any() and not net[2].bias.detach().numpy().any()
    assert np.abs(net[0].weight.detach().numpy()).max() <= math.sqrt(6 / 7)
