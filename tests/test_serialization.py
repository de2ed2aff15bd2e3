"""save/load: round trips, the safety of load (no pickle, ever), clear errors for foreign or
damaged files, and atomic saves."""
import collections
import errno
import io
import json
import os
import pathlib
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import serialization
from tinygrad_edu.serialization import SerializationError


def roundtrip(obj, tmp_path):
    path = tmp_path / "obj.tg"
    tg.save(obj, path)
    return tg.load(path)


def assert_tensor_equal(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "bool"])
def test_tensor_round_trip_keeps_dtype_shape_and_values(dtype, tmp_path):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4)) * 10).astype(dtype)
    t = tg.tensor(array)
    assert_tensor_equal(roundtrip(t, tmp_path), t)
    for shape in [(), (0, 3), (2, 1, 2)]:
        t = tg.tensor(np.ones(shape, dtype=dtype))
        assert_tensor_equal(roundtrip(t, tmp_path), t)


def test_requires_grad_parameters_and_non_contiguous_tensors(tmp_path):
    w = tg.randn(3, 2, requires_grad=True)
    p = tg.nn.Parameter(tg.randn(4))
    frozen = tg.nn.Parameter(tg.randn(2), requires_grad=False)
    view = tg.arange(12, dtype=tg.float32).reshape(3, 4).T  # not contiguous
    loaded_w, loaded_p, loaded_frozen, loaded_view = roundtrip([w, p, frozen, view], tmp_path)
    assert_tensor_equal(loaded_w, w)
    assert_tensor_equal(loaded_p, p) and isinstance(loaded_p, tg.nn.Parameter)
    assert_tensor_equal(loaded_frozen, frozen)
    assert_tensor_equal(loaded_view, view)
    assert loaded_w.grad is None and loaded_w.is_leaf


def test_nested_containers_and_python_values(tmp_path):
    t = tg.tensor([1.0, 2.0])
    obj = {
        "epoch": 3, "lr": 0.1, "name": "run-1 ✓", "done": False, "nothing": None, "big": 2 ** 70,
        "nan": float("nan"), "inf": float("-inf"),
        "state": collections.OrderedDict([("w", t), ("b", tg.zeros(1))]),
        0: "int key", 1.5: "float key", (1, "a"): "tuple key", True: "bool key", None: "none key",
        "nested": [1, (2, [3, {"x": (t,)}]), []], "empty": {}, "tuple": (),
        "array": np.arange(6, dtype=np.int16).reshape(2, 3), "np_scalar": np.float32(0.25),
        "np_int": np.int64(7),
    }
    loaded = roundtrip(obj, tmp_path)
    assert list(loaded) == list(obj)  # keys, their types and their order
    assert isinstance(loaded["state"], collections.OrderedDict) and type(loaded) is dict
    for key in ("epoch", "lr", "name", "done", "nothing", "big", 0, 1.5, (1, "a"), True, None,
                "empty", "tuple"):
        assert loaded[key] == obj[key] and type(loaded[key]) is type(obj[key])
    assert np.isnan(loaded["nan"]) and loaded["inf"] == float("-inf")
    assert_tensor_equal(loaded["state"]["w"], t)
    assert loaded["nested"][1][1][1]["x"][0] is loaded["state"]["w"]  # one tensor, saved once
    assert isinstance(loaded["nested"][1], tuple) and isinstance(loaded["nested"][1][1], list)
    assert isinstance(loaded["array"], np.ndarray) and loaded["array"].dtype == np.int16
    np.testing.assert_array_equal(loaded["array"], obj["array"])
    assert loaded["np_scalar"] == 0.25 and loaded["np_int"] == 7 and type(loaded["np_int"]) is int


def test_paths_file_objects_and_map_location(tmp_path):
    t = tg.tensor([[1, 2], [3, 4]])
    tg.save(t, str(tmp_path / "a.tg"))
    assert_tensor_equal(tg.load(str(tmp_path / "a.tg"), map_location="cpu"), t)
    assert_tensor_equal(tg.load(pathlib.Path(tmp_path / "a.tg"), map_location=tg.device("cpu")), t)
    buffer = io.BytesIO()
    tg.save({"t": t}, buffer)
    buffer.seek(0)
    assert_tensor_equal(tg.load(buffer)["t"], t)
    with pytest.raises(RuntimeError, match="unknown device"):
        tg.load(tmp_path / "a.tg", map_location="tpu")


def test_views_are_saved_as_separate_copies(tmp_path):
    base = tg.arange(6, dtype=tg.float32)
    view = base[2:4]
    loaded_base, loaded_view = roundtrip([base, view], tmp_path)
    loaded_base[2:4] = 0.0
    np.testing.assert_array_equal(loaded_view.numpy(), [2.0, 3.0])  # documented: no shared storage


def test_module_state_dict_round_trip(tmp_path):
    model = tg.nn.Linear(3, 2)
    other = tg.nn.Linear(3, 2)
    other.load_state_dict(roundtrip(model.state_dict(), tmp_path))
    for a, b in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


# ---------------------------------------------------------------------------- unsupported objects
@pytest.mark.parametrize("obj, name", [
    (lambda x: x, "function"), (tg.nn.Linear(2, 2), "Linear"), ({1, 2}, "set"), (b"bytes", "bytes"),
    (np.array(["a"]), "dtype <U1"), ({"k": object()}, "object"),
    ({tg.tensor(1.0): 1}, "dict key of type Tensor"),
    (1 + 2j, "complex"),
])
def test_save_refuses_unsupported_objects(obj, name, tmp_path):
    with pytest.raises(TypeError, match=name):
        tg.save(obj, tmp_path / "x.tg")
    assert list(tmp_path.iterdir()) == []  # refused before touching the disk


def test_save_refuses_self_referencing_containers(tmp_path):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        tg.save(loop, tmp_path / "x.tg")


# ---------------------------------------------------------------------------- foreign and damaged files
class RunsCode:
    """A pickle that would run a shell command when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickles_are_refused_and_never_run(tmp_path):
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    with pytest.raises(SerializationError, match="pickle") as info:
        tg.load(plain)
    assert "plain.pkl" in str(info.value)

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(RunsCode(marker)))
    for protocol_zero in (False, True):
        if protocol_zero:
            evil.write_bytes(pickle.dumps(RunsCode(marker), protocol=0))
        with pytest.raises(SerializationError):
            tg.load(evil)
        assert not marker.exists()


def test_torch_checkpoints_are_refused_with_a_hint(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:  # torch.save's layout, without needing torch
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(SerializationError, match="PyTorch checkpoint"):
        tg.load(path)


def test_real_torch_save_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "real.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(SerializationError, match="PyTorch checkpoint"):
        tg.load(path)


def test_empty_random_and_truncated_files(tmp_path):
    empty = tmp_path / "empty.tg"
    empty.write_bytes(b"")
    with pytest.raises(SerializationError, match="empty.tg.*the file is empty"):
        tg.load(empty)

    noise = tmp_path / "noise.tg"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(SerializationError, match="noise.tg.*zip signature"):
        tg.load(noise)

    good = tmp_path / "good.tg"
    tg.save({"w": tg.randn(50, 50), "b": tg.randn(50)}, good)
    data = good.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 10):
        truncated = tmp_path / f"cut{cut}.tg"
        truncated.write_bytes(data[:cut])
        with pytest.raises(SerializationError, match=f"cut{cut}.tg.*truncated or corrupt"):
            tg.load(truncated)

    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside the first tensor's bytes: the CRC catches it
    damaged = tmp_path / "flipped.tg"
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(SerializationError, match="flipped.tg"):
        tg.load(damaged)

    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.tg")
    with pytest.raises(SerializationError, match="is a directory"):
        tg.load(tmp_path)


def write_archive(path, manifest, entries=()):
    """A hand-made archive: the manifest (a dict, or raw text) and entries {name: array or bytes}."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest if isinstance(manifest, str) else json.dumps(manifest))
        for name, data in dict(entries).items():
            if isinstance(data, np.ndarray):
                buffer = io.BytesIO()
                np.save(buffer, data, allow_pickle=True)
                data = buffer.getvalue()
            archive.writestr(name, data)


def tensor_node(entry="tensors/0.npy", dtype="float32", shape=(2,), **extra):
    return {"type": "tensor", "entry": entry, "dtype": dtype, "shape": list(shape), "requires_grad": False,
            **extra}


def manifest(root, **overrides):
    return {"format": "tinygrad_edu.save", "version": 1, "root": root, **overrides}


GOOD = {"tensors/0.npy": np.zeros(2, dtype=np.float32)}


@pytest.mark.parametrize("text, entries, message", [
    ("{not json", GOOD, "not valid JSON"),
    (manifest(None, format="something-else"), {}, "not a tinygrad_edu manifest"),
    ({"format": "tinygrad_edu.save", "version": 1}, {}, "not a tinygrad_edu manifest"),
    (manifest(None, version=99), {}, "format version 99"),
    (manifest({"type": "lambda"}), {}, "unknown node type 'lambda'"),
    (manifest({"no": "type"}), {}, "malformed manifest node"),
    (manifest({"type": "list", "items": 3}), {}, "items must be a list"),
    (manifest({"type": "dict", "items": [[1]]}), {}, "malformed dict item"),
    (manifest({"type": "dict", "items": [[[1, 2], 3]]}), {}, "malformed dict key"),
    (manifest(tensor_node(entry="tensors/9.npy")), GOOD,
     "refers to 'tensors/9.npy', which is not in the archive"),
    (manifest(tensor_node(shape=(3,))), GOOD, r"holds float32 \[2\] but the manifest says float32 \[3\]"),
    (manifest(tensor_node(dtype="float64")), GOOD, "holds float32 .2. but the manifest says float64"),
    (manifest(tensor_node(dtype="float16")), {"tensors/0.npy": np.zeros(2, np.float16)},
     "unsupported dtype 'float16'"),
    (manifest(tensor_node(dtype="complex64")), {"tensors/0.npy": np.zeros(2, np.complex64)},
     "unsupported dtype"),
    (manifest(tensor_node(dtype="object")), {"tensors/0.npy": np.array([None, 1], dtype=object)},
     "unsupported dtype"),
    (manifest({"type": "ndarray", "entry": "tensors/0.npy", "dtype": "object", "shape": [2]}),
     {"tensors/0.npy": np.array([None, 1], dtype=object)}, "not a valid .npy array"),
    (manifest(tensor_node()), {"tensors/0.npy": b"not an npy file"}, "not a valid .npy array"),
    (manifest(tensor_node(dtype="int64", requires_grad=True)), {"tensors/0.npy": np.zeros(2, np.int64)},
     "marked requires_grad"),
    (manifest({"type": "tensor", "entry": 3}), GOOD, "malformed tensor node"),
])
def test_inconsistent_archives_are_refused(text, entries, message, tmp_path):
    path = tmp_path / "bad.tg"
    write_archive(path, text, entries)
    with pytest.raises(SerializationError, match=message) as info:
        tg.load(path)
    assert "bad.tg" in str(info.value)


def test_zip_without_manifest_and_deep_nesting(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(SerializationError, match="zip file but not a tinygrad_edu checkpoint"):
        tg.load(path)
    path = tmp_path / "deep.tg"
    nested = "[" * 100_000 + "]" * 100_000  # deeper than json (or any recursive reader) goes
    write_archive(path, '{"format": "tinygrad_edu.save", "version": 1, "root": ' + nested + "}")
    with pytest.raises(SerializationError):
        tg.load(path)


# ---------------------------------------------------------------------------- atomic saves
def test_failed_save_leaves_the_old_file_intact_and_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.tg"
    tg.save({"step": 1, "w": tg.ones(100)}, path)
    before = path.read_bytes()

    real_write_array = serialization._write_array
    written = []

    def disk_full_on_second_tensor(archive, name, array):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(name)
        real_write_array(archive, name, array)

    monkeypatch.setattr(serialization, "_write_array", disk_full_on_second_tensor)
    with pytest.raises(OSError) as info:
        tg.save({"step": 2, "w": tg.zeros(100), "b": tg.zeros(3)}, path)
    assert info.value.errno == errno.ENOSPC and written  # it failed mid-way, after one tensor
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.tg"]
    assert tg.load(path)["step"] == 1


def test_interrupted_fsync_and_permissions(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.tg"
    tg.save([1], path)
    os.chmod(path, 0o640)
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tg.save([2], path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.tg"]
    tg.save([3], path)
    assert tg.load(path) == [3] and (os.stat(path).st_mode & 0o777) == 0o640  # keeps the old mode
