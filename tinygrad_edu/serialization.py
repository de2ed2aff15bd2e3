"""`save(obj, path)` / `load(path)`: checkpoints that can't run code when loaded.

PyTorch's `torch.save` pickles, and unpickling a file from the internet can run any code
it likes. Here the file is a zip archive holding only data:

    manifest.json        {"format": "tinygrad_edu.save", "version": 1, "root": <object tree>}
    tensors/0.npy        one raw numpy .npy entry per tensor (read with allow_pickle=False)
    tensors/1.npy        ...

The object tree is JSON: numbers, strings, bools and None as themselves; containers and
tensors as tagged objects, e.g. {"type": "tuple", "items": [...]},
{"type": "dict", "items": [[key, value], ...]} (keys keep their type: optimizer state dicts
use int keys), {"type": "tensor", "entry": "tensors/0.npy", "dtype": "float32",
"shape": [2, 3], "requires_grad": false}. `load` checks every entry against the manifest
and turns anything unexpected into a `SerializationError` naming the file.

What is kept and what is not:
* The same tensor object appearing twice is stored once and loaded as one object.
  Different tensors sharing storage (views) are stored as separate copies.
* A tensor keeps its requires_grad flag, and a `nn.Parameter` loads as a Parameter (other
  Tensor subclasses load as plain Tensors). Gradients (`.grad`) are not saved.
* Tensors always load on the CPU unless `map_location` names another device.
* numpy scalars are stored as Python numbers; numpy arrays load as numpy arrays.

`save` is atomic: it writes a temporary file beside the target, fsyncs it and renames it
over the target, so a crash or a full disk never leaves a half-written checkpoint.
"""
import collections
import contextlib
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from .backend import device as Device, move
from .dtypes import from_numpy_dtype
from .nn.parameter import Parameter
from .tensor import Tensor

__all__ = ["save", "load", "SerializationError"]

FORMAT = "tinygrad_edu.save"
VERSION = 1
_MANIFEST = "manifest.json"
_ZIP_MAGIC = b"PK\x03\x04"


class SerializationError(RuntimeError):
    """A file `load` can't (or won't) read: not ours, truncated, corrupt or inconsistent."""


# ---------------------------------------------------------------------------- save
def save(obj, f):
    """Write `obj` (tensors, numbers, strings, None and lists/tuples/dicts of them) to `f`,
    a path or a binary file object. Save `model.state_dict()`, not the model."""
    arrays = []  # (entry name, numpy array), in the order the manifest refers to them
    root = _encode(obj, arrays, {}, set())
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    if hasattr(f, "write"):
        _write_archive(f, manifest, arrays)  # a file object: the caller owns atomicity
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            _write_archive(out, manifest, arrays)
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before the name points at them
        os.chmod(temp_path, _file_mode(path))
        os.replace(temp_path, path)  # atomic: readers see the old file or the new one
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise
    _fsync_directory(directory)


def _encode(obj, arrays, entry_of, open_containers):
    """The JSON node for `obj`, appending tensor data to `arrays`."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return obj.item()
    if isinstance(obj, Tensor):
        return _encode_array(obj, obj._host_array(), arrays, entry_of, requires_grad=obj.requires_grad,
                             class_name=type(obj).__name__)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"can't save a numpy array of dtype {obj.dtype}: only bool, integer "
                            f"and float arrays are supported")
        return _encode_array(obj, obj, arrays, entry_of)
    if isinstance(obj, (list, tuple, dict)):
        if id(obj) in open_containers:
            raise ValueError("can't save a container that contains itself")
        open_containers.add(id(obj))
        if isinstance(obj, dict):
            items = [[_encode_key(key), _encode(value, arrays, entry_of, open_containers)]
                     for key, value in obj.items()]
            node = {"type": "OrderedDict" if isinstance(obj, collections.OrderedDict) else "dict",
                    "items": items}
        else:
            node = {"type": "tuple" if isinstance(obj, tuple) else "list",
                    "items": [_encode(x, arrays, entry_of, open_containers) for x in obj]}
        open_containers.discard(id(obj))
        return node
    raise TypeError(f"can't save an object of type {type(obj).__module__}.{type(obj).__qualname__}: "
                    f"save supports tensors, numbers, strings, bools, None and lists, tuples and "
                    f"dicts of them (for a Module, save module.state_dict())")


def _encode_key(key):
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return {"type": "tuple", "items": [_encode_key(k) for k in key]}
    raise TypeError(f"can't save a dict key of type {type(key).__name__}: keys must be "
                    f"strings, numbers, bools, None or tuples of them")


def _encode_array(obj, array, arrays, entry_of, requires_grad=None, class_name=None):
    if id(obj) not in entry_of:
        entry_of[id(obj)] = f"tensors/{len(arrays)}.npy"
        arrays.append((entry_of[id(obj)], np.asarray(array, order="C")))  # C order, 0-d stays 0-d
    node = {"type": "tensor" if class_name else "ndarray", "entry": entry_of[id(obj)],
            "dtype": array.dtype.name, "shape": list(array.shape)}
    if class_name:
        node.update(requires_grad=requires_grad, class_name=class_name)
    return node


def _write_archive(out, manifest, arrays):
    # ZIP_STORED: tensors barely compress, and stored entries are quick to write and read
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_MANIFEST, manifest)
        for name, array in arrays:
            _write_array(archive, name, array)


def _write_array(archive, name, array):
    # force_zip64: the entry's size isn't known before it is streamed, and may pass 2 GiB
    with archive.open(name, "w", force_zip64=True) as entry:
        np.save(entry, array, allow_pickle=False)


def _file_mode(path):
    """The permissions the checkpoint should get: the old file's, or the umask default
    (mkstemp makes its file private, 0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); Windows can't open a directory for this."""
    if os.name != "posix":
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# ---------------------------------------------------------------------------- load
def load(f, map_location=None, weights_only=True):
    """Read what `save` wrote. Nothing in the file is ever executed: there is no pickle.
    `map_location` ('cpu', 'cuda', a device) says where tensors go; default: the CPU.
    `weights_only` is accepted for PyTorch compatibility (loading is always data-only)."""
    target = Device("cpu" if map_location is None else map_location)
    name = repr(os.fspath(f)) if not hasattr(f, "read") else getattr(f, "name", "<file object>")
    if hasattr(f, "read"):
        return _load_from(f, name, target)
    try:
        with open(f, "rb") as file:
            return _load_from(file, name, target)
    except IsADirectoryError:
        raise SerializationError(f"{name} is a directory, not a file saved by tinygrad_edu.save") from None


def _load_from(file, name, target):
    head = file.read(4)
    if not hasattr(file, "seekable") or not file.seekable():
        file = io.BytesIO(head + file.read())  # zipfile needs to seek (its index is at the end)
    else:
        file.seek(-len(head), io.SEEK_CUR)
    if head != _ZIP_MAGIC:
        raise SerializationError(f"{name} is not a tinygrad_edu checkpoint: {_what_is(head)}")
    try:
        with zipfile.ZipFile(file) as archive:
            manifest = _read_manifest(archive, name)
            return _Decoder(archive, name, target).node(manifest["root"])
    except zipfile.BadZipFile as error:
        raise SerializationError(f"{name} is truncated or corrupt ({error})") from None
    except RecursionError:
        raise SerializationError(f"{name}: the manifest is nested too deeply") from None


def _what_is(head):
    if not head:
        return "the file is empty"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"}", b"]"):
        return ("it looks like a Python pickle (pickle.dump, or torch.save's old format). "
                "tinygrad_edu.load never unpickles: unpickling can run arbitrary code")
    return f"it does not start with the zip signature (first bytes: {head!r})"


def _read_manifest(archive, name):
    names = archive.namelist()
    if _MANIFEST not in names:
        if any(n.endswith("data.pkl") for n in names):
            raise SerializationError(f"{name} is a PyTorch checkpoint (torch.save), which is a "
                                     f"pickle inside a zip; tinygrad_edu.load won't unpickle it. "
                                     f"Load it with torch.load and convert the tensors.")
        raise SerializationError(f"{name} is a zip file but not a tinygrad_edu checkpoint "
                                 f"(no {_MANIFEST})")
    try:
        manifest = json.loads(archive.read(_MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SerializationError(f"{name}: {_MANIFEST} is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "root" not in manifest:
        raise SerializationError(f"{name}: {_MANIFEST} is not a tinygrad_edu manifest "
                                 f"(expected format {FORMAT!r} and a root object)")
    version = manifest.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise SerializationError(f"{name} has format version {version!r}; this tinygrad_edu "
                                 f"reads version {VERSION} (was it written by a newer one?)")
    return manifest


class _Decoder:
    """Rebuilds the object tree, checking every node; one instance per `load`."""

    _SUPPORTED = "bool, uint8, int32, int64, float32, float64"

    def __init__(self, archive, name, target):
        self.archive = archive
        self.name = name
        self.target = target
        self.loaded = {}  # entry name -> object, so a tensor saved once loads as one object

    def fail(self, message):
        return SerializationError(f"{self.name}: {message}")

    def node(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.fail(f"malformed manifest node {_short(node)}")
        kind = node["type"]
        if kind in ("list", "tuple"):
            items = [self.node(x) for x in self._items(node)]
            return tuple(items) if kind == "tuple" else items
        if kind in ("dict", "OrderedDict"):
            result = {} if kind == "dict" else collections.OrderedDict()
            for pair in self._items(node):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail(f"malformed dict item {_short(pair)}")
                result[self.key(pair[0])] = self.node(pair[1])
            return result
        if kind in ("tensor", "ndarray"):
            return self.array_node(node)
        raise self.fail(f"unknown node type {kind!r}")

    def key(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and node.get("type") == "tuple":
            return tuple(self.key(x) for x in self._items(node))
        raise self.fail(f"malformed dict key {_short(node)}")

    def _items(self, node):
        items = node.get("items")
        if not isinstance(items, list):
            raise self.fail(f"malformed manifest node {_short(node)} (items must be a list)")
        return items

    def array_node(self, node):
        entry, dtype, shape = node.get("entry"), node.get("dtype"), node.get("shape")
        if not isinstance(entry, str) or not isinstance(dtype, str) or not isinstance(shape, list):
            raise self.fail(f"malformed tensor node {_short(node)}")
        if entry not in self.loaded:
            self.loaded[entry] = self.read_array(entry, dtype, shape, node["type"] == "tensor")
        array = self.loaded[entry]
        if node["type"] == "ndarray":
            return array
        if isinstance(array, np.ndarray):  # first time this entry is used as a tensor
            tensor = Tensor._wrap(move(array, self.target))
            requires_grad = bool(node.get("requires_grad"))
            if requires_grad and not tensor.is_floating_point():
                raise self.fail(f"entry {entry!r} has dtype {dtype} but is marked requires_grad")
            if node.get("class_name") == "Parameter":
                tensor = Parameter(tensor, requires_grad=requires_grad)
            elif requires_grad:
                tensor.requires_grad_(True)
            self.loaded[entry] = array = tensor
        return array

    def read_array(self, entry, dtype, shape, is_tensor):
        if is_tensor:
            try:
                from_numpy_dtype(np.dtype(dtype))
            except TypeError:
                raise self.fail(f"entry {entry!r} has unsupported dtype {dtype!r} "
                                f"(supported: {self._SUPPORTED})") from None
        try:
            with self.archive.open(entry) as data:
                array = np.load(data, allow_pickle=False)
        except KeyError:
            raise self.fail(f"the manifest refers to {entry!r}, which is not in the archive") from None
        except (ValueError, OSError, EOFError) as error:
            raise self.fail(f"entry {entry!r} is not a valid .npy array ({error})") from None
        if array.dtype.name != dtype or list(array.shape) != shape:
            raise self.fail(f"entry {entry!r} holds {array.dtype.name} {list(array.shape)} but the "
                            f"manifest says {dtype} {shape}")
        if array.dtype.kind not in "biuf":
            raise self.fail(f"entry {entry!r} has unsupported dtype {array.dtype.name}")
        return array


def _short(node):
    text = json.dumps(node)
    return text if len(text) <= 80 else text[:77] + "..."
