"""The PyTorch tutorial programs a learner arrives with, run with the import changed.

Each test is a program from a well-known tutorial, written the way the tutorial writes it
(`import tinygrad_edu as torch`), checking what the tutorial says should happen.
"""
import copy

import numpy as np
import pytest

import tinygrad_edu as torch
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.utils.data import DataLoader, Dataset


class NeuralNetwork(nn.Module):
    """The tutorial's multilayer perceptron: two hidden ReLU layers of 30 and 20 units."""

    def __init__(self, num_inputs, num_outputs):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(num_inputs, 30), nn.ReLU(),
            nn.Linear(30, 20), nn.ReLU(),
            nn.Linear(20, num_outputs),
        )

    def forward(self, x):
        return self.layers(x)


def test_mlp_has_the_tutorials_parameter_count_and_seeded_weights():
    torch.manual_seed(123)
    model = NeuralNetwork(50, 3)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 50 * 30 + 30 + 30 * 20 + 20 + 20 * 3 + 3 == 2213
    first = model.layers[0].weight.detach().numpy().copy()
    torch.manual_seed(123)
    again = NeuralNetwork(50, 3)
    np.testing.assert_array_equal(again.layers[0].weight.detach().numpy(), first)
    bound = 1 / np.sqrt(50)  # PyTorch's default init range for Linear(50, 30)
    assert np.abs(first).max() <= bound and np.abs(first).max() > 0.9 * bound
    with torch.no_grad():
        out = model(torch.rand((1, 50)))
    assert out.shape == (1, 3) and out.grad_fn is None


class ToyDataset(Dataset):
    def __init__(self, features, labels):
        self.features = features
        self.labels = labels

    def __getitem__(self, index):
        return self.features[index], self.labels[index]

    def __len__(self):
        return self.labels.shape[0]


def test_five_point_toy_dataset_is_learned_in_three_epochs():
    X_train = torch.tensor([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]])
    y_train = torch.tensor([0, 0, 0, 1, 1])
    torch.manual_seed(123)
    train_loader = DataLoader(ToyDataset(X_train, y_train), batch_size=2, shuffle=True,
                              num_workers=0, drop_last=True)
    assert len(train_loader) == 2  # 5 points, batches of 2, the last odd one dropped
    model = NeuralNetwork(num_inputs=2, num_outputs=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for epoch in range(3):
        model.train()
        for features, labels in train_loader:
            assert features.shape == (2, 2) and labels.dtype == torch.int64
            logits = model(features)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        predictions = torch.argmax(model(X_train), dim=1)
    assert (predictions == y_train).sum().item() == 5, predictions
    assert losses[-1] < losses[0]


def test_shuffled_epochs_are_reproducible_under_manual_seed():
    data = ToyDataset(torch.arange(10).float(), torch.arange(10))

    def epoch_order():
        torch.manual_seed(7)
        loader = DataLoader(data, batch_size=3, shuffle=True)
        return [labels.tolist() for _, labels in loader]

    assert epoch_order() == epoch_order()
    assert sorted(sum(epoch_order(), [])) == list(range(10))


def test_adam_fits_a_small_regression():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    true_w = torch.tensor([[2.0], [-1.0], [0.5]])
    y = x @ true_w + 0.3
    model = nn.Linear(3, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose(model.weight.detach().numpy(), true_w.numpy().T, atol=1e-2)
    np.testing.assert_allclose(model.bias.detach().numpy(), [0.3], atol=1e-2)


class MySequential(nn.Module):
    """d2l's own Sequential: children written straight into `_modules`."""

    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self._modules[str(idx)] = module

    def forward(self, X):
        for block in self._modules.values():
            X = block(X)
        return X


def test_custom_sequential_written_with_modules_dict_works():
    torch.manual_seed(1)
    net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    reference = nn.Sequential(*net._modules.values())
    X = torch.rand(2, 20)
    np.testing.assert_allclose(net(X).detach().numpy(), reference(X).detach().numpy())
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "(0): Linear(in_features=20, out_features=256, bias=True)" in repr(net)
    net(X).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_shared_layer_is_one_parameter_and_accumulates_both_gradients():
    torch.manual_seed(2)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    X = torch.rand(2, 4)
    with torch.no_grad():
        net[2].weight.data[0, 0] = 100
    assert net[2].weight.data[0, 0].item() == net[4].weight.data[0, 0].item() == 100
    assert len(list(net.parameters())) == 6  # the shared weight and bias are listed once

    net(X).sum().backward()
    # oracle: a copy of the network whose two uses of the layer are independent copies
    twin = copy.deepcopy(net)
    twin[4] = copy.deepcopy(twin[4])
    twin.zero_grad()
    twin(X).sum().backward()
    expected = twin[2].weight.grad.numpy() + twin[4].weight.grad.numpy()
    np.testing.assert_allclose(shared.weight.grad.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(twin[2].weight.grad.numpy(), expected)  # both uses really contributed


def test_save_and_load_round_trip_a_state_dict_exactly(tmp_path):
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(20, 256)
            self.output = nn.Linear(256, 10)

        def forward(self, x):
            return self.output(F.relu(self.hidden(x)))

    torch.manual_seed(3)
    net = MLP()
    X = torch.randn(2, 20)
    Y = net(X)
    torch.save(net.state_dict(), tmp_path / "mlp.params")
    clone = MLP()
    clone.load_state_dict(torch.load(tmp_path / "mlp.params"))
    clone.eval()
    np.testing.assert_array_equal(clone(X).detach().numpy(), Y.detach().numpy())
    for (name, mine), (other_name, theirs) in zip(net.state_dict().items(), clone.state_dict().items()):
        assert name == other_name
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
        assert mine.dtype == theirs.dtype


def test_optimizer_state_round_trips_through_save(tmp_path):
    torch.manual_seed(4)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    F.mse_loss(model(torch.randn(4, 3)), torch.zeros(4, 2)).backward()
    optimizer.step()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1},
               tmp_path / "checkpoint.pt")
    checkpoint = torch.load(tmp_path / "checkpoint.pt")
    assert checkpoint["epoch"] == 1
    fresh = torch.optim.SGD(nn.Linear(3, 2).parameters(), lr=0.5)
    fresh.load_state_dict(checkpoint["optimizer"])
    assert fresh.param_groups[0]["lr"] == pytest.approx(0.1)
    buffers = [state["momentum_buffer"].numpy() for state in fresh.state.values()]
    expected = [state["momentum_buffer"].numpy() for state in optimizer.state.values()]
    for got, want in zip(buffers, expected):
        np.testing.assert_array_equal(got, want)
