"""A two-layer perceptron on Fashion-MNIST, the first network of most tutorials.

    python examples/mlp_fashion_mnist.py                        # embedded sample, offline
    python examples/mlp_fashion_mnist.py --data-dir ../shared/data/fashion-mnist --epochs 5
"""
from training import fit, parse_args

from tinygrad_edu import nn

if __name__ == "__main__":
    arguments = parse_args("Train a 784-256-10 MLP on Fashion-MNIST", default_lr=0.1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, 10))
    print(model)
    fit(model, arguments)
