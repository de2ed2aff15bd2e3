"""`DataLoader`: iterate over a dataset in (shuffled) batches.

    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    for images, labels in loader:      # one epoch
        ...

One epoch is three steps, each replaceable:
  1. a sampler orders the indices (SequentialSampler, or RandomSampler when shuffle=True),
  2. a batch sampler groups them ([3, 9, 1, ...] per batch),
  3. each group is fetched and collated into one batch.

Fetching is fast when the dataset has `__getitems__` (TensorDataset does): the whole batch
comes back from one call, already stacked. With `num_workers > 0`, step 3 runs in
background worker processes (see worker.py), and batches still come out in the same order
as with `num_workers=0`.
"""
import itertools

from ...random import numpy_generator
from .collate import default_collate, default_convert
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .worker import WorkerPool

__all__ = ["DataLoader"]


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, generator=None, prefetch_factor=2, persistent_workers=False,
                 multiprocessing_context=None):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers > 0 and prefetch_factor < 1:
            raise ValueError(f"prefetch_factor option should be at least 1, got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context not in (None, "fork", "thread"):
            raise ValueError(f"multiprocessing_context should be None, 'fork' or 'thread', "
                             f"got {multiprocessing_context!r}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory  # accepted for compatibility: there is no pinned memory here
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        # accepted, but workers are started per epoch: forking is cheap, and a pool that
        # outlives an epoch would need stale results of a broken-off epoch told apart
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self._default_collate = collate_fn is None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        """True when samples are grouped into batches (batch_size or batch_sampler given)."""
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What yields one task per batch: index lists, or single indices without batching."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        return len(self._index_sampler)

    def _fetch(self, indices):
        """One batch from a list of indices (or one sample, when batching is off)."""
        if not self._auto_collation:
            return self.collate_fn(self.dataset[indices])
        if self._default_collate and hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(indices)  # whole batch at once, already stacked
        return self.collate_fn([self.dataset[i] for i in indices])

    def __iter__(self):
        """One epoch. A generator function, so `break` closes it and its `finally` runs."""
        # one draw per epoch for the workers' seeds, whether or not there are workers (as in
        # PyTorch), so the shuffled order is the same with num_workers=0 and num_workers=4
        base_seed = int(numpy_generator(self.generator).integers(2 ** 62))
        if self.num_workers == 0:
            for indices in self._index_sampler:
                yield self._fetch(indices)
        else:
            yield from self._iter_with_workers(base_seed)

    def _iter_with_workers(self, base_seed):
        """Send index lists to the workers, at most num_workers * prefetch_factor ahead of
        the batch being yielded, and yield the results in order."""
        pool = WorkerPool(self._fetch, self.dataset, self.num_workers, base_seed,
                          self.worker_init_fn, self.multiprocessing_context, self.timeout)
        try:
            tasks = enumerate(self._index_sampler)  # (batch number, indices), in order
            sent = 0
            for number, indices in itertools.islice(tasks, self.num_workers * self.prefetch_factor):
                pool.put(number, indices)  # fill the pipeline
                sent += 1
            arrived = {}  # batches that finished before the ones ahead of them
            wanted = 0
            while wanted < sent:
                while wanted not in arrived:
                    number, batch = pool.get()
                    arrived[number] = batch
                for number, indices in itertools.islice(tasks, 1):  # one out, one in
                    pool.put(number, indices)
                    sent += 1
                yield arrived.pop(wanted)
                wanted += 1
        finally:
            pool.shutdown()

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"num_workers={self.num_workers})")
