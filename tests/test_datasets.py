"""Datasets: the IDX reader (and its errors), the embedded Fashion-MNIST sample, the real
files when ../shared/data has them, and the toy data."""
import gzip
import hashlib

import numpy as np
import pytest

import tinygrad_edu as torch
from tinygrad_edu.datasets import FashionMNIST, MNIST, make_blobs, make_moons, read_idx
from tinygrad_edu.utils.data import DataLoader


def write_idx(path, array, magic_type=0x08, compress=True):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)
    return path


def test_read_idx_round_trips_gzip_and_plain(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5)).astype(np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a.gz", images)), images)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", images, compress=False)), images)


@pytest.mark.parametrize("content, message", [
    (b"", "not an unsigned-byte IDX"),
    (b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + b"\0" * 16, "not an unsigned-byte IDX"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + b"\1" * 9, "promises 10 values"),
    (b"\x80\x03}q\x00.", "not an unsigned-byte IDX"),  # a pickle is refused, never loaded
])
def test_read_idx_refuses_bad_files(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_idx(path)


def test_read_idx_refuses_a_damaged_gzip(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(path)


def test_missing_files_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        MNIST(tmp_path)


def test_labels_out_of_range_are_refused(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 12], np.uint8))
    with pytest.raises(ValueError, match="label 12 out of range for 10 classes"):
        MNIST(tmp_path, train=False)


def test_embedded_sample_is_balanced_and_scaled():
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    assert (len(train), len(test)) == (2000, 500)
    assert np.bincount(train.targets.numpy()).tolist() == [200] * 10
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and isinstance(label, int)
    assert 0.0 <= image.numpy().min() and image.numpy().max() <= 1.0
    np.testing.assert_allclose(image.numpy()[0], train.data.numpy()[0] / 255.0, rtol=1e-6)


def test_batched_fetch_matches_item_by_item():
    data = FashionMNIST(train=False)
    images, labels = next(iter(DataLoader(data, batch_size=7)))
    assert images.shape == (7, 1, 28, 28) and labels.dtype == torch.int64
    for i in range(7):
        image, label = data[i]
        np.testing.assert_array_equal(images[i].numpy(), image.numpy())
        assert labels[i].item() == label


def test_transform_is_applied():
    data = FashionMNIST(train=False, transform=lambda image: image.flatten())
    assert data[0][0].shape == (784,)


def test_real_fashion_mnist_when_present(fashion_mnist_dir):
    sums = dict(line.split()[::-1] for line in (fashion_mnist_dir / "SHA256SUMS").read_text().splitlines())
    digest = hashlib.sha256((fashion_mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest()
    assert digest == sums["t10k-labels-idx1-ubyte.gz"]
    test = FashionMNIST(fashion_mnist_dir, train=False)
    assert len(test) == 10000
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    # the embedded sample is the first 50 test images of each class
    sample = FashionMNIST(train=False)
    first_bag = np.flatnonzero(test.targets.numpy() == 8)[0]
    sample_bag = np.flatnonzero(sample.targets.numpy() == 8)[0]
    np.testing.assert_array_equal(test.data.numpy()[first_bag], sample.data.numpy()[sample_bag])


def test_toy_data_is_seeded_and_labelled():
    torch.manual_seed(0)
    points, labels = make_moons(40, noise=0.05)
    torch.manual_seed(0)
    again, _ = make_moons(40, noise=0.05)
    np.testing.assert_array_equal(points, again)
    assert points.shape == (40, 2) and points.dtype == np.float32 and set(labels) == {0, 1}
    blobs, blob_labels = make_blobs(30, centers=3)
    assert blobs.shape == (30, 2) and blob_labels.max() < 3
