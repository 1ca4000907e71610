"""Symbolic checks of the manifold thresholds."""

import sympy as sp

from diffphase.theory import conventions as tcv
from diffphase.theory import gaussian_mixture as tgm
from diffphase.theory import manifold as tm

tau, n, k, s2, t = tm.tau, tm.n, tm.k, tm.sigma2, tm.t


def test_mutual_information_closed_form():
    assert sp.simplify(tm.mutual_information() - sp.log(1 + s2 / tau) / 2) == 0


def test_critical_noise_solves_its_condition_and_time_converts():
    tc = tm.critical_noise()
    assert sp.simplify(sp.exp(2 * tm.mutual_information(s2, tc)) - n ** (2 / k)) == 0
    # OU time of the VE variance
    assert sp.simplify(tcv.ve_variance(tm.critical_time()) - tc) == 0


def test_critical_size_is_inverse_of_critical_time():
    logN = tm.critical_log_size(s2, tm.critical_time())
    assert sp.simplify(sp.exp(logN) - n) == 0 or sp.simplify(sp.expand_log(logN, force=True) - sp.log(n)) == 0


def test_isotropic_collapse_is_gaussian_mixture_t_C():
    sig = sp.Symbol("sigma", positive=True)
    t_iso = tcv.time_from("ve_variance", tm.isotropic_collapse_noise(sig**2, n, k))
    gm_t = tgm.collapse_time(sp.log(n) / k, sig)
    assert sp.simplify(sp.exp(2 * t_iso) - sp.exp(2 * gm_t)) == 0
    # and k copies of the same variance in the collapse condition give the same root
    cond = tm.collapse_condition([s2] * 3, n)
    root = tm.isotropic_collapse_noise(s2, n, 3)
    assert sp.simplify(sp.exp(2 * (cond.lhs - cond.rhs).subs(tau, root))) == 1


def test_derivation_steps():
    d = tm.derivation()
    assert "computed: 0" in [s.text for s in d if s.name == "t_C_iso"][0]
    assert d["before_formed"].rhs == sp.log(2) / 2
    assert sp.simplify(d["order"].rhs - 1 / (2 * (n ** (2 / k) + s2 - 1))) == 0
    assert "→ 1," in [s.text for s in d if s.name == "small_alpha"][0]
    assert "is 0)" in [s.text for s in d if s.name == "bracket"][0]
