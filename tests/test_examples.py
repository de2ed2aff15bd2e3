"""The example scripts run end to end (briefly) and learn something."""
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(script, *args, timeout=300):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def accuracy(output):
    return float(re.findall(r"test accuracy ([0-9.]+)", output)[-1])


def test_toy_value_mlp_separates_the_moons():
    output = run("toy_value_mlp.py")
    assert "accuracy 100%" in output.splitlines()[-1] or "accuracy 9" in output.splitlines()[-1]


def test_softmax_regression_learns():
    assert accuracy(run("softmax_regression.py", "--epochs", "2")) > 0.6


def test_mlp_learns_and_plots(tmp_path):
    plot = tmp_path / "curves.png"
    output = run("mlp_fashion_mnist.py", "--epochs", "1", "--no-progress", "--plot", str(plot))
    assert accuracy(output) > 0.6
    assert plot.stat().st_size > 1000


@pytest.mark.slow
def test_lenet_main_job_runs_on_the_embedded_sample():
    output = run("lenet_fashion_mnist.py", "--epochs", "3", "--no-progress")
    assert "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))" in output
    assert accuracy(output) > 0.4  # three epochs on the 2,000-image sample: well above chance (0.1)
