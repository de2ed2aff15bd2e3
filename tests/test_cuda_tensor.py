"""Tensors, models and optimizers on device="cuda", compared with the same code on "cpu".

Without a GPU, `test_cuda_tensor_suite_in_simulator` re-runs this file in a subprocess with
NUMBA_ENABLE_CUDASIM=1 set before Python starts (numba reads it at import). Inside that run
the simulator is made *strict*: its fake device arrays normally answer any numpy attribute
(`.flags`, `.astype`, arithmetic...), which real device arrays do not, so code that only works
on numpy would pass here and fail on a GPU. Strict mode refuses those. Sizes are tiny: the
simulator runs every CUDA thread as a Python thread. On a real GPU: CUDA_TENSOR_TEST_GPU=1.
"""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.nn import functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
on_device = pytest.mark.skipif(not (IN_SIM or os.environ.get("CUDA_TENSOR_TEST_GPU") == "1"),
                               reason="runs in the simulator subprocess (or set CUDA_TENSOR_TEST_GPU=1)")


# ---------------------------------------------------------------------------- outer tests
def test_is_available_is_false_without_driver_or_simulator():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = "import tinygrad_edu as tg; print(tg.cuda.is_available())"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(env, PYTHONPATH=ROOT),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    if os.environ.get("CUDA_TENSOR_TEST_GPU") != "1":
        assert r.stdout.strip() == "False"


@pytest.mark.skipif(IN_SIM, reason="already inside the simulator run")
def test_cuda_tensor_suite_in_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.abspath(__file__), "-k", "on_cuda"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=500)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "passed" in r.stdout and "skipped" not in r.stdout.split("\n")[-2], r.stdout[-2000:]


# ---------------------------------------------------------------------------- strict simulator
# what a real numba DeviceNDArray has besides what the fake class defines itself
_REAL_ATTRIBUTES = {"strides", "dtype", "size", "ndim", "nbytes", "alloc_size", "gpu_data"}


@pytest.fixture(autouse=True)
def strict_simulator(monkeypatch):
    if not IN_SIM:
        yield
        return
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    def strict_getattr(self, name):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if name not in _REAL_ATTRIBUTES and not caller.startswith("numba"):
            raise AttributeError(f"real device arrays have no {name!r} (asked from {caller})")
        return getattr(self._ary, name)

    def refuse(name):
        def method(self, *args):
            raise TypeError(f"real device arrays do not support {name}")
        return method

    monkeypatch.setattr(FakeCUDAArray, "__getattr__", strict_getattr)
    for name in ["__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__",
                 "__pow__", "__lt__", "__le__", "__gt__", "__ge__"]:
        monkeypatch.setattr(FakeCUDAArray, name, refuse(name))
    yield


# ---------------------------------------------------------------------------- helpers
def both(array, requires_grad=False, dtype=None):
    """The same data as a CPU tensor and a CUDA tensor."""
    cpu = tg.tensor(array, dtype=dtype, requires_grad=requires_grad)
    gpu = tg.tensor(array, dtype=dtype, device="cuda", requires_grad=requires_grad)
    return cpu, gpu


def host(t):
    return t.detach().cpu().numpy()


def close(gpu, cpu, rtol=1e-5, atol=1e-6):
    assert gpu.device == tg.device("cuda"), gpu.device
    assert gpu.shape == cpu.shape and gpu.dtype == cpu.dtype, (gpu.shape, cpu.shape, gpu.dtype, cpu.dtype)
    np.testing.assert_allclose(host(gpu), host(cpu), rtol=rtol, atol=atol)


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------- movement
@on_device
def test_on_cuda_creation_and_movement():
    assert tg.cuda.is_available()
    data = [[1.0, 2.0], [3.0, 4.0]]
    x = tg.tensor(data, device="cuda")
    assert x.is_cuda and x.device == tg.device("cuda:0") and str(x.device) == "cuda:0"
    assert not isinstance(x.payload, np.ndarray)
    np.testing.assert_array_equal(x.cpu().numpy(), np.array(data, np.float32))
    y = tg.tensor(data).to("cuda")
    assert y.is_cuda and y.to("cpu").device == tg.device("cpu")
    assert tg.tensor(data).cuda().is_cuda and x.cuda() is x
    for factory in [tg.zeros, tg.ones, tg.randn, tg.rand, tg.empty]:
        t = factory(2, 3, device="cuda")
        assert t.is_cuda and t.shape == (2, 3) and t.dtype == tg.float32
    tg.manual_seed(3)
    a = tg.randn(4, device="cuda")
    tg.manual_seed(3)
    np.testing.assert_array_equal(host(a), host(tg.randn(4)))   # same seed, same numbers
    assert tg.arange(5, device="cuda").tolist() == [0, 1, 2, 3, 4]
    assert tg.zeros_like(x).is_cuda and tg.ones_like(x).tolist() == [[1, 1], [1, 1]]
    s = x.sum()
    assert s.shape == () and s.item() == 10.0 and float(s) == 10.0
    assert "device='cuda:0'" in repr(x) and repr(x).startswith("tensor([[1., 2.],")
    with pytest.raises(TypeError, match="cuda"):
        x.numpy()
    assert x.tolist() == data


@on_device
def test_on_cuda_mixed_devices_raise():
    a, b = tg.ones(2), tg.ones(2, device="cuda")
    message = "Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0!"
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(")):
        a + b
    with pytest.raises(RuntimeError, match="same device"):
        b @ tg.ones(2, 2)
    with pytest.raises(RuntimeError, match="same device"):
        tg.cat([a, b])
    with pytest.raises(RuntimeError, match="same device"):
        F.cross_entropy(tg.ones(2, 3, device="cuda"), tg.tensor([0, 1]))


# ---------------------------------------------------------------------------- ops vs cpu
UNARY_CASES = {
    "neg": lambda x: -x, "exp": lambda x: x.exp(), "log": lambda x: (x * x + 0.5).log(),
    "sqrt": lambda x: (x * x + 0.5).sqrt(), "abs": lambda x: x.abs(), "relu": lambda x: x.relu(),
    "tanh": lambda x: x.tanh(), "sigmoid": lambda x: x.sigmoid(),
    "clamp": lambda x: x.clamp(-0.3, 0.4), "pow": lambda x: x ** 2, "rpow": lambda x: 2 ** x,
    "scalar": lambda x: (3.0 - x) / 2 + 1 * x, "sum": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(0), "sum_keep": lambda x: x.sum((0, 2), keepdim=True),
    "mean": lambda x: x.mean(1), "var": lambda x: x.var(2), "max": lambda x: x.max(),
    "max_dim": lambda x: x.max(1).values, "min_dim": lambda x: x.min(2, keepdim=True)[0],
    "softmax0": lambda x: x.softmax(0), "softmax2": lambda x: x.softmax(-1),
    "log_softmax1": lambda x: x.log_softmax(1), "permute": lambda x: x.permute(2, 0, 1) * 1,
    "transpose": lambda x: x.transpose(0, 2).reshape(4, 6), "expand": lambda x: x[:, :1].expand(2, 3, 4),
    "getitem_basic": lambda x: x[1, ::2, None, 1:], "getitem_list": lambda x: x[:, [2, 0, 2]],
    "getitem_pair": lambda x: x[[0, 1, 1], [2, 0, 2]], "getitem_mask": lambda x: x[x > 0],
    "unsqueeze_flatten": lambda x: x.unsqueeze(1).flatten(), "maximum": lambda x: x.maximum(x[::-1] * 0.5),
    "where": lambda x: tg.where(x > 0, x, x * 0.1), "leaky": lambda x: F.leaky_relu(x, 0.2),
    "gelu": lambda x: F.gelu(x), "softplus": lambda x: F.softplus(x),
    "gather": lambda x: x.gather(2, tg.tensor([[[0, 3], [1, 1], [2, 0]]] * 2, device=x.device)),
    "split_cat": lambda x: tg.cat(list(x.split(1, 1))[::-1], 1),
    "stack": lambda x: tg.stack([x, x * 2], 1), "std": lambda x: x.std(),
    "setitem": lambda x: _setitem(x),
}


def _setitem(x):
    y = x * 1
    y[0, 1] = 5.0
    y[:, :, 0] = y[:, :, 1]
    return y * x


@on_device
@pytest.mark.parametrize("name", sorted(UNARY_CASES))
def test_on_cuda_op_matches_cpu(name):
    fn = UNARY_CASES[name]
    x_cpu, x_gpu = both(rnd(2, 3, 4), requires_grad=True)
    out_cpu, out_gpu = fn(x_cpu), fn(x_gpu)
    close(out_gpu, out_cpu, atol=1e-5)
    seed = rnd(*out_cpu.shape, seed=1)
    out_cpu.backward(tg.tensor(seed))
    out_gpu.backward(tg.tensor(seed, device="cuda"))
    close(x_gpu.grad, x_cpu.grad, atol=1e-5)


@on_device
def test_on_cuda_binary_broadcast_and_compare():
    a_cpu, a_gpu = both(rnd(2, 1, 4), requires_grad=True)
    b_cpu, b_gpu = both(rnd(3, 1, seed=1), requires_grad=True)
    for fn in [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / (b * b + 1),
               lambda a, b: a.maximum(b), lambda a, b: (a.abs() + 1) ** b]:
        a_cpu.grad = b_cpu.grad = a_gpu.grad = b_gpu.grad = None
        oc, og = fn(a_cpu, b_cpu), fn(a_gpu, b_gpu)
        close(og, oc)
        oc.sum().backward()
        og.sum().backward()
        close(a_gpu.grad, a_cpu.grad, atol=1e-5)
        close(b_gpu.grad, b_cpu.grad, atol=1e-5)
    for fn in [lambda a, b: a < b, lambda a, b: a >= 0.1, lambda a, b: a == a, lambda a, b: (a > 0) & (b > 0),
               lambda a, b: ~(a > 0)]:
        np.testing.assert_array_equal(host(fn(a_gpu, b_gpu)), host(fn(a_cpu, b_cpu)))
    assert (a_gpu > 0).sum().item() == (a_cpu > 0).sum().item()
    assert a_gpu.argmax().item() == a_cpu.argmax().item()
    np.testing.assert_array_equal(host(a_gpu.argmin(2)), host(a_cpu.argmin(2)))
    i_cpu, i_gpu = both([[1, 2], [3, 4]], dtype=tg.int64)
    close(i_gpu * 2 + i_gpu, i_cpu * 2 + i_cpu)
    close(i_gpu / 2, i_cpu / 2)
    close(i_gpu.float().mean(), i_cpu.float().mean())


@on_device
def test_on_cuda_matmul_and_in_place():
    a_cpu, a_gpu = both(rnd(2, 3, 5), requires_grad=True)
    w_cpu, w_gpu = both(rnd(5, 4, seed=1), requires_grad=True)
    oc, og = a_cpu @ w_cpu, a_gpu @ w_gpu
    close(og, oc, atol=1e-5)
    (oc * oc).sum().backward()
    (og * og).sum().backward()
    close(a_gpu.grad, a_cpu.grad, atol=1e-4)
    close(w_gpu.grad, w_cpu.grad, atol=1e-4)
    v_cpu, v_gpu = both(rnd(5))
    close(w_gpu.detach().T @ v_gpu, w_cpu.detach().T @ v_cpu, atol=1e-5)
    x_cpu, x_gpu = both(rnd(3, 4))
    for x in (x_cpu, x_gpu):
        x.add_(1).mul_(2)
        x[0] += 1
        x.clamp_(max=2.5)
        x.sub_(x * 0.5)
    close(x_gpu, x_cpu)
    assert not x_gpu.T.is_contiguous() or x_gpu.T.contiguous().is_contiguous()


# ---------------------------------------------------------------------------- nn
@on_device
def test_on_cuda_nn_layers_match_cpu():
    tg.manual_seed(0)
    layers = [nn.Conv2d(2, 3, 3, stride=1, padding=1), nn.MaxPool2d(2), nn.AvgPool2d(2, stride=1),
              nn.BatchNorm2d(2), nn.Linear(5, 3)]
    inputs = [rnd(2, 2, 5, 5), rnd(2, 2, 5, 5), rnd(2, 2, 4, 4), rnd(3, 2, 3, 3), rnd(2, 4, 5)]
    for layer, x in zip(layers, inputs):
        layer_gpu = _copy_module(layer).to("cuda")
        x_cpu, x_gpu = both(x, requires_grad=True)
        oc, og = layer(x_cpu), layer_gpu(x_gpu)
        close(og, oc, atol=1e-5)
        g = rnd(*oc.shape, seed=2)
        oc.backward(tg.tensor(g))
        og.backward(tg.tensor(g, device="cuda"))
        close(x_gpu.grad, x_cpu.grad, atol=1e-5)
        for pc, pg in zip(layer.parameters(), layer_gpu.parameters()):
            close(pg.grad, pc.grad, atol=1e-4)
        for bc, bg in zip(layer.buffers(), layer_gpu.buffers()):
            close(bg, bc, atol=1e-5)
    emb = nn.Embedding(5, 3, padding_idx=0)
    emb_gpu = _copy_module(emb).to("cuda")
    idx_cpu, idx_gpu = both([[1, 0, 4], [4, 4, 2]], dtype=tg.int64)
    oc, og = emb(idx_cpu), emb_gpu(idx_gpu)
    close(og, oc)
    oc.sum().backward()
    og.sum().backward()
    close(emb_gpu.weight.grad, emb.weight.grad)
    logits_cpu, logits_gpu = both(rnd(4, 3), requires_grad=True)
    t_cpu, t_gpu = both([0, 2, 1, 2], dtype=tg.int64)
    for loss_fn in [nn.CrossEntropyLoss(), nn.CrossEntropyLoss(ignore_index=1),
                    lambda x, t: nn.MSELoss()(x, x.detach() * 0.5),
                    lambda x, t: F.nll_loss(x.log_softmax(1), t)]:
        logits_cpu.grad = logits_gpu.grad = None
        lc, lg = loss_fn(logits_cpu, t_cpu), loss_fn(logits_gpu, t_gpu)
        close(lg, lc)
        lc.backward()
        lg.backward()
        close(logits_gpu.grad, logits_cpu.grad)
    tg.manual_seed(5)
    dc = F.dropout(logits_cpu, 0.5)
    tg.manual_seed(5)
    close(F.dropout(logits_gpu, 0.5), dc)


def _copy_module(module):
    """A twin of `module` with copies of its parameters and buffers (the state_dict route)."""
    twin = _fresh(module)
    twin.load_state_dict({k: v.clone() for k, v in module.state_dict().items()})
    return twin


def _fresh(module):
    if isinstance(module, nn.Conv2d):
        return nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                         module.stride, module.padding)
    if isinstance(module, nn.Linear):
        return nn.Linear(module.in_features, module.out_features)
    if isinstance(module, nn.BatchNorm2d):
        return nn.BatchNorm2d(module.num_features)
    if isinstance(module, nn.Embedding):
        return nn.Embedding(module.num_embeddings, module.embedding_dim, padding_idx=module.padding_idx)
    if isinstance(module, nn.Sequential):
        return nn.Sequential(*[_fresh(m) for m in module])
    return module  # stateless (pooling, activations)


# ---------------------------------------------------------------------------- training
def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def _convnet():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(2 * 3 * 3, 3))


def _train(model_fn, x, y, device, make_optimizer, steps=3):
    tg.manual_seed(0)
    model = model_fn().to(device)
    optimizer = make_optimizer(model.parameters())
    x, y = tg.tensor(x, device=device), tg.tensor(y, device=device)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [host(p) for p in model.parameters()]


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=0.01, weight_decay=1e-3),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
}


@on_device
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_on_cuda_mlp_training_matches_cpu(opt):
    x, y = rnd(5, 6, seed=3), np.array([0, 2, 1, 1, 0])
    losses_cpu, params_cpu = _train(_mlp, x, y, "cpu", OPTIMIZERS[opt])
    losses_gpu, params_gpu = _train(_mlp, x, y, "cuda", OPTIMIZERS[opt])
    np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-5, atol=1e-6)
    for pg, pc in zip(params_gpu, params_cpu):
        np.testing.assert_allclose(pg, pc, rtol=1e-4, atol=1e-5)
    assert losses_gpu[-1] < losses_gpu[0]


@on_device
def test_on_cuda_convnet_training_matches_cpu():
    x, y = rnd(2, 1, 6, 6, seed=4), np.array([1, 2])
    for opt in ["sgd", "adam"]:
        losses_cpu, params_cpu = _train(_convnet, x, y, "cpu", OPTIMIZERS[opt], steps=2)
        losses_gpu, params_gpu = _train(_convnet, x, y, "cuda", OPTIMIZERS[opt], steps=2)
        np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-5, atol=1e-6)
        for pg, pc in zip(params_gpu, params_cpu):
            np.testing.assert_allclose(pg, pc, rtol=1e-4, atol=1e-5)


@on_device
def test_on_cuda_module_to_keeps_parameter_objects():
    model = _mlp()
    before = list(model.parameters())
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    assert model.to("cuda") is model
    after = list(model.parameters())
    assert all(a is b for a, b in zip(before, after))
    assert all(p.is_cuda and isinstance(p, nn.Parameter) for p in after)
    loss = model(tg.randn(2, 6, device="cuda")).sum()
    loss.backward()
    old = host(after[0])
    optimizer.step()          # the optimizer made before .to still updates the model
    assert not np.allclose(host(after[0]), old)
    model.cpu()
    assert not any(p.is_cuda for p in model.parameters())
    assert model.cuda() is model and next(iter(model.parameters())).is_cuda


@on_device
def test_on_cuda_no_silent_host_transfer(monkeypatch):
    """forward + backward + optimizer step move no data between host and device."""
    import kernels.cuda as KC
    tg.manual_seed(0)
    model = _convnet().to("cuda")
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    x = tg.randn(2, 1, 6, 6, device="cuda")
    y = tg.tensor([1, 2], device="cuda")
    loss_fn = nn.CrossEntropyLoss()
    calls = []
    device_array_type = type(x.payload)
    original_copy_to_host = device_array_type.copy_to_host

    def counting_copy_to_host(self, *args, **kwargs):
        calls.append("copy_to_host")
        return original_copy_to_host(self, *args, **kwargs)

    original_to_device = KC.to_device

    def counting_to_device(a):
        calls.append("to_device")
        return original_to_device(a)

    monkeypatch.setattr(device_array_type, "copy_to_host", counting_copy_to_host)
    monkeypatch.setattr(KC, "to_device", counting_to_device)
    for _ in range(2):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    assert calls == [], calls
    loss.item()               # asked for: one copy
    assert calls == ["copy_to_host"]


@on_device
def test_on_cuda_save_and_load(tmp_path):
    x = tg.tensor([[1.5, -2.0]], device="cuda")
    path = tmp_path / "t.tg"
    tg.save({"x": x}, path)                 # stored on the host
    loaded = tg.load(path)
    assert not loaded["x"].is_cuda and loaded["x"].tolist() == [[1.5, -2.0]]
    on_gpu = tg.load(path, map_location="cuda")
    assert on_gpu["x"].is_cuda and on_gpu["x"].tolist() == [[1.5, -2.0]]
