"""Shared fixtures: every test starts from the same random state."""

from __future__ import annotations

import signal

import numpy as np
import pytest

import lssc_sim  # noqa: F401  (silences TensorFlow's start-up logs before it is imported)
from lssc_sim.seeding import seed_everything


def pytest_addoption(parser):
    parser.addoption(
        "--channel",
        action="append",
        default=[],
        help="run the channel contract test for this channel only: a name or a JSON spec "
        'such as \'{"name": "rician", "k_factor_db": 3}\' (repeatable)',
    )


@pytest.fixture(autouse=True)
def _seed() -> np.random.Generator:
    """Reset Sionna's TF generator, NumPy and Python to seed 42 before every test."""
    return seed_everything(42)


@pytest.fixture
def rng(_seed: np.random.Generator) -> np.random.Generator:
    """A NumPy generator seeded with 42 (fresh for each test)."""
    return _seed


def _terminal_sigint() -> None:
    """SIGINT as a terminal's foreground job gets it. A child inherits an ignored disposition (background jobs of
    a shell) and a blocked signal mask (set by threads of libraries earlier tests loaded), and either would make
    the run deaf to Ctrl-C; this resets both in the child before it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.fixture
def terminal_sigint():
    """``preexec_fn`` for a child process that must receive Ctrl-C (see :func:`_terminal_sigint`)."""
    return _terminal_sigint
