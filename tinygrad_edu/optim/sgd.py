"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

PyTorch's update, for gradient g of parameter p at step t (what `K.sgd_step` computes):

    g = g + weight_decay * p                      (L2 penalty, if weight_decay != 0)
    b = g                       at t = 1          (momentum buffer, if momentum != 0)
    b = momentum * b + (1 - dampening) * g        after that
    g = g + momentum * b   if nesterov   else   b
    p = p - lr * g
"""
from ..backend import kernels_for
from ..creation import zeros_like
from .optimizer import Optimizer, required

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr=required, momentum=0, dampening=0, nesterov=False, weight_decay=0):
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        buffer, first_step = None, False
        if momentum != 0:
            # plain SGD keeps no state at all; with momentum the buffer is born on the first
            # step (the kernel copies the gradient into it then, as PyTorch's clone does)
            first_step = "momentum_buffer" not in state or state["momentum_buffer"] is None
            if first_step:
                state["momentum_buffer"] = zeros_like(param)
            buffer = state["momentum_buffer"].payload
        kernels_for(param.payload).sgd_step(
            param.payload, grad.payload, buffer, group["lr"], momentum, group["dampening"],
            group["nesterov"], group["weight_decay"], first_step)
