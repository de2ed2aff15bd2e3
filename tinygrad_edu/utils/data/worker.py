"""Background workers for `DataLoader(num_workers > 0)`.

The design, in one picture:

    main process                               worker 0..N-1 (forked processes)
    ------------                               ------------------------------
    tasks:   (0, [3, 9, 1]) (1, [...]) ... --> task_queue --> fetch(indices)
    results: reorder by batch number       <-- result_queue <-- (number, batch or error)

* Why processes: Python runs one thread of bytecode at a time, so `__getitem__` code (image
  decoding, augmentation) in threads would not run in parallel. Like PyTorch we use
  processes, started with 'fork' so the dataset is inherited instead of pickled. Where
  'fork' does not exist (Windows) we fall back to threads: still correct, and numpy/IO
  release the GIL, so they still overlap somewhat.
* Batches cross the process boundary pickled, with tensors turned into plain numpy arrays
  first (`_SentTensor`) and re-wrapped as tensors in the main process.
* A failing `__getitem__` does not kill the worker: it sends back the error, with the
  batch number, the indices and the traceback text, and the main process raises it.
* `WorkerPool.shutdown()` always runs (the DataLoader calls it in a `finally`): it asks the
  workers to stop, waits briefly, and terminates any that do not, so breaking out of the
  loop, an exception or Ctrl-C leaves no worker behind.
"""
import collections
import multiprocessing
import pickle
import queue
import random
import threading
import traceback


from ... import random as tg_random
from ...tensor import Tensor

__all__ = ["WorkerPool", "WorkerInfo", "get_worker_info", "default_worker_kind"]

WorkerInfo = collections.namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_local = threading.local()  # `_local.info` is set inside a worker (thread-local: thread workers too)

_POLL_SECONDS = 0.1  # how often the main process checks that workers are still alive
_JOIN_SECONDS = 0.5  # how long shutdown lets a busy worker finish before terminating it


def get_worker_info():
    """Inside a worker: its `WorkerInfo` (id, num_workers, seed, dataset). Else None."""
    return getattr(_local, "info", None)


def default_worker_kind():
    """'fork' where the OS has it (Linux, macOS), else 'thread'."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "thread"


class _SentTensor:
    """A tensor on its way between processes: just the numpy array."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getstate__(self):
        return self.array

    def __setstate__(self, array):
        self.array = array


def _to_sendable(data):
    if isinstance(data, Tensor):
        return _SentTensor(data._host_array())
    if isinstance(data, dict):
        return type(data)((key, _to_sendable(value)) for key, value in data.items())
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_to_sendable(x) for x in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_to_sendable(x) for x in data)
    return data


def _from_sendable(data):
    if isinstance(data, _SentTensor):
        return Tensor._wrap(data.array)
    if isinstance(data, dict):
        return type(data)((key, _from_sendable(value)) for key, value in data.items())
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_from_sendable(x) for x in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_from_sendable(x) for x in data)
    return data


class _WorkerError:
    """What a worker sends instead of a batch when fetching it raised."""

    def __init__(self, error_type, message):
        self.error_type = error_type
        self.message = message

    def exception(self):
        """The original exception type with the worker's story, like PyTorch's re-raise;
        RuntimeError when that type can't be built from one message."""
        try:
            return self.error_type(self.message)
        except Exception:
            return RuntimeError(self.message)


def _error_report(error, where):
    """A `_WorkerError` for the exception being handled, with its traceback as text."""
    error_type = type(error)
    try:
        pickle.dumps(error_type)
    except Exception:
        error_type = RuntimeError  # a class defined inside a function can't travel
    text = f"Caught {type(error).__name__} {where}.\nOriginal {traceback.format_exc()}"
    return _WorkerError(error_type, text)


def _worker_loop(fetch, dataset, task_queue, result_queue, stop, worker_id, num_workers, seed,
                 worker_init_fn, own_process):
    """The body of one worker: take (number, indices), fetch, send back, until told to stop."""
    _local.info = WorkerInfo(worker_id, num_workers, seed, dataset)
    if own_process:
        # each worker process gets its own random stream, so random augmentations differ
        # across workers (threads share the main process's generator: reseeding it there
        # would change the main process's random numbers)
        tg_random.manual_seed(seed)
        random.seed(seed)
    try:
        if worker_init_fn is not None:
            try:
                worker_init_fn(worker_id)
            except Exception as error:
                report = _error_report(error, f"in worker_init_fn of DataLoader worker {worker_id}")
                result_queue.put(pickle.dumps((None, report)))
                return
        while not stop.is_set():
            task = task_queue.get()
            if task is None:
                break
            number, indices = task
            try:
                # pickle here, not in the queue's background thread, so an unpicklable batch
                # is reported like any other error instead of being silently lost
                message = pickle.dumps((number, _to_sendable(fetch(indices))), pickle.HIGHEST_PROTOCOL)
            except Exception as error:
                where = (f"in DataLoader worker {worker_id} while loading batch {number} "
                         f"(dataset indices {indices})")
                message = pickle.dumps((number, _error_report(error, where)))
            result_queue.put(message)
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches every process; the main process reports it, workers just leave
    if stop.is_set() and hasattr(result_queue, "cancel_join_thread"):
        # don't wait at exit to flush results nobody will read
        result_queue.cancel_join_thread()


class WorkerPool:
    """`num_workers` workers fed by one task queue; results come back through one queue."""

    def __init__(self, fetch, dataset, num_workers, base_seed, worker_init_fn=None, kind=None,
                 timeout=0):
        self.kind = kind or default_worker_kind()
        self.timeout = timeout
        if self.kind == "thread":
            self.task_queue, self.result_queue, self.stop = queue.Queue(), queue.Queue(), threading.Event()
        else:
            context = multiprocessing.get_context(self.kind)
            self.task_queue, self.result_queue, self.stop = context.Queue(), context.Queue(), context.Event()
        self.workers = []
        for worker_id in range(num_workers):
            args = (fetch, dataset, self.task_queue, self.result_queue, self.stop, worker_id,
                    num_workers, base_seed + worker_id, worker_init_fn, self.kind != "thread")
            if self.kind == "thread":
                worker = threading.Thread(target=_worker_loop, args=args, daemon=True)
            else:
                worker = context.Process(target=_worker_loop, args=args, daemon=True)
            worker.start()
            self.workers.append(worker)

    def put(self, number, indices):
        self.task_queue.put((number, indices))

    def get(self):
        """The next finished (number, batch), whichever batch it is; raises a worker's error."""
        waited = 0.0
        while True:
            try:
                message = self.result_queue.get(timeout=_POLL_SECONDS)
                break
            except queue.Empty:
                waited += _POLL_SECONDS
                self._check_alive()
                if self.timeout and waited >= self.timeout:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")
        number, batch = pickle.loads(message)
        if isinstance(batch, _WorkerError):
            raise batch.exception()
        return number, _from_sendable(batch)

    def _check_alive(self):
        for worker in self.workers:
            if not worker.is_alive():
                code = getattr(worker, "exitcode", None)
                name = f"pid {worker.pid}" if hasattr(worker, "pid") else worker.name
                raise RuntimeError(
                    f"DataLoader worker ({name}) exited unexpectedly"
                    + (f" with exit code {code}" if code is not None else "") + ". A worker that dies "
                    "without a Python error was killed (out of memory?) or aborted by native code: "
                    "Numba's OpenMP threads, once started, abort a forked process that runs a "
                    "parallel kernel. Try multiprocessing_context='thread', num_workers=0, or numpy "
                    "inside __getitem__.")

    def shutdown(self):
        """Stop every worker; safe to call twice."""
        self.stop.set()
        for _ in self.workers:
            self.task_queue.put(None)  # wakes a worker blocked on an empty queue
        for worker in self.workers:
            worker.join(_JOIN_SECONDS)
        for worker in self.workers:
            if self.kind != "thread" and worker.is_alive():
                worker.terminate()  # stuck in a long __getitem__: don't wait for it
                worker.join()
        if self.kind != "thread":
            for q in (self.task_queue, self.result_queue):
                q.cancel_join_thread()
                q.close()
        self.workers = []
