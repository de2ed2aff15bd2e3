"""The micrograd demo on tinygrad_edu's scalar `Value`: a 2-16-16-1 MLP learns two moons.

Every weight is one `Value`; every multiply and add is a node in the graph. Slow on purpose:
it is the whole of backpropagation with nothing hidden.

    python examples/toy_value_mlp.py
"""
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tinygrad_edu import Value, manual_seed  # noqa: E402
from tinygrad_edu.datasets import make_moons  # noqa: E402


class Neuron:
    def __init__(self, n_inputs, nonlinear=True):
        self.weights = [Value(random.uniform(-1, 1)) for _ in range(n_inputs)]
        self.bias = Value(0.0)
        self.nonlinear = nonlinear

    def __call__(self, x):
        activation = sum((w * xi for w, xi in zip(self.weights, x)), self.bias)
        return activation.relu() if self.nonlinear else activation

    def parameters(self):
        return self.weights + [self.bias]


class MLP:
    def __init__(self, sizes):
        self.layers = [[Neuron(n_in, nonlinear=i < len(sizes) - 2) for _ in range(n_out)]
                       for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def __call__(self, x):
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x[0]

    def parameters(self):
        return [p for layer in self.layers for neuron in layer for p in neuron.parameters()]


def main(steps=40):
    random.seed(1)
    manual_seed(1)
    points, labels = make_moons(100, noise=0.1)
    targets = [1.0 if label else -1.0 for label in labels]
    model = MLP([2, 16, 16, 1])
    for step in range(steps):
        scores = [model([float(x), float(y)]) for x, y in points]
        hinge = sum(((1 + -t * s).relu() for t, s in zip(targets, scores)), Value(0.0)) * (1.0 / len(points))
        l2 = sum((p * p for p in model.parameters()), Value(0.0)) * 1e-4
        loss = hinge + l2
        for p in model.parameters():
            p.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * step / steps  # decay, as in the micrograd demo
        for p in model.parameters():
            p.data -= lr * p.grad
        accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, targets)) / len(points)
        if step % 5 == 0 or step == steps - 1:
            print(f"step {step:3d}: loss {loss.data:.4f}, accuracy {accuracy:.0%}")
    return accuracy


if __name__ == "__main__":
    main()
