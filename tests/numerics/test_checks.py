"""Bad input to numerics entry points: a ValueError that names the parameter, never a bare
numpy conversion error, an AttributeError, a NaN or a hang (numerics.checks)."""

import warnings

import numpy as np
import pytest

from diffphase.numerics import checks
from diffphase.numerics import conventions as cv
from diffphase.numerics import empirical as em
from diffphase.numerics import gaussian_mixture as gm
from diffphase.numerics import hopfield as hp
from diffphase.numerics import information as info
from diffphase.numerics import manifold as mf
from diffphase.numerics import process as P
from diffphase.numerics import rhm
from diffphase.numerics import sde, stats
from diffphase.numerics import symmetry as sb

CASES = [
    ("gm.clone_agreement", "t", lambda: gm.clone_agreement("a", d=10)),
    ("gm.clone_agreement", "d", lambda: gm.clone_agreement(1.0, d="a")),
    ("gm.speciation_time", "mu", lambda: gm.speciation_time(10, mu="a")),
    ("gm.collapse_time", "sigma", lambda: gm.collapse_time(100, 10, sigma="a")),
    ("gm.excess_entropy", "t", lambda: gm.excess_entropy("a", 100, 10)),
    ("gm.label_information_mixture", "means", lambda: gm.label_information_mixture(1.0, "a")),
    ("gm.GaussianMixture", "means", lambda: gm.GaussianMixture("a")),
    ("gm.GaussianMixture", "variances", lambda: gm.GaussianMixture([[0.0]], "a")),
    ("gm.GaussianMixture", "weights", lambda: gm.GaussianMixture([[0.0], [1.0]], 1.0, "ab")),
    ("gm.GaussianMixture.score", "x", lambda: gm.GaussianMixture([[0.0]]).score("a", 1.0)),
    ("gm.speciation_time_from_curve", "phi", lambda: gm.speciation_time_from_curve([0, 1], ["a", "b"])),
    ("mf.critical_times", "variances", lambda: mf.critical_times("a", 10)),
    ("mf.collapse_time", "n", lambda: mf.collapse_time([1.0], "a")),
    ("mf.jacobian_spectrum", "x", lambda: mf.jacobian_spectrum(np.eye(3), "a", 1.0)),
    ("mf.orthogonal_probes", "d", lambda: mf.orthogonal_probes(1, "a")),
    ("mf.normalized_spectrum", "M", lambda: mf.normalized_spectrum("a")),
    ("mf.spectral_gaps", "spectrum", lambda: mf.spectral_gaps("a", [0])),
    ("info.class_entropy", "means", lambda: info.class_entropy(1.0, "a", 1.0)),
    ("info.class_entropy", "t", lambda: info.class_entropy("a", [[0.0], [1.0]], 1.0)),
    ("info.LabelledPoints", "labels", lambda: info.LabelledPoints([[0.0], [1.0]], "ab")),
    ("info.online_posterior", "trajectory", lambda: info.online_posterior("a", gm.GaussianMixture([[0.0]]))),
    ("info.negative_guidance_sample", "x_init", lambda: info.negative_guidance_sample(lambda x, t: (x, x), "a", [1.0, 0.5], 1.0)),
    ("cv.alpha_bar", "t", lambda: cv.alpha_bar("a")),
    ("cv.time_from_alpha_bar", "alpha_bar", lambda: cv.time_from_alpha_bar("a")),
    ("cv.time_from_ve_variance", "ve_variance", lambda: cv.time_from_ve_variance("a")),
    ("cv.time_from_noise_level", "noise_level", lambda: cv.time_from_noise_level("a")),
    ("cv.DiscreteSchedule", "betas", lambda: cv.DiscreteSchedule("a")),
    ("cv.DiscreteSchedule.time", "k", lambda: cv.DiscreteSchedule.linear(10).time("a")),
    ("sb.potential", "x", lambda: sb.potential("a", 1.0)),
    ("sb.late_gaussian", "mean", lambda: sb.late_gaussian(1.0, "a", np.eye(1))),
    ("sb.second_derivative_knee", "x", lambda: sb.second_derivative_knee("a", [1, 2, 3])),
    ("sb.excess_z", "y", lambda: sb.excess_z("a", [1.0])),
    ("hp.rs_retrieval", "alpha", lambda: hp.rs_retrieval("a")),
    ("hp.dense_memory_capacity", "beta", lambda: hp.dense_memory_capacity("a")),
    ("hp.simulate_retrieval", "d", lambda: hp.simulate_retrieval("a", 0.1)),
    ("hp.memory_load", "t", lambda: hp.memory_load("a")),
    ("sde.sample", "times", lambda: sde.sample(lambda x, t: x, np.zeros((1, 1)), "a")),
    ("sde.sample", "x_init", lambda: sde.sample(lambda x, t: x, "a", [1.0, 0.5])),
    ("sde.clone_agreement_simulation", "branch_times", lambda: sde.clone_agreement_simulation(lambda x, t: x, lambda n, r: np.zeros((n, 1)), "a", 5, lambda x: x[:, 0])),
    ("stats.crossing", "y", lambda: stats.crossing([0, 1], ["a", "b"], 0.5)),
    ("stats.mmd2", "X", lambda: stats.mmd2("a", [[0.0], [1.0]], 1.0)),
    ("stats.gaussian_mmd2", "mean_x", lambda: stats.gaussian_mmd2("a", [[1.0]], [0.0], [[1.0]], 1.0)),
    ("em.EmpiricalScore", "X", lambda: em.EmpiricalScore("a")),
    ("em.top_eigenvalue", "X", lambda: em.top_eigenvalue("a")),
    ("em.speciation_time", "X", lambda: em.speciation_time([["a", "b"], ["c", "d"]])),
    ("P.noise", "t", lambda: P.noise(np.zeros((1, 1)), "a", np.zeros((1, 1)))),
    ("P.discrete_noise", "eps", lambda: P.discrete_noise(np.zeros((1, 1), int), "a", kind="masking", vocab=3, generator=np.random.default_rng())),
    ("P.strided_grid", "t_start", lambda: P.strided_grid("a", 3, {"T": 10, "beta_min": 0.01, "beta_max": 0.1})),
    ("rhm.RHM", "v", lambda: rhm.RHM("a", 2, 2, 2)),
    ("rhm.get_process", "v", lambda: rhm.get_process("masking", "a")),
    ("rhm.Masking.noise", "eps", lambda: rhm.Masking(3).noise(np.zeros((1, 2), int), "a")),
    ("rhm.belief_propagation", "evidence", lambda: rhm.belief_propagation(rhm.RHM(4, 2, 2, 2), "a")),
    ("rhm.mean_field_map", "v", lambda: rhm.mean_field_map("a", 2, 2)),
    ("rhm.critical_noise", "process", lambda: rhm.critical_noise(8, 2, 2, process=3)),
    ("rhm.class_curves", "noises", lambda: rhm.class_curves(rhm.RHM(4, 2, 2, 2), "masking", "a", 10)),
    ("rhm.density_evolution", "noise", lambda: rhm.density_evolution(8, 2, 2, 3, "a")),
]


@pytest.mark.parametrize("label, param, call", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_non_numeric_input_names_the_parameter(label, param, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match=param):
            call()


def test_checks_convert_and_name():
    assert checks.check_array("x", [1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match="x must be finite"):
        checks.check_array("x", [1.0, np.nan], finite=True)
    with pytest.raises(ValueError, match=r"t must be OU times"):
        checks.check_times(object())
    with pytest.raises(ValueError, match="X must be a real array"):
        checks.check_data([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="p must be probabilities"):
        checks.check_probability("p", "x")
