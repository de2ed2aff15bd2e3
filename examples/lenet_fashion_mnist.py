"""LeNet-5 on Fashion-MNIST: two convolutions, two poolings, three linear layers.

    python examples/lenet_fashion_mnist.py                      # embedded sample, offline
    python examples/lenet_fashion_mnist.py --data-dir ../shared/data/fashion-mnist --epochs 5
"""
from training import fit, parse_args, torch  # noqa: F401  (torch: tinygrad_edu, tutorial style)

from tinygrad_edu import nn


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 6x14x14
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),             # 16x5x5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


if __name__ == "__main__":
    arguments = parse_args("Train LeNet-5 on Fashion-MNIST", default_lr=0.1, default_epochs=8)
    model = LeNet()
    print(model)
    fit(model, arguments)
