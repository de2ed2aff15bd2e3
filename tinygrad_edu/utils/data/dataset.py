"""Datasets: anything with `__getitem__(index)` and `__len__()`.

A map-style dataset answers "give me sample i". The DataLoader decides which i, in which
order, and in what groups. Two extras make loading fast:

* `__getitems__(indices)` — fetch a whole batch in one call. The DataLoader uses it (with
  the default collate) instead of calling `__getitem__` batch_size times. It must return
  the *collated* batch, i.e. what `default_collate([self[i] for i in indices])` would make.
  (PyTorch's `__getitems__` returns the list of samples and collates after; returning the
  batch is what lets TensorDataset answer with one numpy fancy-indexing per tensor.)
* `TensorDataset` implements it, so loading from in-memory tensors does no per-sample work.
"""
import bisect
import math
import warnings

import numpy as np

from ...random import numpy_generator
from ...tensor import Tensor
from .collate import default_collate

__all__ = ["Dataset", "TensorDataset", "ConcatDataset", "Subset", "random_split"]


class Dataset:
    """Base class for map-style datasets: implement `__getitem__` and `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are slices of tensors along their first dimension: `ds[i] = (x[i], y[i])`."""

    def __init__(self, *tensors):
        sizes = [t.shape[0] if t.dim() > 0 else None for t in tensors]
        if any(size != sizes[0] for size in sizes) or None in sizes:
            raise ValueError(f"Size mismatch between tensors: TensorDataset needs the same "
                             f"first dimension in every tensor, got {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        # one fancy-indexing per tensor copies the whole batch at once; the result is what
        # default_collate would have stacked from the samples (a list, as PyTorch returns)
        rows = np.asarray(indices, dtype=np.intp)
        return [Tensor._wrap(t.payload[rows]) for t in self.tensors]

    def __len__(self):
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """Datasets one after another: `ds1 + ds2`."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = []
        total = 0
        for dataset in self.datasets:
            total += len(dataset)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, renumbered 0..len(indices)-1."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        original = [self.indices[i] for i in indices]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(original)  # keep the fast path of the dataset below
        return default_collate([self.dataset[i] for i in original])

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping random subsets of the given lengths, or fractions summing
    to 1 (`[0.8, 0.2]`; leftover samples go round-robin to the first splits, as PyTorch)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(len(dataset) * fraction)))
        for i in range(len(dataset) - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
        lengths = counts
    if sum(lengths) != len(dataset):
        raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! "
                         f"(lengths {list(lengths)} sum to {sum(lengths)}, dataset has {len(dataset)})")
    order = numpy_generator(generator).permutation(sum(lengths)).tolist()
    subsets, offset = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[offset:offset + length]))
        offset += length
    return subsets
