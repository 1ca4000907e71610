r"""The legs of ``late_start``: the two-class Gaussian mixture (:func:`mixture_point`) and
scikit-learn digits (:func:`digits_point`), each a trained DDPM (and, for the mixture, the exact
score) measured with the curves of :mod:`~diffphase.validation.symmetry.curves` and read with
:mod:`~diffphase.validation.symmetry.analysis`.

All times are OU times (:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math

import numpy as np

from .analysis import analyse_plain_curve
from .curves import best_and_fresh, exact_dynamics_curve, late_start_class_balance, plain_start_curve, quality_curves
from .tolerances import TOLERANCES

__all__ = ["mixture_point", "digits_point"]


def _one_blas_thread_call(fn):
    """Run ``fn`` with BLAS capped at one thread: the MMD kernel matrices are thin matrix
    products, where a multi-threaded BLAS on a shared CPU spends more time spinning than
    computing (measured: 5x the CPU time of one thread). A no-op without threadpoolctl (a
    dependency of scikit-learn)."""
    import functools

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover
            return fn(*args, **kwargs)
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return call


def _train_model(ds, train_cfg, seed, device, cache_dir, progress, desc):
    from ..models import score_function
    from ..train import TrainConfig, train

    cfg = TrainConfig(**{**train_cfg, "seed": int(seed)})
    model, hist = train(cfg, ds, device=device, cache_dir=cache_dir, progress=progress, desc=desc)
    return score_function(model, device=device), hist


def _moments(X):
    from diffphase.numerics import empirical

    mean = X.mean(axis=0)
    cov = np.cov(X, rowvar=False)
    return mean, cov, float(empirical.top_eigenvalue(X))


@_one_blas_thread_call
def mixture_point(*, d: int, lam: float, sigma: float, weight: float, n_train: int, n_ref: int, n_samples: int,
                  train: dict, budgets: list, t0_factors: list, plain: dict, schedule: dict, seed: int, device: str,
                  cache_dir: str, progress: bool = False) -> dict:
    r"""The mixture leg of ``late_start``.

    Two-class mixture :math:`(1-w)\,\mathcal N(-m, \sigma^2I_d) + w\,\mathcal N(m, \sigma^2I_d)`,
    :math:`m = |m|(1,\dots,1)/\sqrt d`, with :math:`|m|^2 = (\Lambda - \sigma^2)/4w(1-w)` so that
    its top covariance eigenvalue is ``lam`` (:func:`~diffphase.validation.data.gaussian_mixture`,
    ``n_train`` points; unequal weights so that class balance is not fixed by symmetry); two
    independent held-out sets of ``n_ref`` points from the population. The late Gaussian's
    mean and covariance and :math:`\Lambda` are the training set's. Start times
    ``t0_factors`` × :math:`t_U`, :math:`t_U` = :func:`~diffphase.numerics.symmetry.equal_norm_instability_time`
    of the training set's :math:`\Lambda`. :func:`quality_curves` for the exact mixture score and
    for an MLP DDPM trained on the points; best start times and fresh comparisons at the
    smallest budget (at :math:`t_0^*` and at the knee). The plain-start curves
    (:func:`plain_start_curve` with ``plain = {"starts", "stride", "n_samples"}``) of both
    scores and of the exact dynamics (:func:`exact_dynamics_curve`), against the first
    held-out set, and their :func:`analyse_plain_curve`. Class of a sample: argmax of the
    exact posterior at :math:`t = 0` (1 = :math:`+m`, population fraction :math:`w`).
    """
    from diffphase.numerics import gaussian_mixture as gm
    from diffphase.numerics import symmetry as sb
    from diffphase.numerics import stats
    from diffphase.numerics.checks import check_real

    from ..data import gaussian_mixture

    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    weight = check_real("weight", weight, low=0.0, high=1.0, low_open=True, high_open=True)
    lam = check_real("lam", lam, low=sigma * sigma, low_open=True)
    m_norm = math.sqrt((lam - sigma * sigma) / (4.0 * weight * (1.0 - weight)))
    m = np.full(d, m_norm / math.sqrt(d))
    ds = gaussian_mixture(n_train, np.stack([-m, m]), sigma=sigma, weights=[1.0 - weight, weight], seed=seed)
    mix = gm.GaussianMixture.from_std(ds.meta["means"], sigma, ds.meta["weights"])
    ref1, _ = mix.sample(n_ref, seed=seed + 1)
    ref2, _ = mix.sample(n_ref, seed=seed + 2)
    X = ds.data.numpy().astype(np.float64)
    mean, cov, lam_hat = _moments(X)
    t_u, t_s = sb.equal_norm_instability_time(lam_hat), 0.5 * math.log(lam_hat)
    t0s = sorted(t_u * float(f) for f in t0_factors)
    h = stats.median_bandwidth(ref1, seed=seed)

    def labels(x):
        return np.argmax(mix.posterior(np.asarray(x, dtype=np.float64), 0.0), axis=1)

    common = dict(mean=mean, cov=cov, schedule=schedule, n_samples=n_samples, bandwidth=h,
                  features=lambda x: np.asarray(x, dtype=np.float64), labels=labels, n_classes=2)
    out = {"d": d, "Lambda_population": lam, "Lambda": lam_hat, "sigma": sigma, "weight": weight, "m_norm": m_norm,
           "t_U": t_u, "t_S": t_s, "bandwidth": h, "n_samples": n_samples,
           "train_fraction": float(np.mean(ds.labels.numpy() == 1))}
    bal, bal_se = late_start_class_balance(mix.posterior, t0s, mean, cov, seed=seed + 7)
    out.update(balance_exact_dynamics=bal[:, 1], balance_exact_dynamics_se=bal_se[:, 1])
    pcommon = dict(starts=plain["starts"], schedule=schedule, n_samples=int(plain["n_samples"]), reference=ref1,
                   bandwidth=h, labels=labels, n_classes=2)
    out["exact_dynamics"] = exact_dynamics_curve(mix, seed=seed + 90, **pcommon)
    rows = [("exact", mix.score, np.float64, None)]
    score, hist = _train_model(ds, train, seed, device, cache_dir, progress, f"late_start mixture d={d}")
    rows.append(("model", score, np.float32, hist))
    for i, (name, fn, dtype, hist) in enumerate(rows):
        pc = plain_start_curve(fn, dim=d, stride=int(plain["stride"]), features=common["features"], dtype=dtype,
                               seed=seed + 100 * (i + 1), **pcommon)
        pc["analysis"] = analyse_plain_curve(pc, TOLERANCES["flat.z"], seed=seed + 100 * (i + 1) + 1)
        curves = quality_curves(fn, t0s=t0s, budgets=budgets, reference=ref1, dtype=dtype, seed=seed + 10 * (i + 1),
                                **common)
        curves.update(best_and_fresh(fn, curves, reference2=ref2, dtype=dtype, seed=seed + 10 * (i + 1) + 5,
                                      t_knee=pc["analysis"]["t_knee"], **common))
        curves["plain"] = pc
        if hist is not None:
            curves.update(final_loss=float(hist.smoothed()[-1]), train_seconds=hist.seconds)
        out[name] = curves
    return out


@_one_blas_thread_call
def digits_point(*, train: dict, classifier: dict, test_fraction: float, n_samples: int, budgets: list,
                 t0_factors: list, plain: dict, schedule: dict, seed: int, device: str, cache_dir: str,
                 progress: bool = False) -> dict:
    r"""The digits leg of ``late_start``.

    scikit-learn digits (normalized to [-1, 1]) split into a training set and a held-out
    ``test_fraction`` (stratified). A classifier (:func:`~diffphase.validation.classifier.train_classifier`)
    and a DDPM are trained on the training set. Quality of generated images: unbiased MMD²
    between the classifier's penultimate features
    (:func:`~diffphase.validation.classifier.penultimate_features`) of the samples and of the
    held-out images, Gaussian kernel with the median-heuristic bandwidth of the
    held-out features; class balance: fractions of the classifier's labels vs the training
    set's. :math:`\Lambda`, mean and covariance from the training set; :math:`t_U =
    \tfrac12\operatorname{arsinh}\Lambda` (an approximation here: digits are not equal-norm
    clusters). The fresh comparison reuses the held-out set (it is small). The plain-start
    curve (:func:`plain_start_curve`, ``plain = {"starts", "stride", "n_samples"}``) and its
    :func:`analyse_plain_curve` in the same feature space.
    """
    from diffphase.numerics import symmetry as sb
    from diffphase.numerics import stats

    from ..classifier import ClassifierConfig, penultimate_features, predict, train_classifier
    from ..data import digits

    tr, te = digits().split(test_fraction, seed=seed)
    clf, info = train_classifier(ClassifierConfig(**{**classifier, "seed": int(seed)}), tr, te, device=device,
                                 cache_dir=cache_dir, progress=progress)
    score, hist = _train_model(tr, train, seed, device, cache_dir, progress, "late_start digits")
    X = tr.data.numpy().astype(np.float64)
    mean, cov, lam = _moments(X)
    t_u, t_s = sb.equal_norm_instability_time(lam), 0.5 * math.log(lam)
    t0s = sorted(t_u * float(f) for f in t0_factors)
    ref = penultimate_features(clf, te.data.numpy())
    h = stats.median_bandwidth(ref, seed=seed)
    n_classes = 10

    def labels(x):
        return np.asarray(predict(clf, np.asarray(x, dtype=np.float32)))

    common = dict(mean=mean, cov=cov, schedule=schedule, n_samples=n_samples, bandwidth=h,
                  features=lambda x: penultimate_features(clf, x), labels=labels, n_classes=n_classes)
    pc = plain_start_curve(score, dim=tr.dim, starts=plain["starts"], stride=int(plain["stride"]), schedule=schedule,
                           n_samples=int(plain["n_samples"]), reference=ref, bandwidth=h, features=common["features"],
                           labels=labels, n_classes=n_classes, dtype=np.float32, seed=seed + 100)
    pc["analysis"] = analyse_plain_curve(pc, TOLERANCES["flat.z"], seed=seed + 101)
    curves = quality_curves(score, t0s=t0s, budgets=budgets, reference=ref, dtype=np.float32, seed=seed + 10,
                            **common)
    curves.update(best_and_fresh(score, curves, reference2=ref, dtype=np.float32, seed=seed + 15,
                                  t_knee=pc["analysis"]["t_knee"], **common))
    curves["plain"] = pc
    train_frac = np.bincount(tr.labels.numpy(), minlength=n_classes) / len(tr)
    return {"d": tr.dim, "n_train": len(tr), "n_test": len(te), "Lambda": lam, "t_U": t_u, "t_S": t_s,
            "bandwidth": h, "n_samples": n_samples, "classifier_accuracy": info.test_accuracy,
            "train_fractions": train_frac, "model": dict(curves, final_loss=float(hist.smoothed()[-1]),
                                                         train_seconds=hist.seconds)}
