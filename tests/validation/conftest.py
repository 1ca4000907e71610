"""Shared fixtures of the validation tests."""

import math

import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op torch thread: CI and development machines are shared, and one thread is both
    faster there and deterministic."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class ExactEps(nn.Module):
    """The exact noise predictor of a GaussianMixture, as a conditional network:
    eps(x, t | y) = sqrt(Delta_t) (x - theta mu_y) / Gamma_y; label K: the mixture's."""

    def __init__(self, gc):
        super().__init__()
        self.gc, self.num_classes, self.dim = gc, gc.K, gc.d
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x, t, y=None):
        t = float(t)
        xn = x.double().numpy()
        delta = 1 - math.exp(-2 * t)
        y = self.num_classes if y is None else int(y)
        s = self.gc.score(xn, t) if y == self.num_classes else self.gc.class_scores(xn, t)[:, y]
        return torch.from_numpy(-math.sqrt(delta) * s).float()



@pytest.fixture
def exact_eps_net():
    """Factory of exact class-conditional noise predictors of a GaussianMixture."""
    return ExactEps
