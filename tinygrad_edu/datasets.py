"""Datasets for the examples: Fashion-MNIST and MNIST from their IDX files, a small embedded
Fashion-MNIST sample (so examples run offline with nothing downloaded), and toy 2-D data.

IDX is the format the MNIST family ships in: a 4-byte magic number (0x0803 for images,
0x0801 for labels), one big-endian uint32 per dimension, then raw uint8 values.
"""
import gzip
import pathlib

import numpy as np

from .creation import from_numpy
from .random import numpy_generator
from .utils.data import Dataset

__all__ = ["read_idx", "FashionMNIST", "MNIST", "SAMPLE_PATH", "FASHION_MNIST_CLASSES",
           "make_moons", "make_blobs"]

SAMPLE_PATH = pathlib.Path(__file__).resolve().parent / "_sample_data" / "fashion_mnist_sample.npz"
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
_IDX_UBYTE = 0x08


def read_idx(path):
    """Read an IDX file (gzip-compressed or plain) into a uint8 array, checking its header."""
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:  # gzip raises these for damaged files
        raise ValueError(f"{path}: cannot read ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 1
    if len(raw) - header_size != expected:
        raise ValueError(f"{path}: IDX header promises {expected} values of shape {shape}, "
                         f"file holds {len(raw) - header_size}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


class _IdxImages(Dataset):
    """Images and labels in memory. An item is (image, label): image a float32 tensor of
    shape (1, 28, 28) scaled to [0, 1] (what torchvision's ToTensor gives), label an int."""
    classes = MNIST_CLASSES
    _files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def __init__(self, root, train=True, transform=None, target_transform=None):
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        images_name, labels_name = self._files[train]
        images = read_idx(_find(pathlib.Path(root), images_name))
        labels = read_idx(_find(pathlib.Path(root), labels_name))
        self._set_arrays(images, labels, source=root)

    def _set_arrays(self, images, labels, source):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{source}: images {images.shape} and labels {labels.shape} do not match")
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(f"{source}: label {labels.max()} out of range for {len(self.classes)} classes")
        self.data = from_numpy(np.ascontiguousarray(images))
        self.targets = from_numpy(labels.astype(np.int64))
        # scaled once here, so a batch is one fancy-indexing copy (see __getitems__)
        self._scaled = (images.astype(np.float32) / 255.0)[:, None, :, :]

    def __len__(self):
        return len(self._scaled)

    def __getitem__(self, index):
        image, label = from_numpy(self._scaled[index]), int(self.targets.payload[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __getitems__(self, indices):
        """A whole batch in one indexing call (the DataLoader's fast path)."""
        if self.transform is not None or self.target_transform is not None:
            return [self[i] for i in indices]
        indices = np.asarray(indices)
        return from_numpy(self._scaled[indices]), from_numpy(self.targets.payload[indices])


class MNIST(_IdxImages):
    """Handwritten digits, read from the four official IDX files in `root`."""


class FashionMNIST(_IdxImages):
    """Zalando's clothing images: 10 classes, 28x28 grey. `root=None` uses the small sample
    embedded in the package (2,000 train / 500 test images, balanced), so examples run offline;
    point `root` at a folder with the four official files for the full 60,000 / 10,000."""
    classes = FASHION_MNIST_CLASSES

    def __init__(self, root=None, train=True, transform=None, target_transform=None):
        if root is not None:
            super().__init__(root, train, transform, target_transform)
            return
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        split = "train" if train else "test"
        with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
            self._set_arrays(sample[f"{split}_images"], sample[f"{split}_labels"], source=SAMPLE_PATH)


def _find(root, name):
    """The IDX file `name` in `root`, gzip-compressed or not."""
    for candidate in (root / (name + ".gz"), root / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{root}: neither {name}.gz nor {name} found")


# ------------------------------------------------------------------------ toy data
def make_moons(n_samples=100, noise=0.1, generator=None):
    """Two interleaved half circles (labels 0 and 1): the classic non-linear toy problem.
    Returns float32 points (n, 2) and int64 labels (n,) as numpy arrays."""
    rng = numpy_generator(generator)
    upper = n_samples // 2
    angles = np.concatenate([np.linspace(0, np.pi, upper), np.linspace(0, np.pi, n_samples - upper)])
    labels = np.concatenate([np.zeros(upper, np.int64), np.ones(n_samples - upper, np.int64)])
    x = np.where(labels == 0, np.cos(angles), 1 - np.cos(angles))
    y = np.where(labels == 0, np.sin(angles), 0.5 - np.sin(angles))
    points = np.stack([x, y], axis=1) + rng.normal(0, noise, size=(n_samples, 2))
    return points.astype(np.float32), labels


def make_blobs(n_samples=100, centers=3, spread=0.5, generator=None):
    """Gaussian clusters around `centers` points on a circle; labels are the cluster index."""
    rng = numpy_generator(generator)
    angles = 2 * np.pi * np.arange(centers) / centers
    middles = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 2
    labels = rng.integers(0, centers, size=n_samples)
    points = middles[labels] + rng.normal(0, spread, size=(n_samples, 2))
    return points.astype(np.float32), labels.astype(np.int64)
