"""Optimizers (`SGD`, `Adam`, `AdamW`) and learning-rate schedules (`optim.lr_scheduler`).

Read optimizer.py first (what every optimizer shares), then sgd.py and adam.py: each is
one update rule, written out in its docstring and computed by a fused kernel.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
