"""Containers: `Sequential` (a pipeline that is itself a layer) and `ModuleList` (a list whose
modules get registered, so their parameters are found; a plain Python list would hide them)."""
import collections
import operator

from .module import Module, _add_indent

__all__ = ["Sequential", "ModuleList"]


def _position(index, length):
    """A (possibly negative) index into `length` items, with a clear IndexError."""
    index = operator.index(index)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range")
    return index % length


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: length, iteration, and adding modules at the end
    or at a position (names are renumbered 0, 1, 2, ...)."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, item in enumerate(modules):
            self.add_module(str(i), item)
        return self


class Sequential(_ModuleSequence):
    """Runs its modules in order, each on the previous one's output:
    `Sequential(Linear(2, 8), ReLU(), Linear(8, 1))` or `Sequential(OrderedDict([("fc", ...), ...]))`."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], collections.OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        if isinstance(index, slice):  # a slice is a smaller Sequential with the same names
            return type(self)(collections.OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_position(index, len(self))]

    def __setitem__(self, index, module):
        key = list(self._modules.keys())[_position(index, len(self))]
        self.add_module(key, module)

    def __delitem__(self, index):
        if isinstance(index, slice):
            for key in list(self._modules.keys())[index]:
                del self._modules[key]
        else:
            del self._modules[list(self._modules.keys())[_position(index, len(self))]]
        # keep the names 0, 1, 2, ... when they were numbers (as PyTorch does)
        if all(key.isdigit() for key in self._modules):
            self._modules = collections.OrderedDict(
                (str(i), module) for i, module in enumerate(self._modules.values()))



class ModuleList(_ModuleSequence):
    """A list of modules that registers them (named 0, 1, ...). It has no forward: you decide
    how to call them, e.g. `for layer in self.layers: x = layer(x)`."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(_position(index, len(self)))]

    def __setitem__(self, index, module):
        self.add_module(str(_position(index, len(self))), module)

    def __delitem__(self, index):
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else _position(index, len(self))]
        self._modules.clear()
        for i, module in enumerate(modules):  # renumber, so names stay 0..len-1
            self.add_module(str(i), module)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __repr__(self):
        """PyTorch's compact form: a run of identical layers prints once, as `(0-2): 3 x Linear(...)`."""
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [first index, last index, repr]
        for index, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = index
            else:
                runs.append([index, index, text])
        lines = []
        for first, last, text in runs:
            label = f"({first}): {text}" if first == last else f"({first}-{last}): {last - first + 1} x {text}"
            lines.append(_add_indent(label, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
