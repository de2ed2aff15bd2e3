"""The one graph core that `Value` (scalars) and `Tensor` (arrays) both record into.

Read this file first: it is the whole of autograd.

* An op is a `Function` subclass with two static methods, `forward(ctx, *inputs)` and
  `backward(ctx, grad_output)`, side by side. Call `MyOp.apply(...)`, never `forward`:
  `apply` is what records the op in the graph.
* `forward` and `backward` see *payloads* (Python floats for `Value`, arrays for `Tensor`),
  not `Value`/`Tensor` objects, so an op reads like plain math. `backward` returns one
  gradient per input of `forward` (None where an input needs none).
* Each recorded op is a `Node` (it is the `ctx` that forward and backward receive, and it
  is what `tensor.grad_fn` shows). A node points at the nodes of its inputs through
  `next_functions`; a leaf that requires grad is represented by an `AccumulateGrad` node
  that adds the arriving gradient into `leaf.grad`.
* `backward` visits the nodes in topological order (outputs before inputs), without
  recursion, so a chain of a million ops is fine.

The engine knows nothing about numpy: a `Variable` subclass says how its payload is
wrapped and how two gradients are added (`_wrap`, `_add_grads`, `_accumulate_grad`).
Only `gradcheck`, the numeric oracle at the end, uses numpy.
"""
import functools
import gc
import threading
import weakref

import numpy as np

__all__ = [
    "Function", "Node", "AccumulateGrad", "Variable", "backward", "topological_order",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "gradcheck",
]


# --------------------------------------------------------------------------- grad mode
class _GradMode(threading.local):
    enabled = True  # class attribute: the default every new thread starts with


_grad_mode = _GradMode()


def is_grad_enabled():
    """True when ops are being recorded (the default)."""
    return _grad_mode.enabled


class _GradModeSwitch:
    """Set grad mode inside a `with` block or a decorated function, then restore it."""

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        _grad_mode.enabled = self.previous

    def __call__(self, function):
        mode = self.mode

        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with _GradModeSwitch(mode):
                return function(*args, **kwargs)
        return decorated


class no_grad(_GradModeSwitch):
    """Record nothing inside: for evaluation and for updating parameters by hand."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradModeSwitch):
    """Record again inside a `no_grad` block."""

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradModeSwitch):
    """`set_grad_enabled(False)` switches at once (like PyTorch); `with` restores on exit."""

    def __init__(self, mode):
        super().__init__(bool(mode))
        self.previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __enter__(self):
        return self


# --------------------------------------------------------------------------- variables
class VersionCounter:
    """Counts in-place writes to one storage (a tensor and its views share one counter) and
    notes when the last one happened, on a clock that every in-place write advances.

    The clock makes the check nearly free: a node notes the clock when it saves values, and
    only if the clock has moved by backward time does it look up the counters of what it saved.
    """
    __slots__ = ("value", "last_write")
    clock = 0  # in-place writes so far, to any storage

    def __init__(self):
        self.value = 0
        self.last_write = 0

    def bump(self):
        """Record one in-place write to this storage."""
        VersionCounter.clock += 1
        self.value += 1
        self.last_write = VersionCounter.clock


class Variable:
    """What `Value` and `Tensor` share: a payload, its gradient, and the node that made it.

    Subclasses implement three small hooks for the engine:
      `_wrap(payload)`            a new, graph-free variable of the subclass around a payload
      `_add_grads(a, b)`          the sum of two gradient payloads
      `_accumulate_grad(payload)` add a gradient payload into `self.grad`
    """
    __slots__ = ("payload", "grad", "grad_fn", "requires_grad", "_version_counter", "_accumulator",
                 "__weakref__")
    _tracks_versions = True  # False for payloads that cannot change in place (floats)

    def __init__(self, payload, requires_grad=False):
        self.payload = payload
        self.grad = None
        self.grad_fn = None
        self.requires_grad = requires_grad
        self._version_counter = None  # made on first need: most results never change in place
        self._accumulator = None

    def _counter(self):
        """The version counter of this storage, made on first need: the first in-place write
        or alias. The node that made this variable is told, if it saved it as its output, so
        that its in-place check can find the counter (a node cannot hold its own output: that
        would be a reference cycle)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = VersionCounter()
            node = self.grad_fn
            if node is not None and node._saved:
                for saved in node._saved:
                    if saved is self.payload:
                        node._output_counter = counter
        return counter

    @property
    def _version(self):
        """How many in-place writes this storage has seen (PyTorch's `tensor._version`)."""
        return 0 if self._version_counter is None else self._version_counter.value

    @property
    def is_leaf(self):
        """A leaf was made by the user, not by an op; only leaves get `.grad` by default."""
        return self.grad_fn is None

    def _edge(self):
        """The node that receives this variable's gradient during backward."""
        if self.grad_fn is not None:
            return self.grad_fn
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator

    def register_hook(self, hook):
        """Call `hook(grad)` when this variable's gradient is computed; a returned value replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self._edge()
        node.pre_hooks = list(node.pre_hooks) + [hook]
        return hook

    def retain_grad(self):
        """Keep `.grad` on a non-leaf too (leaves keep it anyway). The engine stores it after
        every hook on this variable has run, as PyTorch does."""
        if not self.is_leaf:
            self.grad_fn.retained = weakref.ref(self)

    def backward(self, gradient=None, retain_graph=False):
        """Compute the gradient of this variable with respect to every leaf that requires grad."""
        backward(self, gradient, retain_graph)


# --------------------------------------------------------------------------- graph nodes
class Node:
    """One recorded op. It is the `ctx` its Function's forward/backward see and the `grad_fn`
    users see. Values saved with `save_for_backward` are freed after backward unless
    `retain_graph=True`; anything else a Function stores on ctx (`ctx.shape = ...`) lives
    in `__dict__` as long as the node does.

    Every op makes a node, so a node is cheap: four fields are set per op; the rarely
    used ones below start as class-level defaults and are set only on nodes that need them.
    """
    __slots__ = ("function", "next_functions", "needs_input_grad", "_saved", "__dict__",
                 "__weakref__")
    pre_hooks = ()          # hooks on the gradient arriving here (register_hook)
    retained = None         # weak reference to the output whose .grad to keep (retain_grad)
    _saved_at = 0           # VersionCounter.clock when forward saved its values
    _inputs = ()            # the inputs, held until backward for the in-place check
    _output_counter = None  # the output's version counter, once it has one, if forward saved it

    def __init__(self, function, next_functions=(), needs_input_grad=()):
        self.function = function
        self.next_functions = next_functions  # per input: the node its gradient goes to, or None
        self.needs_input_grad = needs_input_grad  # per input: does it need a gradient?
        self._saved = ()

    def name(self):
        """The label every tool uses: `MulBackward` for the op `Mul`."""
        return self.function.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    # ---- what a Function calls on its ctx
    def save_for_backward(self, *payloads):
        """Keep values for backward. Inputs saved here are checked for in-place changes."""
        self._saved = payloads

    @property
    def released(self):
        """True once backward has freed what forward saved (`_saved` is then None)."""
        return self._saved is None

    @property
    def saved_tensors(self):
        """The values given to `save_for_backward`, after checking none changed in place."""
        if self._saved is None:
            raise RuntimeError(_FREED_MESSAGE)
        if self._saved_at != VersionCounter.clock:  # something was written in place since: ours?
            self._check_not_written()
        return self._saved

    saved_values = saved_tensors  # the same thing, under the name that fits Value

    # ---- what the engine calls
    def _watch_inputs(self, inputs):
        """Remember, cheaply, what the in-place check needs: the clock when forward saved its
        values and, if it saved one of its inputs, the inputs themselves. Their version
        counters are looked at only if the clock moves before backward (looking them up now
        cost more than the rest of a small op's bookkeeping); a node that saved an input
        holds its inputs until backward."""
        self._saved_at = VersionCounter.clock
        for x in inputs:
            if isinstance(x, Variable):  # a Python number never changes
                for saved in self._saved:
                    if saved is x.payload:
                        self._inputs = inputs
                        return

    def _check_not_written(self):
        """Raise if a saved input or output was written in place after forward saved it:
        backward would silently compute with the new values."""
        for saved in self._saved:
            if saved is None:
                continue
            for position, variable in enumerate(self._inputs):
                if isinstance(variable, Variable) and variable.payload is saved:
                    self._raise_if_written(variable._version_counter, f"input {position}")
        self._raise_if_written(self._output_counter, "output 0")

    def _raise_if_written(self, counter, which):
        # no counter yet: that storage has never been written in place, nor aliased
        if counter is not None and counter.last_write > self._saved_at:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {which} of {self.name()} is at version "
                f"{counter.value}, written after forward saved it. Use an out-of-place op "
                f"(x = x + 1, not x += 1) or clone() the tensor before changing it.")

    def apply_backward(self, grad_output):
        """Run the Function's backward and return one gradient per input, as a tuple."""
        if self._saved is None:
            raise RuntimeError(_FREED_MESSAGE)
        grads = self.function.backward(self, grad_output)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(self.next_functions):
            raise RuntimeError(
                f"{self.function.__name__}.backward returned {len(grads)} gradients, "
                f"but forward had {len(self.next_functions)} inputs")
        return grads

    def release(self):
        """Free what forward saved (after backward unless retain_graph=True). As in PyTorch,
        only a node that saved something refuses a second backward; () means nothing was."""
        if self._saved:
            self._saved = None
            self._inputs = ()


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward(). Specify retain_graph=True if you need to backward through "
    "the graph a second time or if you need to access saved tensors after calling backward.")


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: its 'backward' adds the gradient into `leaf.grad`."""
    __slots__ = ("variable",)

    def __init__(self, variable):
        super().__init__(AccumulateGrad)
        self.variable = variable  # a slot of its own: release() must never drop it

    def name(self):
        return "AccumulateGrad"

    def apply_backward(self, grad_output):
        self.variable._accumulate_grad(grad_output)
        return ()

    def release(self):
        pass  # a leaf's node is reused by every graph the leaf takes part in


# --------------------------------------------------------------------------- Function
class Function:
    """Base class of every op. Subclasses define `forward(ctx, *inputs)` and
    `backward(ctx, grad_output)` as static methods and are used through `apply`.

    `forward` gets payloads; values that are not `Value`/`Tensor` (ints, shapes, flags)
    pass through untouched and get no gradient. `ctx.needs_input_grad` tells which inputs
    need one, so forward can skip saving what backward will not use.
    """

    returns_view = False  # True on ops whose output shares its first input's storage

    @staticmethod
    def forward(ctx, *inputs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs):
        """Run forward on the payloads and, when grad mode is on and an input requires
        grad, record the ctx as a Node that links the result to its inputs' nodes."""
        payloads = []
        edges = []  # per input: the node its gradient goes to, or None
        needs = []  # per input: does it need a gradient?
        for x in inputs:
            if isinstance(x, Variable):
                payloads.append(x.payload)
                wrap = x._wrap  # Value or Tensor: how to wrap the result
                if x.requires_grad:
                    # its grad_fn, or for a leaf its AccumulateGrad node (made on first need)
                    edges.append(x.grad_fn or x._accumulator or x._edge())
                    needs.append(True)
                    continue
            else:
                payloads.append(x)
            edges.append(None)
            needs.append(False)
        needs = tuple(needs)
        ctx = Node(cls, edges, _SHARED_TUPLES.setdefault(needs, needs))
        output = wrap(cls.forward(ctx, *payloads))
        if cls.returns_view:  # a view shares its base's version counter: writing one writes both
            output._version_counter = inputs[0]._counter()
        if True in needs and _grad_mode.enabled:
            output.grad_fn = ctx
            output.requires_grad = True
            if ctx._saved and output._tracks_versions:
                ctx._watch_inputs(inputs)
        return output

    @classmethod
    def apply_two(cls, a, b):
        """`apply(a, b)` for two variables (`x + y`, `x * y`, `x @ y`), written out without
        the loop. Small-tensor ops are dominated by this bookkeeping, and binary ops are the
        most frequent: unrolled, a 4x4 add or mul with grad measured 15-25% faster
        (docs/benchmarks.md). One shortcut: when forward saved anything, the node holds both
        inputs without looking which were saved (every binary op here that saves anything
        saves an input). tests/test_autograd.py checks that both build the same node."""
        need_a = a.requires_grad
        need_b = b.requires_grad
        # Node.__init__'s four fields, written out like Tensor._wrap's: one call less per op
        ctx = Node.__new__(Node)
        ctx.function = cls
        ctx.next_functions = [(a.grad_fn or a._accumulator or a._edge()) if need_a else None,
                              (b.grad_fn or b._accumulator or b._edge()) if need_b else None]
        ctx.needs_input_grad = _PAIR_NEEDS[need_a][need_b]
        ctx._saved = ()
        output = a._wrap(cls.forward(ctx, a.payload, b.payload))
        if cls.returns_view:
            output._version_counter = a._counter()
        if (need_a or need_b) and _grad_mode.enabled:
            output.grad_fn = ctx
            output.requires_grad = True
            if ctx._saved and output._tracks_versions:  # see _watch_inputs
                ctx._saved_at = VersionCounter.clock
                ctx._inputs = (a, b)
        return output


# One tuple per pattern of `needs_input_grad`, shared by every node with that pattern: nodes
# live until backward, and a fresh tuple in each is one more object for Python's garbage
# collector to scan again and again (it slowed a scalar forward pass twofold).
_SHARED_TUPLES = {}
# apply_two's needs_input_grad, looked up by (need_a, need_b) without building a tuple
_PAIR_NEEDS = {False: {False: (False, False), True: (False, True)},
               True: {False: (True, False), True: (True, True)}}


# --------------------------------------------------------------------------- the engine
def topological_order(root):
    """Every node reachable from `root`, each before all the nodes it sends gradient to.

    An iterative depth-first search (a stack instead of recursion, so depth is no limit):
    a node is listed once all its inputs are listed, and the reversed list puts outputs
    first. A node is marked when it is expanded, not when it is pushed: a node pushed early
    may be reached again through a longer path and must wait for that path.
    """
    order, expanded, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in expanded:
            continue
        expanded.add(node)
        stack.append((node, True))
        for parent in node.next_functions:
            if parent is not None and parent not in expanded:
                stack.append((parent, False))
    order.reverse()
    return order


def backward(root, gradient=None, retain_graph=False):
    """Backpropagate from the variable `root`: the one algorithm for Value and Tensor.

    Visit nodes outputs-first; each node receives the sum of the gradients its consumers
    sent, runs its hooks, calls its Function's backward, and sends one gradient to each input.
    """
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        gradient = root._default_gradient()
    elif isinstance(gradient, Variable):
        gradient = gradient.payload
    add = root._add_grads
    pending = {}  # node -> gradient summed so far
    start = root._edge()
    pending[start] = gradient
    # Pause Python's cycle collector while walking: backward allocates many short-lived
    # objects, and each collection would rescan the whole (cycle-free) graph.
    collector_was_on = gc.isenabled()
    gc.disable()
    try:
        with no_grad():  # hooks and backward math must not record new graph
            for node in topological_order(start):
                grad = pending.pop(node, None)
                if grad is None:
                    continue  # no path from the root reached this node with a gradient
                if node.pre_hooks or node.retained is not None:
                    grad = _run_hooks(node, grad, root._wrap)
                input_grads = node.apply_backward(grad)
                for parent, input_grad in zip(node.next_functions, input_grads):
                    if parent is None or input_grad is None:
                        continue
                    previous = pending.get(parent)
                    pending[parent] = input_grad if previous is None else add(previous, input_grad)
                if not retain_graph:
                    node.release()
    finally:
        if collector_was_on:
            gc.enable()


def _run_hooks(node, grad, wrap):
    """Let each hook see (and maybe replace) the gradient, then keep it if retain_grad asked."""
    for hook in node.pre_hooks:
        replaced = hook(wrap(grad))
        if replaced is not None:
            grad = replaced.payload if isinstance(replaced, Variable) else replaced
    variable = node.retained() if node.retained is not None else None
    if variable is not None:
        variable._accumulate_grad(grad)
    return grad


# --------------------------------------------------------------------------- gradcheck
def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare autograd's gradients of `fn(*inputs)` with central finite differences.

    Every input that requires grad is copied to float64 (finite differences in float32 are
    too noisy to judge anything). The output is reduced to a scalar with fixed random
    weights, so every output element takes part. Returns True, or raises (or returns False)
    with a report naming the worst element.
    """
    inputs = tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Variable) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    arrays = {i: np.array(inputs[i].payload, dtype=np.float64) for i in checked}

    def rebuild(requires_grad):
        fresh = list(inputs)
        for i in checked:
            is_array = isinstance(inputs[i].payload, np.ndarray)  # Tensor, not Value
            fresh[i] = type(inputs[i])._wrap(arrays[i].copy() if is_array else float(arrays[i]))
            fresh[i].requires_grad = requires_grad
        return fresh

    with no_grad():
        probe = fn(*rebuild(False))
    weights = np.random.default_rng(0).uniform(0.5, 1.5, size=np.shape(probe.payload))

    def weighted_sum(output):
        return float(np.sum(np.asarray(output.payload, dtype=np.float64) * weights))

    variables = rebuild(True)
    output = fn(*variables)
    backward(output, weights if isinstance(output.payload, np.ndarray) else float(weights))
    worst = (0.0, None)
    for i in checked:
        analytic = variables[i].grad
        analytic = np.zeros_like(arrays[i]) if analytic is None else np.asarray(
            getattr(analytic, "payload", analytic), dtype=np.float64)
        numeric = np.zeros_like(arrays[i])
        flat, numeric_flat = arrays[i].reshape(-1), numeric.reshape(-1)
        for k in range(flat.size):
            original = flat[k]
            with no_grad():
                flat[k] = original + eps
                plus = weighted_sum(fn(*rebuild(False)))
                flat[k] = original - eps
                minus = weighted_sum(fn(*rebuild(False)))
            flat[k] = original
            numeric_flat[k] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > worst[0]:
            k = int(error.argmax())
            index = tuple(int(i) for i in np.unravel_index(k, error.shape))
            worst = (error.max(), f"input {i}, element {index}: autograd gave "
                                  f"{float(analytic.reshape(-1)[k])!r}, finite differences "
                                  f"{float(numeric.reshape(-1)[k])!r}")
    if worst[1] is None:
        return True
    if raise_exception:
        raise GradcheckError("gradcheck failed: Jacobian mismatch for " + worst[1])
    return False


class GradcheckError(RuntimeError):
    """Raised by `gradcheck` when autograd and finite differences disagree."""
