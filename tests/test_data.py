"""Datasets, samplers, collation and the DataLoader (in-process and with workers)."""
import collections
import inspect
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler,
                                     SequentialSampler, Subset, TensorDataset, default_collate,
                                     get_worker_info, random_split)
from tinygrad_edu.utils.data.worker import default_worker_kind

WORKER_KINDS = ["thread"] + (["fork"] if default_worker_kind() == "fork" else [])


class Squares(Dataset):
    """A plain map-style dataset (no __getitems__): sample i is (i as float32 array, i*i)."""

    def __init__(self, n=23):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full(2, i, dtype=np.float32), i * i

    def __len__(self):
        return self.n


class FailsAt(Squares):
    def __init__(self, bad, n=23):
        super().__init__(n)
        self.bad = bad

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"sample {i} is broken")
        return super().__getitem__(i)


class CountingDataset(Dataset):
    """Counts how the loader fetches: sample by sample or a batch at once."""

    def __init__(self, n=20):
        self.x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
        self.item_calls = 0
        self.batch_calls = 0

    def __getitem__(self, i):
        self.item_calls += 1
        return tg.tensor(self.x[i])

    def __getitems__(self, indices):
        self.batch_calls += 1
        return tg.tensor(self.x[indices])

    def __len__(self):
        return len(self.x)


def numpy_batches(loader):
    return [[np.asarray(part) for part in batch] for batch in loader]


def assert_same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------------- datasets
def test_tensor_dataset_items_len_and_size_check():
    x, y = tg.randn(5, 3), tg.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[2])
    assert yi.item() == 2
    batch = ds.__getitems__([4, 0])
    np.testing.assert_array_equal(batch[0].numpy(), x.numpy()[[4, 0]])
    with pytest.raises(ValueError, match=r"Size mismatch between tensors.*\[5, 4\]"):
        TensorDataset(x, tg.arange(4))
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, tg.tensor(1.0))


def test_base_dataset_concat_and_subset():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    both = Squares(3) + Squares(4)
    assert isinstance(both, ConcatDataset) and len(both) == 7
    assert both[3][1] == 0 and both[6][1] == 9 and both[-1][1] == 9
    sub = Subset(Squares(10), [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 49
    tensors = Subset(TensorDataset(tg.arange(10)), [9, 8, 1])
    np.testing.assert_array_equal(tensors.__getitems__([0, 2])[0].numpy(), [9, 1])
    np.testing.assert_array_equal(Subset(Squares(10), [3, 4]).__getitems__([1, 0])[1].numpy(), [16, 9])


def test_random_split_lengths_disjoint_and_reproducible():
    ds = Squares(10)
    a, b, c = random_split(ds, [5, 3, 2], generator=tg.Generator().manual_seed(1))
    assert [len(s) for s in (a, b, c)] == [5, 3, 2]
    indices = a.indices + b.indices + c.indices
    assert sorted(indices) == list(range(10))  # disjoint and complete
    again = random_split(ds, [5, 3, 2], generator=tg.Generator().manual_seed(1))
    assert [s.indices for s in again] == [a.indices, b.indices, c.indices]
    tg.manual_seed(3)
    first = [s.indices for s in random_split(ds, [4, 6])]
    tg.manual_seed(3)
    assert [s.indices for s in random_split(ds, [4, 6])] == first


def test_random_split_fractions_like_pytorch():
    # 10 * [0.33, 0.33, 0.34] floors to [3, 3, 3]; the one left over goes to the first split
    assert [len(s) for s in random_split(Squares(10), [0.33, 0.33, 0.34])] == [4, 3, 3]
    assert [len(s) for s in random_split(Squares(7), [0.5, 0.5])] == [4, 3]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(Squares(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(Squares(10), [0.5, -0.5, 1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(Squares(2), [0.9, 0.1])


def test_random_split_matches_torch_lengths():
    torch = pytest.importorskip("torch")
    for n, fractions in [(10, [0.33, 0.33, 0.34]), (101, [0.7, 0.2, 0.1]), (5, [0.25, 0.75])]:
        ours = [len(s) for s in random_split(Squares(n), fractions)]
        theirs = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
        assert ours == theirs


# ---------------------------------------------------------------------------- samplers
def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    tg.manual_seed(0)
    order = list(RandomSampler(range(50)))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=30))
    assert len(drawn) == 30 and set(drawn) <= set(range(5))
    assert len(list(RandomSampler(range(4), num_samples=10))) == 10
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(7), 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)


# ---------------------------------------------------------------------------- collate
def test_collate_tuples_numbers_and_arrays():
    batch = default_collate([(np.array([1.0, 2.0], dtype=np.float32), 3, 0.5, True, "a"),
                             (np.array([3.0, 4.0], dtype=np.float32), 4, 1.5, False, "b")])
    assert isinstance(batch, list) and len(batch) == 5  # a tuple sample gives a list, as in PyTorch
    arrays, ints, floats, bools, strings = batch
    assert arrays.dtype == tg.float32 and arrays.shape == (2, 2)
    np.testing.assert_array_equal(arrays.numpy(), [[1, 2], [3, 4]])
    assert ints.dtype == tg.int64 and ints.tolist() == [3, 4]
    assert floats.dtype == tg.float64 and floats.tolist() == [0.5, 1.5]
    assert bools.dtype == tg.bool and bools.tolist() == [True, False]
    assert strings == ["a", "b"]


def test_collate_tensors_dicts_namedtuples_and_numpy_scalars():
    Pair = collections.namedtuple("Pair", "x y")
    samples = [{"pair": Pair(tg.tensor([i, i + 1.0]), np.int32(i)), "id": [i, -i]} for i in range(3)]
    batch = default_collate(samples)
    assert isinstance(batch["pair"], Pair)
    np.testing.assert_array_equal(batch["pair"].x.numpy(), [[0, 1], [1, 2], [2, 3]])
    assert batch["pair"].y.dtype == tg.int32 and batch["pair"].y.tolist() == [0, 1, 2]
    assert [t.tolist() for t in batch["id"]] == [[0, 1, 2], [0, -1, -2]]
    ordered = default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert isinstance(ordered, collections.OrderedDict) and ordered["a"].tolist() == [1, 2]


def test_collate_errors():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[2\] at "
                                           r"entry 0 and \[3\] at entry 1"):
        default_collate([tg.zeros(2), tg.zeros(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


# ---------------------------------------------------------------------------- DataLoader
def test_iter_is_a_generator_function():
    assert inspect.isgeneratorfunction(DataLoader.__iter__)


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                      (9, 3, True), (2, 5, False), (2, 5, True)])
def test_batch_sizes_drop_last_and_len(n, batch_size, drop_last):
    x = tg.arange(n * 2, dtype=tg.float32).reshape(n, 2)
    loader = DataLoader(TensorDataset(x, tg.arange(n)), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (n // batch_size if drop_last else -(-n // batch_size))
    sizes = [len(b[1]) for b in batches]
    assert all(s == batch_size for s in sizes[:-1])
    if batches:
        xs = np.concatenate([b[0].numpy() for b in batches])
        np.testing.assert_array_equal(xs, x.numpy()[:len(xs)])  # no shuffle: in order


def test_shuffle_is_reproducible_under_manual_seed():
    ds = TensorDataset(tg.arange(40))
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    tg.manual_seed(123)
    first = [np.concatenate([b[0].numpy() for b in loader]) for _ in range(2)]
    tg.manual_seed(123)
    second = [np.concatenate([b[0].numpy() for b in loader]) for _ in range(2)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
        assert sorted(a.tolist()) == list(range(40))
    assert not np.array_equal(first[0], first[1])  # each epoch is a new permutation
    # generator= overrides the global seed
    orders = []
    for global_seed in (1, 2):
        tg.manual_seed(global_seed)
        own = DataLoader(ds, batch_size=8, shuffle=True, generator=tg.Generator().manual_seed(7))
        orders.append(np.concatenate([b[0].numpy() for b in own]))
    np.testing.assert_array_equal(orders[0], orders[1])


def test_getitems_is_used_with_the_default_collate():
    ds = CountingDataset(20)
    batches = list(DataLoader(ds, batch_size=6))
    assert (ds.batch_calls, ds.item_calls) == (4, 0)
    np.testing.assert_array_equal(batches[-1].numpy(), ds.x[18:])
    # a custom collate_fn gets the list of samples, as in PyTorch
    ds = CountingDataset(20)
    batches = list(DataLoader(ds, batch_size=6, collate_fn=lambda samples: len(samples)))
    assert batches == [6, 6, 6, 2] and (ds.batch_calls, ds.item_calls) == (0, 20)


def test_fast_path_gives_the_same_batches_as_sample_by_sample():
    x, y = tg.randn(30, 4), tg.arange(30)
    fast = TensorDataset(x, y)

    class Slow(Dataset):
        def __getitem__(self, i):
            return fast[i]

        def __len__(self):
            return len(fast)

    for shuffle in (False, True):
        tg.manual_seed(5)
        a = numpy_batches(DataLoader(fast, batch_size=7, shuffle=shuffle))
        tg.manual_seed(5)
        b = numpy_batches(DataLoader(Slow(), batch_size=7, shuffle=shuffle))
        assert_same_batches(a, b)


def test_no_batching_and_custom_samplers():
    loader = DataLoader(Squares(3), batch_size=None)
    items = list(loader)
    assert len(loader) == 3 and isinstance(items[1][0], tg.Tensor) and items[2][1] == 4
    loader = DataLoader(Squares(10), batch_sampler=[[9, 1], [4]])
    assert [b[1].tolist() for b in loader] == [[81, 1], [16]]
    loader = DataLoader(Squares(10), batch_size=4, sampler=[3, 1, 2])
    assert [b[1].tolist() for b in loader] == [[9, 1, 4]]


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(shuffle=True, sampler=[0, 1]), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(num_workers=1, prefetch_factor=0), "prefetch_factor"),
    (dict(batch_size=0), "batch_size should be a positive integer"),
    (dict(multiprocessing_context="spawn"), "multiprocessing_context"),
])
def test_dataloader_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(Squares(4), **kwargs)


# ---------------------------------------------------------------------------- workers
def no_workers_left(kind):
    """True when no worker process or thread is alive (active_children also reaps them)."""
    if kind == "fork":
        return multiprocessing.active_children() == []
    return not any(t.name.startswith("Thread") and t.is_alive() and t is not threading.main_thread()
                   and t.daemon for t in threading.enumerate())


@pytest.mark.parametrize("kind", WORKER_KINDS)
@pytest.mark.parametrize("dataset", [Squares(37), TensorDataset(tg.randn(37, 3), tg.arange(37))],
                         ids=["plain", "tensors"])
def test_workers_yield_the_same_batches_as_the_main_process(kind, dataset):
    tg.manual_seed(11)
    expected = [numpy_batches(DataLoader(dataset, batch_size=5, shuffle=True)) for _ in range(2)]
    tg.manual_seed(11)
    loader = DataLoader(dataset, batch_size=5, shuffle=True, num_workers=3, prefetch_factor=2,
                        multiprocessing_context=kind)
    got = [numpy_batches(loader) for _ in range(2)]
    for a, b in zip(expected, got):
        assert_same_batches(a, b)
    assert all(isinstance(part, tg.Tensor) for part in next(iter(loader)))
    assert no_workers_left(kind)


class SlowSquares(Squares):
    """Later samples are quicker, so workers finish out of order and must be re-ordered."""

    def __getitem__(self, i):
        time.sleep(0.002 * (self.n - i))
        return super().__getitem__(i)


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_workers_reorder_results(kind):
    loader = DataLoader(SlowSquares(24), batch_size=2, num_workers=4, multiprocessing_context=kind)
    assert [b[1].tolist() for b in loader] == [[i * i, (i + 1) ** 2] for i in range(0, 24, 2)]


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_worker_exception_names_batch_index_and_traceback(kind):
    loader = DataLoader(FailsAt(bad=7), batch_size=3, num_workers=2, multiprocessing_context=kind)
    with pytest.raises(ValueError) as info:
        list(loader)
    message = str(info.value)
    assert "batch 2" in message and "7" in message          # indices 6, 7, 8 are batch 2
    assert "Traceback (most recent call last)" in message
    assert "sample 7 is broken" in message and "__getitem__" in message
    assert no_workers_left(kind)


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_no_worker_left_after_break_or_error_in_the_loop(kind):
    loader = DataLoader(Squares(200), batch_size=2, num_workers=2, multiprocessing_context=kind)
    for _ in loader:
        break
    assert no_workers_left(kind)
    with pytest.raises(KeyboardInterrupt):
        for i, _ in enumerate(loader):
            if i == 3:
                raise KeyboardInterrupt
    assert no_workers_left(kind)


def test_worker_info_seed_and_init_fn():
    class WhoAmI(Dataset):
        def __getitem__(self, i):
            info = get_worker_info()
            return info.id, info.num_workers, float(tg.rand(1).item())

        def __len__(self):
            return 8

    started = []
    loader = DataLoader(WhoAmI(), batch_size=1, num_workers=2, multiprocessing_context="thread",
                        worker_init_fn=started.append)
    batches = list(loader)
    assert sorted(started) == [0, 1]
    assert {b[0].item() for b in batches} <= {0, 1} and all(b[1].item() == 2 for b in batches)
    assert get_worker_info() is None


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_worker_init_fn_error_surfaces(kind):
    def broken_init(worker_id):
        raise OSError(f"no GPU for worker {worker_id}")

    loader = DataLoader(Squares(8), batch_size=2, num_workers=2, worker_init_fn=broken_init,
                        multiprocessing_context=kind)
    with pytest.raises(OSError, match="worker_init_fn"):
        list(loader)
    assert no_workers_left(kind)


class Sleepy(Squares):
    def __getitem__(self, i):
        time.sleep(3)
        return super().__getitem__(i)


@pytest.mark.skipif("fork" not in WORKER_KINDS, reason="needs fork")
def test_timeout_and_a_dead_worker_raise():
    loader = DataLoader(Sleepy(4), batch_size=1, num_workers=1, timeout=0.3, multiprocessing_context="fork")
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(loader)
    assert time.perf_counter() - start < 2.5  # the stuck worker was terminated, not waited for
    assert no_workers_left("fork")

    class Dies(Squares):
        def __getitem__(self, i):
            os._exit(3)

    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(4), batch_size=1, num_workers=1, multiprocessing_context="fork"))
    assert no_workers_left("fork")


def test_data_is_also_importable_as_tinygrad_edu_data():
    from tinygrad_edu import data
    assert data.DataLoader is DataLoader and data.TensorDataset is TensorDataset
