"""Softmax regression from scratch: no nn, no optim, just tensors and autograd.

The model is one matrix and one bias; the loss is written out (log-softmax, pick the true
class); the update is `param -= lr * param.grad` by hand. Everything nn and optim do for you
later is visible here.

    python examples/softmax_regression.py
"""
import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import tinygrad_edu as torch  # noqa: E402
from tinygrad_edu.datasets import FashionMNIST  # noqa: E402
from tinygrad_edu.utils.data import DataLoader  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="official Fashion-MNIST files (default: sample)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    torch.manual_seed(0)
    train = DataLoader(FashionMNIST(args.data_dir, train=True), batch_size=256, shuffle=True)
    test = FashionMNIST(args.data_dir, train=False)

    W = (torch.randn(784, 10) * 0.01).requires_grad_()  # small random start
    b = torch.zeros(10, requires_grad=True)

    def model(images):
        return images.reshape(-1, 784) @ W + b          # logits, one row per image

    for epoch in range(1, args.epochs + 1):
        for images, labels in train:
            log_probs = model(images).log_softmax(dim=1)
            loss = -log_probs[torch.arange(len(labels)), labels].mean()  # cross-entropy
            loss.backward()
            with torch.no_grad():                       # the update must not be recorded
                for param in (W, b):
                    param -= args.lr * param.grad
                    param.grad = None
        with torch.no_grad():
            images = test.data.float() / 255.0              # the whole test set as one batch
            labels = test.targets
            accuracy = (model(images).argmax(dim=1) == labels).float().mean().item()
        print(f"epoch {epoch}: last batch loss {loss.item():.4f}, test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
