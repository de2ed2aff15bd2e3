"""Adam and AdamW: per-element step sizes from running averages of g and g².

PyTorch's update for gradient g of parameter p at step t = 1, 2, ... (what `K.adam_step`
computes):

    g = g + weight_decay * p          Adam: L2 penalty folded into the gradient
    p = p * (1 - lr * weight_decay)   AdamW: decoupled decay, applied to p directly
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g²
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The two divisions by (1 - beta^t) undo the bias of m and v towards their zero start.
AdamW is Adam with `decoupled_weight_decay=True`: with Adam's L2 the decay is rescaled by
sqrt(v) like the gradient, so heavily-updated weights barely decay; AdamW decays every
weight by the same factor.
"""
from ..backend import kernels_for
from ..creation import zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        if not state:
            # "step" is a plain int here (PyTorch keeps a 0-d tensor there for graph capture)
            state["step"] = 0
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
        step = state["step"] = _as_int(state["step"]) + 1  # t starts at 1 in the bias corrections
        beta1, beta2 = group["betas"]
        kernels_for(param.payload).adam_step(
            param.payload, grad.payload, state["exp_avg"].payload, state["exp_avg_sq"].payload,
            step, group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
            group["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), on by default at 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled_weight_decay=True)


def _as_int(step):
    """A step count loaded from a PyTorch-made state dict may be a 0-d tensor."""
    return int(step.item()) if isinstance(step, Tensor) else int(step)
