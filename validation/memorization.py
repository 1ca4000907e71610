r"""Memorization, spurious states and generalization of trained DDPMs vs the training-set size.

The associative-memory picture of diffusion models (Pham, Raya, Negri, Zaki, Ambrogioni &
Krotov, arXiv:2505.21777): trained on few points a DDPM memorizes (one basin of attraction per
training point); trained on many it generalizes (new attractors on the data manifold); near the
crossover *spurious* attractors appear, shared by several generated samples but absent from the
training set. This module measures the three fractions on trained models for a grid of
training-set sizes :math:`K` and compares them with the exact empirical-score dynamics on the
same training sets and with the collapse theory of Biroli et al. (arXiv 2402.18491).

Experiment ``memorization`` (one sweep item per :math:`K`, :func:`memorization_point`):

* data: :math:`K` points of :math:`\mathcal N(0,\sigma^2 I_d)` in small :math:`d` (nested
  training sets: the first :math:`K` rows of one pool);
* a small MLP DDPM is trained on them (:func:`~diffphase.validation.train.train`); samples are
  generated with the shared sampler (:func:`~diffphase.numerics.sde.sample`, exponential
  integrator) from OU time ``t_max`` down to ``t_end`` and denoised there (the integrator's
  last step to :math:`t=0` with the denoiser held fixed, i.e. the Tweedie estimate
  :math:`\hat x_0 = (x + \Delta_{t_{end}} s(x,t_{end}))/e^{-t_{end}}`);
* the same sampler runs with the exact empirical score
  (:class:`~diffphase.numerics.empirical.EmpiricalScore`) from the same initial noise, and the
  forward reference (a training point noised to ``t_end`` and denoised, which is what the exact
  backward dynamics produces in distribution) checks that sampler;
* every sample is classified by :func:`classify_samples`.

The collapse prediction: the empirical-score dynamics stopped at OU time :math:`t_{end}` has
collapsed onto the training points iff :math:`\alpha = \log K/d < \alpha_c(t_{end}) =
\tfrac12\log(1+\sigma^2/(e^{2t_{end}}-1))` (:func:`~diffphase.numerics.gaussian_mixture.critical_load`),
so its memorized fraction falls from 1 to 0 around :math:`K_c = e^{d\,\alpha_c(t_{end})}`; the
finite-:math:`K` version is :math:`t_C(X_K) > t_{end}` with :math:`t_C` the root of the
leave-one-out empirical excess entropy (:func:`~diffphase.numerics.empirical.collapse_time`).
A trained network approximates the empirical score (the optimum of its loss) with finite
capacity, so its crossover comes at a smaller :math:`K`.

All times are OU times (:mod:`diffphase.numerics.conventions`). Tolerances are the
module-level :data:`TOLERANCES`, fixed before measuring; the classification scales are
:data:`SCALES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diffphase.numerics import gaussian_mixture as gm
from diffphase.numerics._checks import check_data, check_int, check_real

from .engine.experiment import Experiment, denoiser_cost, sum_costs
from .engine.io import save_figure

__all__ = [
    "MEMORIZED",
    "SPURIOUS",
    "GENERALIZED",
    "Classification",
    "classify_samples",
    "training_scale",
    "cluster_size",
    "SCALES",
    "TOLERANCES",
    "memorization_point",
    "run_memorization",
    "cost_memorization",
    "EXPERIMENTS",
]

#: Class codes of :func:`classify_samples`.
MEMORIZED, SPURIOUS, GENERALIZED = 0, 1, 2
_NAMES = ("memorized", "spurious", "generalized")


@dataclass(frozen=True)
class Classification:
    r"""Result of :func:`classify_samples`.

    Attributes
    ----------
    labels : ndarray of int, shape (N,)
        :data:`MEMORIZED` (0), :data:`SPURIOUS` (1) or :data:`GENERALIZED` (2) per sample.
    nearest : ndarray, shape (N,)
        Distance of each sample to its nearest training point.
    fractions : dict
        ``{"memorized": f_m, "spurious": f_s, "generalized": f_g}`` (summing to 1).
    stderr : dict
        Binomial standard errors :math:`\sqrt{f(1-f)/N}` of the fractions (for the spurious
        fraction a lower bound: samples of one cluster are not independent).
    n_states : int
        Number of distinct spurious attractors: connected components of the core samples
        under the relation "within :math:`\delta_s`".
    """

    labels: np.ndarray
    nearest: np.ndarray
    fractions: dict
    stderr: dict
    n_states: int

    def as_dict(self) -> dict:
        """Fractions, standard errors and the number of spurious states (JSON-able)."""
        return {"fractions": dict(self.fractions), "stderr": dict(self.stderr), "n_states": int(self.n_states)}


def classify_samples(samples, train, delta_m: float, delta_s: float, min_cluster: int = 3) -> Classification:
    r"""Classify generated samples as memorized, spurious or generalized.

    With training points :math:`a^1,\dots,a^K` and generated samples :math:`x_1,\dots,x_N`:

    * **memorized**: :math:`\min_\mu |x_i - a^\mu| \le \delta_m`;
    * **spurious**: not memorized, and part of a dense cluster of non-memorized samples
      (the non-noise points of DBSCAN with radius :math:`\delta_s` and ``min_cluster``
      points): :math:`x_i` is a *core* sample if at least ``min_cluster`` non-memorized
      samples (itself included) lie within :math:`\delta_s` of it, and is spurious if it is a
      core sample or lies within :math:`\delta_s` of one. Such a cluster is an attractor that
      several generated samples share and that is not a training point;
    * **generalized**: otherwise.

    Distances are Euclidean; "within" means :math:`\le`. No time enters (the samples are
    final, denoised outputs).

    Parameters
    ----------
    samples : array_like, shape (N, d)
        Generated samples, ``N >= 1``.
    train : array_like, shape (K, d)
        Training points, ``K >= 1``.
    delta_m : float
        Memorization radius :math:`\delta_m \ge 0`.
    delta_s : float
        Cluster radius :math:`\delta_s \ge 0`.
    min_cluster : int
        Minimum cluster size :math:`k \ge 2` of a core sample (itself included).

    Returns
    -------
    Classification

    Raises
    ------
    ValueError
        If an array is not finite and 2-d, the dimensions differ, a radius is negative or
        not finite, or ``min_cluster < 2``.

    Examples
    --------
    >>> import numpy as np
    >>> train = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> samples = np.array([[0.01, 0.0],                       # memorized
    ...                     [5.0, 5.0], [5.0, 5.01], [5.01, 5.0],  # a shared new attractor
    ...                     [-7.0, 3.0]])                      # alone: generalized
    >>> c = classify_samples(samples, train, delta_m=0.1, delta_s=0.1, min_cluster=3)
    >>> c.labels.tolist(), c.n_states
    ([0, 1, 1, 1, 2], 1)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    x = check_data(samples, "samples", min_rows=1, dtype=np.float64)
    a = check_data(train, "train", min_rows=1, dtype=np.float64)
    if a.shape[1] != x.shape[1]:
        raise ValueError(f"train must have d = {x.shape[1]} columns like samples, got {a.shape[1]}")
    delta_m = check_real("delta_m", delta_m, low=0.0)
    delta_s = check_real("delta_s", delta_s, low=0.0)
    min_cluster = check_int("min_cluster", min_cluster, minimum=2)
    n = x.shape[0]
    nearest, _ = cKDTree(a).query(x, k=1)
    nearest = np.asarray(nearest, dtype=np.float64).reshape(n)
    labels = np.full(n, GENERALIZED, dtype=np.int64)
    mem = nearest <= delta_m
    labels[mem] = MEMORIZED
    rest = np.nonzero(~mem)[0]
    n_states = 0
    if rest.size >= min_cluster:
        tree = cKDTree(x[rest])
        pairs = tree.query_pairs(delta_s, output_type="ndarray")
        counts = np.ones(rest.size, dtype=np.int64)  # itself
        np.add.at(counts, pairs[:, 0], 1)
        np.add.at(counts, pairs[:, 1], 1)
        core = counts >= min_cluster
        spurious = core.copy()
        if pairs.size:
            i, j = pairs[:, 0], pairs[:, 1]
            spurious[i[core[j]]] = True
            spurious[j[core[i]]] = True
            both = core[i] & core[j]
            m = rest.size
            graph = coo_matrix((np.ones(int(both.sum())), (i[both], j[both])), shape=(m, m))
            n_comp, comp = connected_components(graph, directed=False)
            n_states = int(np.unique(comp[core]).size)
        else:
            n_states = int(core.sum())
        labels[rest[spurious]] = SPURIOUS
    fr = {name: float(np.mean(labels == code)) for code, name in enumerate(_NAMES)}
    se = {name: math.sqrt(f * (1.0 - f) / n) for name, f in fr.items()}
    return Classification(labels, nearest, fr, se, n_states)


def training_scale(train) -> float:
    r"""Median nearest-neighbour distance :math:`r_K = \operatorname{median}_\mu\min_{\nu\ne\mu}
    |a^\mu - a^\nu|` of a training set (``K >= 2`` points): the scale of :data:`SCALES`.

    For :math:`K` points of a smooth density :math:`p` in :math:`d` dimensions,
    :math:`K p V_d r_K^d \approx \log 2` locally (:math:`V_d` the unit-ball volume), so a ball of
    radius :math:`c\,r_K` around a fresh sample of :math:`p` contains a training point with
    probability :math:`\approx \log 2\,c^d`, independently of :math:`K`.

    Examples
    --------
    >>> training_scale([[0.0], [1.0], [3.0]])
    1.0
    """
    from scipy.spatial import cKDTree

    a = check_data(train, "train", min_rows=2, dtype=np.float64)
    dist, _ = cKDTree(a).query(a, k=2)
    return float(np.median(dist[:, 1]))


def cluster_size(n_samples: int, n_train: int, fraction: float = 0.1, minimum: int = 3) -> int:
    r"""Minimum spurious-cluster size :math:`k = \max(\text{minimum}, \lceil \text{fraction}\cdot N/K\rceil)`.

    An attractor whose basin is comparable to one training point's collects about :math:`N/K`
    of :math:`N` samples; requiring a fraction of that keeps the rule's false-positive rate on
    a generalizing sampler (about :math:`\log 2\,c_s^d\,N/K` other samples within
    :math:`\delta_s = c_s r_K`, see :func:`training_scale`) independent of :math:`N/K`.

    Examples
    --------
    >>> cluster_size(1000, 16), cluster_size(1000, 600)
    (7, 3)
    """
    n_samples = check_int("n_samples", n_samples, minimum=1)
    n_train = check_int("n_train", n_train, minimum=1)
    fraction = check_real("fraction", fraction, low=0.0)
    minimum = check_int("minimum", minimum, minimum=2)
    return max(minimum, int(math.ceil(fraction * n_samples / n_train - 1e-12)))


# ======================================================================================
# the experiment
# ======================================================================================
#: Classification scales, relative to the training set's median nearest-neighbour distance
#: :math:`r_K` (:func:`training_scale`), fixed before measuring:
#:
#: ``delta_m = 0.25 r_K``  the memorization radius of the ``collapse`` experiment of
#:     :mod:`~diffphase.validation.regimes`; a fresh sample of the data lies that close to a
#:     training point with probability :math:`\log2\cdot0.25^d` (0.27 % at :math:`d=4`), at
#:     every :math:`K`, while a collapsed sample sits on its training point.
#: ``delta_s = 0.25 r_K``  a spurious attractor is as tight as a memorized one (the same
#:     contraction of the denoiser at ``t_end``); scaled with :math:`r_K` because new
#:     attractors live between training points.
#: ``cluster_fraction = 0.1``, at least 3 samples  (:func:`cluster_size`) a cluster holds at
#:     least 10 % of the :math:`N/K` samples of one basin; a generalizing sampler puts
#:     :math:`\log2\cdot0.25^4\,N/K = 0.0027\,N/K` other samples within :math:`\delta_s`, 37
#:     times fewer. The rule is also applied to fresh data samples (the "null" fractions).
SCALES = {"delta_m": 0.25, "delta_s": 0.25, "cluster_fraction": 0.1, "min_cluster": 3}

#: Tolerances of the verdicts, fixed before measuring:
#:
#: ``memorization.load``  (rel) the load :math:`\alpha = \log K/d` at which the memorized
#:     fraction of the exact empirical-score dynamics crosses ½, vs :math:`\alpha_c(t_{end})`.
#:     At :math:`d=4` the large-:math:`d` step is smeared over decades of :math:`K`, the level
#:     at which it is read depends on :math:`\delta_m`, and the finite-:math:`K` excess-entropy
#:     root puts the crossover a factor ~2 higher; a factor 2 in :math:`K` is
#:     :math:`\log 2/(d\alpha_c) = 0.15` in :math:`\alpha` at :math:`d=4`, :math:`\alpha_c=1.15`.
#: ``memorization.sampler``  (max) the largest :math:`|z|` over :math:`K` between the memorized
#:     fractions of the empirical-score sampler and of the forward reference (independent
#:     noise): 4 standard errors, false-failure rate :math:`< 10^{-3}` over the grid.
#: ``memorization.model_small``  (min) the trained model's memorized fraction at the smallest
#:     :math:`K`, far below the empirical-score crossover: at least 0.75.
#: ``memorization.model_large``  (max) its memorized fraction at the largest :math:`K`, past
#:     the empirical-score crossover: at most 0.1.
#: ``memorization.model_vs_empirical``  (max) ratio of the trained model's ½-crossing
#:     :math:`K` to the empirical score's: at most 1.5 (a network of finite capacity
#:     approximating the empirical score memorizes no more than it; 1.5 allows the crossings'
#:     errors).
#: ``memorization.peak``  (abs) :math:`|\log(K_{peak}/K_{model})|` between the
#:     spurious-fraction peak and the model's ½-crossing: at most :math:`\log 3` (the peak is
#:     read on a grid of ratio ~2.5).
#: ``memorization.peak_height``  (min) the spurious peak above the larger of its values at the
#:     two ends of the grid, in (binomial) standard errors of the difference: at least 3.
TOLERANCES = {
    "memorization.load": 0.15,
    "memorization.sampler": 4.0,
    "memorization.model_small": 0.75,
    "memorization.model_large": 0.10,
    "memorization.model_vs_empirical": 1.5,
    "memorization.peak": math.log(3.0),
    "memorization.peak_height": 3.0,
}


def _t_end(config: dict) -> float:
    """OU time at which the samplers stop: the large-d collapse time of ``design_K`` points."""
    return gm.collapse_time(int(config["design_K"]), int(config["d"]), float(config["sigma"]))


def _sampler_grid(sampler: dict, t_end: float) -> np.ndarray:
    from diffphase.numerics import sde

    return np.append(sde.time_grid(float(sampler["t_max"]), t_end, int(sampler["n_steps"]), "log"), 0.0)


def _classify_all(named: dict, X: np.ndarray, n_samples: int, scales: dict) -> dict:
    r_k = training_scale(X)
    k = cluster_size(n_samples, X.shape[0], scales["cluster_fraction"], scales["min_cluster"])
    out = {}
    for label, xs in named.items():
        c = classify_samples(np.asarray(xs, dtype=np.float64), X, scales["delta_m"] * r_k, scales["delta_s"] * r_k, k)
        out[label] = c.as_dict()
    return {"r_K": r_k, "min_cluster": k, "classes": out}


def memorization_point(*, d: int, K: int, pool_size: int, sigma: float, t_end: float, train: dict, sampler: dict,
                       n_samples: int, scales: dict, entropy_samples: int, data_seed: int, seed: int,
                       device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""One training-set size of the ``memorization`` experiment (a sweep item; module-level so
    that it pickles for process pools and Dask).

    The training set is the first ``K`` rows of ``pool_size`` draws of
    :math:`\mathcal N(0,\sigma^2I_d)` (seed ``data_seed``, shared by every ``K``). An MLP DDPM
    is trained on it; ``n_samples`` samples are generated from standard normal noise at OU time
    ``sampler["t_max"]`` down to ``t_end`` (log grid of ``sampler["n_steps"]`` steps, exponential
    integrator) and denoised at ``t_end`` (a last step to :math:`t=0`); the same noise drives the
    empirical-score sampler. The forward reference draws a training point, noises it to
    :math:`x = e^{-t_{end}}a + \sqrt{\Delta_{t_{end}}}z` and applies the empirical denoiser. A
    "null" set of ``n_samples`` fresh data samples is classified too. The collapse time
    :math:`t_C` of the training set is the root of its leave-one-out excess entropy.

    Returns
    -------
    dict
        ``K``, ``alpha`` (:math:`\log K/d`), ``r_K``, ``min_cluster``, ``classes`` (the
        :meth:`Classification.as_dict` of ``model``, ``empirical``, ``forward`` and ``null``),
        ``t_C`` / ``t_C_se``, the final training loss and the training time.
    """
    from diffphase.numerics import conventions as cv
    from diffphase.numerics import empirical, sde

    from .data import gaussian_mixture
    from .models import score_function
    from .train import TrainConfig
    from .train import train as train_model

    d, K = int(d), int(K)
    pool = gaussian_mixture(int(pool_size), np.zeros((1, d)), sigma=sigma, seed=int(data_seed))
    ds = pool.subset(slice(0, K))
    X = ds.data.numpy().astype(np.float64)
    cfg = TrainConfig(**{**train, "seed": int(seed)})
    model, hist = train_model(cfg, ds, device=device, cache_dir=cache_dir, progress=progress, desc=f"memorization K={K}")
    score = score_function(model, device=device)
    emp = empirical.EmpiricalScore(X)
    grid = _sampler_grid(sampler, t_end)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((n_samples, d))
    xs_model = sde.sample(score, x0.astype(np.float32), grid, seed=seed + 1)
    xs_emp = sde.sample(emp, x0, grid, seed=seed + 1)
    mu = rng.integers(0, K, size=n_samples)
    xt = cv.theta(t_end) * X[mu] + math.sqrt(cv.delta(t_end)) * rng.standard_normal((n_samples, d))
    xs_fwd = emp.denoiser(xt, t_end)
    null = gaussian_mixture(n_samples, np.zeros((1, d)), sigma=sigma, seed=int(seed) % (2**31 - 1)).data.numpy()
    out = _classify_all({"model": xs_model, "empirical": xs_emp, "forward": xs_fwd, "null": null}, X, n_samples,
                        scales)
    try:
        ct = empirical.collapse_time(X, n_samples=entropy_samples, seed=seed + 2, t_min=1e-4, t_max=10.0)
        t_c, t_c_se = ct.t_C, ct.stderr
    except ValueError:  # no sign change on the grid (reported; the prediction skips this K)
        t_c, t_c_se = math.nan, math.nan
    return {"K": K, "d": d, "alpha": math.log(K) / d, **out, "t_C": t_c, "t_C_se": t_c_se,
            "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds,
            "from_cache": hist.from_cache}


def _fraction_curve(points: list, label: str, cls: str) -> tuple[np.ndarray, np.ndarray]:
    f = np.array([p["classes"][label]["fractions"][cls] for p in points])
    se = np.array([p["classes"][label]["stderr"][cls] for p in points])
    return f, se


def _crossing_logk(log_k, f, se, seed) -> tuple[float, float]:
    """½-crossing of a decreasing memorized fraction in :math:`\\log K`, with a bootstrap error."""
    from diffphase.numerics.curves import crossing_time_stderr

    try:
        return crossing_time_stderr(log_k, f, se, 0.5, seed=seed, name="memorized fraction")
    except ValueError:  # no crossing inside the grid: reported, and the verdicts using it fail
        return math.nan, math.nan


def _vertex(x, y, i) -> float:
    """Abscissa of the parabola through points i-1, i, i+1 (the grid point at the ends)."""
    if i == 0 or i == len(x) - 1:
        return float(x[i])
    x0, x1, x2 = x[i - 1: i + 2]
    y0, y1, y2 = y[i - 1: i + 2]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den
    if a >= 0:
        return float(x1)
    return float(np.clip(-b / (2 * a), x0, x2))


def _peak_logk(log_k, f, se, seed, n_boot: int = 400) -> tuple[float, float]:
    r"""Location of the maximum of a fraction in :math:`\log K` (parabolic refinement around the
    largest grid value) and its parametric-bootstrap standard error."""
    log_k, f, se = (np.asarray(v, dtype=np.float64) for v in (log_k, f, se))
    peak = _vertex(log_k, f, int(np.argmax(f)))
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        fb = np.clip(f + se * rng.standard_normal(f.shape), 0.0, 1.0)
        reps.append(_vertex(log_k, fb, int(np.argmax(fb))))
    return peak, float(np.std(reps, ddof=1))


def _predicted_crossover(points: list, t_end: float) -> float:
    r""":math:`\log K` where the finite-:math:`K` collapse time :math:`t_C(X_K)` falls through
    ``t_end`` (linear interpolation in :math:`\log K`); nan if it does not on the grid."""
    log_k = np.log([p["K"] for p in points])
    t_c = np.array([p["t_C"] for p in points], dtype=np.float64)
    ok = np.isfinite(t_c)
    log_k, t_c = log_k[ok], t_c[ok]
    for i in range(len(t_c) - 1):
        if t_c[i] > t_end >= t_c[i + 1]:
            return float(log_k[i] + (t_c[i] - t_end) * (log_k[i + 1] - log_k[i]) / (t_c[i] - t_c[i + 1]))
    return math.nan


def _summary(points: list, config: dict) -> dict:
    d = int(config["d"])
    t_end = _t_end(config)
    log_k = np.log([p["K"] for p in points])
    seed = int(config["seed"])
    f_mod, se_mod = _fraction_curve(points, "model", "memorized")
    f_emp, se_emp = _fraction_curve(points, "empirical", "memorized")
    f_fwd, se_fwd = _fraction_curve(points, "forward", "memorized")
    s_mod, s_se = _fraction_curve(points, "model", "spurious")
    lk_mod, lk_mod_se = _crossing_logk(log_k, f_mod, se_mod, seed)
    lk_emp, lk_emp_se = _crossing_logk(log_k, f_emp, se_emp, seed + 1)
    lk_peak, lk_peak_se = _peak_logk(log_k, s_mod, s_se, seed + 2)
    alpha_c = float(gm.critical_load(t_end, float(config["sigma"])))
    ends = int(np.argmax([s_mod[0], s_mod[-1]])) * (len(s_mod) - 1)
    i_peak = int(np.argmax(s_mod))
    z_diff = np.abs(f_emp - f_fwd) / np.sqrt(np.maximum(se_emp**2 + se_fwd**2, 1e-12))
    return {
        "t_end": t_end, "alpha_c": alpha_c, "K_c": math.exp(d * alpha_c),
        "logK_collapse_finite": _predicted_crossover(points, t_end),
        "logK_model": lk_mod, "logK_model_se": lk_mod_se, "logK_empirical": lk_emp, "logK_empirical_se": lk_emp_se,
        "alpha_empirical": lk_emp / d, "alpha_empirical_se": lk_emp_se / d,
        "logK_peak": lk_peak, "logK_peak_se": lk_peak_se,
        "peak_height": float(s_mod[i_peak] - s_mod[ends]),
        "peak_height_se": float(math.sqrt(s_se[i_peak] ** 2 + s_se[ends] ** 2)),
        "sampler_z": z_diff.tolist(),
    }


def _plot(points: list, s: dict, path, config: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K = np.array([p["K"] for p in points], dtype=np.float64)
    colors = {"memorized": "C0", "spurious": "C3", "generalized": "C2"}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 5.4), gridspec_kw={"width_ratios": [1.6, 1]})
    for cls, c in colors.items():
        f, se = _fraction_curve(points, "model", cls)
        a1.errorbar(K, f, yerr=2 * se, fmt="o-", color=c, ms=5, lw=1.5, capsize=2, label=f"model: {cls}")
        f, se = _fraction_curve(points, "empirical", cls)
        a1.errorbar(K * 1.04, f, yerr=2 * se, fmt="s--", color=c, ms=4, lw=1, mfc="none", capsize=2,
                    label=f"empirical score: {cls}")
    fn, _ = _fraction_curve(points, "null", "generalized")
    a1.plot(K, 1 - fn, ":", color="gray", lw=1, label="fresh data: not generalized")
    a1.axvline(s["K_c"], color="k", ls="--", lw=1.2, label=rf"collapse $K_c=e^{{d\alpha_c(t_{{end}})}}={s['K_c']:.0f}$")
    if math.isfinite(s["logK_collapse_finite"]):
        a1.axvline(math.exp(s["logK_collapse_finite"]), color="k", ls=":", lw=1.2,
                   label=rf"$t_C(X_K)=t_{{end}}$: $K={math.exp(s['logK_collapse_finite']):.0f}$")
    if math.isfinite(s["logK_model"]):
        a1.axvline(math.exp(s["logK_model"]), color="C0", ls="-.", lw=1,
                   label=rf"model ½-crossing $K={math.exp(s['logK_model']):.0f}$")
    a1.set_xscale("log")
    a1.set_ylim(-0.03, 1.03)
    a1.set_xlabel("training-set size $K$")
    a1.set_ylabel("fraction of samples")
    a1.set_title(rf"$d={config['d']}$, samplers stopped at $t_{{end}}={s['t_end']:.4f}$ (error bars 2 s.e.)",
                 fontsize=9)
    a1.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    t_c = np.array([p["t_C"] for p in points], dtype=np.float64)
    a2.errorbar(K, t_c, yerr=2 * np.nan_to_num(np.array([p["t_C_se"] for p in points], dtype=np.float64)),
                fmt="o-", color="k", ms=4, label=r"$t_C(X_K)$ (leave-one-out excess entropy)")
    kk = np.unique(np.round(np.geomspace(max(K.min(), 2.0), K.max(), 200)).astype(int))
    a2.plot(kk, [gm.collapse_time(int(k), int(config["d"]), float(config["sigma"])) for k in kk],
            color="C1", lw=1, label=r"large-$d$ $t_C$")
    a2.axhline(s["t_end"], color="gray", ls="--", lw=1, label=r"$t_{end}$")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("training-set size $K$")
    a2.set_ylabel("collapse time (OU)")
    a2.set_title("memorized iff $t_C > t_{end}$", fontsize=9)
    a2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    fig.tight_layout()
    return save_figure(fig, path)


def run_memorization(config: dict, ctx) -> "ExperimentResult":
    r"""``memorization``: the sweep over ``config["K"]`` (:func:`memorization_point`, through
    :meth:`~diffphase.validation.experiment.RunContext.sweep`), the crossings, the collapse
    prediction, verdicts with :data:`TOLERANCES` and the figure."""
    from .engine.executor import spawn_seeds
    from .engine.verdicts import ExperimentResult, Verdict

    ks = sorted(int(k) for k in config["K"])
    if len(ks) < 3 or ks[0] < 2:
        raise ValueError(f"config['K'] needs at least 3 sizes >= 2, got {config['K']}")
    t_end = _t_end(config)
    seeds = spawn_seeds(int(config["seed"]), len(ks))
    common = {k: config[k] for k in ("d", "sigma", "train", "sampler", "n_samples", "entropy_samples")}
    items = [dict(common, K=k, pool_size=ks[-1], t_end=t_end, scales=dict(SCALES), data_seed=int(config["seed"]),
                  seed=s % (2**31 - 1), device=ctx.device, cache_dir=str(ctx.cache_dir),
                  progress=ctx.progress and ctx.executor == "serial") for k, s in zip(ks, seeds)]
    points = ctx.sweep([f"K{k}" for k in ks], memorization_point, items)
    s = _summary(points, config)
    tol = TOLERANCES
    d = int(config["d"])
    f_mod, se_mod = _fraction_curve(points, "model", "memorized")
    fin = s["logK_collapse_finite"]
    verdicts = [
        Verdict.check(
            "load log K/d at the 1/2-crossing of the empirical-score memorized fraction vs alpha_c(t_end)",
            s["alpha_empirical"], s["alpha_c"], tol["memorization.load"], "rel", stderr=s["alpha_empirical_se"],
            kind="claim", source="biroli.collapse",
            note=f"K_emp = {math.exp(s['logK_empirical']):.1f} vs K_c = exp(d alpha_c) = {s['K_c']:.1f} at "
                 f"t_end = {t_end:.4f}; finite-K excess entropy t_C(X_K) = t_end at K = "
                 f"{math.exp(fin) if math.isfinite(fin) else math.nan:.1f}"),
        Verdict.check(
            "empirical-score sampler vs forward reference: max |z| of the memorized fractions over K",
            float(np.max(s["sampler_z"])), None, tol["memorization.sampler"], "max", kind="reference",
            source="the empirical-score sampler (numerics.sde) against the forward reference: samples of the "
                   "exact noised empirical law at t_end, classified with the same rule",
            note=f"{config['sampler']['n_steps']} log-spaced exponential-integrator steps, {config['n_samples']} "
                 f"samples each"),
        Verdict.check(
            f"trained-model memorized fraction at the smallest K = {ks[0]}", float(f_mod[0]), None,
            tol["memorization.model_small"], "min", stderr=float(se_mod[0]), kind="claim",
            source="pham.memorization"),
        Verdict.check(
            f"trained-model memorized fraction at the largest K = {ks[-1]}", float(f_mod[-1]), None,
            tol["memorization.model_large"], "max", stderr=float(se_mod[-1]), kind="claim",
            source="pham.generalization"),
        Verdict.check(
            "ratio of the trained model's 1/2-crossing K to the empirical score's",
            math.exp(s["logK_model"] - s["logK_empirical"]), None, tol["memorization.model_vs_empirical"], "max",
            stderr=math.exp(s["logK_model"] - s["logK_empirical"])
            * math.hypot(s["logK_model_se"], s["logK_empirical_se"]), kind="exploratory",
            source="diffphase's expectation that a network of finite capacity memorizes no more than the "
                   "empirical score it approximates (not stated in the papers)",
            note=f"K_model = {math.exp(s['logK_model']):.1f}, K_emp = {math.exp(s['logK_empirical']):.1f}"),
        Verdict.check(
            "log(K_peak / K_model): spurious-fraction peak vs the model's memorization crossover",
            s["logK_peak"] - s["logK_model"], 0.0, tol["memorization.peak"], "abs",
            stderr=math.hypot(s["logK_peak_se"], s["logK_model_se"]), kind="claim", source="pham.spurious",
            note=f"K_peak = {math.exp(s['logK_peak']):.1f}; tolerance log 3"),
        Verdict.check(
            "spurious-fraction peak above its larger end value, in standard errors",
            s["peak_height"] / s["peak_height_se"] if s["peak_height_se"] > 0 else math.nan, None,
            tol["memorization.peak_height"], "min", kind="claim", source="pham.spurious",
            note=f"peak - end = {s['peak_height']:.3f} ± {s['peak_height_se']:.3f} (binomial; clusters make it "
                 f"an underestimate)"),
    ]
    fig = _plot(points, s, ctx.figure_path(), config)
    return ExperimentResult(name=ctx.name, title="", mode=ctx.mode, verdicts=verdicts,
                            numbers={"summary": s, "points": points, "scales": dict(SCALES), "d": d},
                            figures=[fig.name])


def cost_memorization(config: dict) -> dict:
    """FLOPs of :func:`run_memorization` (see :func:`~diffphase.validation.validate.plan`):
    one training per ``K`` and ``n_samples`` model samples of ``sampler["n_steps"] + 1`` score
    evaluations (the empirical-score runs and the excess entropy are not counted)."""

    parts = []
    for _ in config["K"]:
        f, t = denoiser_cost(config["train"], int(config["d"]))
        steps = int(config["sampler"]["n_steps"]) + 1
        parts.append({"train_flops": f["train"] * t["steps"] * t["batch"],
                      "sample_flops": config["n_samples"] * steps * f["forward"],
                      "train_steps": t["steps"], "sampler_calls": steps})
    return sum_costs(parts)


_TRAIN_QUICK = {"model": "mlp", "model_kwargs": {"hidden": 64, "depth": 2}, "steps": 2000, "batch_size": 128,
                "lr": 2e-3, "t_min": 1e-3, "t_max": 6.0, "checkpoint_every": 1000}
_TRAIN_FULL = {"model": "mlp", "model_kwargs": {"hidden": 256, "depth": 3}, "steps": 30000, "batch_size": 512,
               "lr": 1e-3, "t_min": 1e-4, "t_max": 8.0, "checkpoint_every": 5000}

#: The experiments of this module, registered by :mod:`diffphase.validation.validate`.
EXPERIMENTS = [
    Experiment(
        name="memorization",
        title="Memorization, spurious states and generalization vs training-set size: trained model vs "
              "empirical score vs collapse",
        run=run_memorization,
        cost=cost_memorization,
        quick={"d": 4, "sigma": 1.0, "design_K": 100, "K": [4, 10, 25, 63, 160, 400, 1000], "train": _TRAIN_QUICK,
               "sampler": {"t_max": 6.0, "n_steps": 100}, "n_samples": 1000, "entropy_samples": 500, "seed": 0},
        full={"d": 4, "sigma": 1.0, "design_K": 100,
              "K": [4, 6, 10, 16, 25, 40, 63, 100, 160, 250, 400, 630, 1000, 1600, 2500, 4000],
              "train": _TRAIN_FULL, "sampler": {"t_max": 8.0, "n_steps": 400}, "n_samples": 5000,
              "entropy_samples": 2000, "seed": 0},
    ),
]
