"""The training loop the Fashion-MNIST examples share: epochs of minibatch SGD with a progress
bar, test accuracy after each epoch, and a plot of the curves. It reads like a PyTorch
tutorial's loop because it is one, with the import changed."""
import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout too

import tinygrad_edu as torch  # noqa: E402
import tinygrad_edu.nn.functional as F  # noqa: E402
from tinygrad_edu.datasets import FashionMNIST  # noqa: E402
from tinygrad_edu.utils.data import DataLoader  # noqa: E402

try:
    from tqdm import tqdm
except ImportError:  # progress bars are a nicety, not a requirement
    def tqdm(iterable, **_):
        return iterable


def parse_args(description, default_lr, default_epochs=3):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", default=None,
                        help="folder with the four official Fashion-MNIST files "
                             "(default: the small sample embedded in the package)")
    parser.add_argument("--epochs", type=int, default=default_epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=default_lr)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=None, help="save the loss/accuracy curves to this PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    torch.manual_seed(args.seed)  # before the model is built, so its initial weights repeat too
    return args


def load_data(args):
    train = FashionMNIST(args.data_dir, train=True)
    test = FashionMNIST(args.data_dir, train=False)
    if args.limit:
        train = torch.utils.data.Subset(train, range(min(args.limit, len(train))))
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test, batch_size=500)
    return train_loader, test_loader


@torch.no_grad()
def evaluate(model, loader, device):
    """Fraction of correctly classified examples."""
    model.eval()
    correct = total = 0
    for images, labels in loader:
        logits = model(images.to(device))
        correct += (logits.argmax(dim=1).cpu() == labels).sum().item()
        total += len(labels)
    return correct / total


def fit(model, args):
    """Train `model` with SGD + momentum and report loss and test accuracy per epoch."""
    train_loader, test_loader = load_data(args)
    model.to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    history = {"loss": [], "accuracy": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, running, batches = time.perf_counter(), 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{args.epochs}", disable=args.no_progress)
        for images, labels in bar:
            images, labels = images.to(args.device), labels.to(args.device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
            batches += 1
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{running / batches:.3f}")
        accuracy = evaluate(model, test_loader, args.device)
        history["loss"].append(running / batches)
        history["accuracy"].append(accuracy)
        print(f"epoch {epoch}: train loss {running / batches:.4f}, test accuracy {accuracy:.3f} "
              f"({time.perf_counter() - start:.1f} s)")
    if args.plot:
        plot_history(history, args.plot)
    return history


def plot_history(history, path):
    """Loss and accuracy per epoch, side by side, saved as a PNG."""
    import matplotlib
    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    left.plot(epochs, history["loss"], marker="o")
    left.set(title="training loss", xlabel="epoch")
    right.plot(epochs, history["accuracy"], marker="o", color="tab:green")
    right.set(title="test accuracy", xlabel="epoch", ylim=(0, 1))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    print(f"saved {path}")
