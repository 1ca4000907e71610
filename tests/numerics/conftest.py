"""Shared references of the numerics tests."""

import mpmath as mp
import pytest


def _two_class_projected_quad(integrand, t, d, mu, sigma, dps=30):
    r"""``∫ integrand(g, y) dy`` at ``dps`` digits over the projection y of x_t on the mean
    direction of the two-class mixture ±m (|m| = mu √d, class variance sigma²), where
    ``g(s)`` is the Gaussian density N(y; s e^{-t}|m|, Γ_t) of class ``s = ±1`` at y
    (Γ_t = 1 − e^{−2t} + sigma² e^{−2t}); breakpoints at the class means and ±12 √Γ_t."""
    with mp.workdps(dps):
        t = mp.mpf(t)
        a = mu * mp.sqrt(d) * mp.e ** (-t)
        G = 1 - mp.e ** (-2 * t) + mp.mpf(sigma) ** 2 * mp.e ** (-2 * t)

        def f(y):
            return integrand(lambda s: mp.e ** (-((y - s * a) ** 2) / (2 * G)) / mp.sqrt(2 * mp.pi * G))

        sg = mp.sqrt(G)
        pts = sorted({-a - 12 * sg, -a, mp.mpf(0), a, a + 12 * sg})
        return float(mp.quad(f, [-mp.inf] + pts + [mp.inf]))


@pytest.fixture
def two_class_quad():
    """The mpmath quadrature over the mixture's mean direction (:func:`_two_class_projected_quad`)."""
    return _two_class_projected_quad
