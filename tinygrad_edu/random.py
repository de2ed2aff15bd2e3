"""One seeded source of randomness for init, rand/randn and DataLoader shuffling."""
import numpy as np

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed"]


class Generator:
    """A seedable random source (a numpy PCG64 generator underneath)."""

    def __init__(self, device="cpu"):
        self.device = device
        self.seed()

    def manual_seed(self, seed):
        """Restart the stream from `seed`; returns self, as PyTorch's does."""
        self._seed = int(seed)
        self.numpy = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Reseed from the operating system's entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.numpy.bit_generator.state

    def set_state(self, state):
        self.numpy.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    """Make every random draw (init, rand, randn, shuffling) reproducible."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def numpy_generator(generator=None):
    """The numpy generator behind `generator`, or behind the default one."""
    return (generator or default_generator).numpy
