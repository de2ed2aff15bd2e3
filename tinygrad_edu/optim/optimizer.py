"""`Optimizer`: what SGD and Adam share — parameter groups, per-parameter state, state_dict.

An optimizer holds *references* to the model's parameters and changes them in place, so the
model (and every view of a parameter) sees the new values without being told. A subclass
only writes `step()`: for each parameter with a gradient, read `self.state[p]`, call its
fused kernel on the payloads, done.

`state_dict()` uses PyTorch's layout, so it reads the same and round-trips through
`tinygrad_edu.save`/`load`:

    {"state": {0: {"momentum_buffer": Tensor}, 1: {...}},      # keyed by parameter index
     "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}]}    # indices, not tensors

Parameters are numbered in the order they appear across the groups; that order is the
only link between a saved state and the parameters of a freshly built model.
"""
import collections
import warnings

from ..autograd import enable_grad, no_grad
from ..creation import tensor
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given per group."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: `Optimizer(params, defaults)`, where `params` is an iterable of tensors
    or of dicts (`{"params": [...], "lr": 0.01}`) that override `defaults` per group."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = collections.defaultdict(dict)  # parameter -> its state dict
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {params.type()}")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group (a dict with "params"); options it leaves out come from the defaults.
        Useful to start training layers that were frozen."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        already = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in already for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients before the next backward (backward *adds* into `.grad`).
        `set_to_none=True` drops them, which is cheaper and lets `step` skip unused params."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient. Subclasses implement `_update`."""
        loss = None
        if closure is not None:
            with enable_grad():  # the closure runs forward and backward, even if we are called under no_grad
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue  # not used in this forward pass (or frozen): leave it alone
                    self._update(p, p.grad, self.state[p], group)
                    p._counter().bump()  # an in-place write: autograd's saved-tensor check sees it
        return loss

    def _update(self, param, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__} must implement _update(param, grad, state, group)")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """The state and the group options, parameters replaced by their index. Like
        PyTorch's, the state tensors are the optimizer's own (not copies): save them, or
        `copy.deepcopy` the dict, before stepping again if you need a snapshot."""
        index_of = {}
        param_groups = []
        for group in self.param_groups:
            packed = {name: value for name, value in group.items() if name != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            param_groups.append(packed)
        state = {index_of[id(p)]: dict(values) for p, values in self.state.items()
                 if values and id(p) in index_of}
        return {"state": dict(sorted(state.items())), "param_groups": param_groups}

    def load_state_dict(self, state_dict):
        """Restore a `state_dict()`: the groups must have the same sizes, in the same order.
        State tensors are copied, cast to their parameter's dtype and moved to its device."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} saved, {len(self.param_groups)} here)")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group: group {i} has "
                                 f"{len(saved['params'])} saved parameters, {len(group['params'])} here")
        param_of = {}
        for group, saved in zip(self.param_groups, saved_groups):
            param_of.update(zip(saved["params"], group["params"]))
        self.state = collections.defaultdict(dict)
        for index, values in state_dict["state"].items():
            if index not in param_of:
                continue  # PyTorch ignores state of parameters it doesn't know, so do we
            param = param_of[index]
            self.state[param] = {name: _cast_like(param, name, value) for name, value in values.items()}
        self.param_groups = [dict(saved, params=group["params"])
                             for group, saved in zip(self.param_groups, saved_groups)]

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {name}: {group[name]}" for name in sorted(group) if name != "params")
        lines.append(")")
        return "\n".join(lines)


def _cast_like(param, name, value):
    """A fresh copy of a saved state value, living where its parameter lives. Counters
    ("step") keep their type; float state takes the parameter's dtype, as in PyTorch."""
    if not isinstance(value, Tensor):
        return value
    dtype = param.dtype if value.is_floating_point() else value.dtype
    return tensor(value, dtype=dtype, device=param.device)
