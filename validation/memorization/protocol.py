r"""The measurement of :mod:`diffphase.validation.memorization`: one training-set size
(:func:`memorization_point`, a sweep item) and its helpers. All times are OU times
(:mod:`diffphase.numerics.conventions`).
"""

from __future__ import annotations

import math

import numpy as np

from diffphase.numerics import gaussian_mixture as gm

from .classify import classify_samples, cluster_size, training_scale

__all__ = ["sampler_stop_time", "memorization_point"]


def sampler_stop_time(config: dict) -> float:
    r"""OU time at which the samplers stop: the large-d collapse time of ``design_K`` points,
    :math:`t_{end} = \tfrac12\log(1+\sigma^2/(e^{2\alpha}-1))` with
    :math:`\alpha = \log K_{design}/d` (:func:`~diffphase.numerics.gaussian_mixture.collapse_time`).

    Parameters
    ----------
    config : dict
        The experiment's configuration (``design_K``, ``d``, ``sigma``).

    Returns
    -------
    float
    """
    return gm.collapse_time(int(config["design_K"]), int(config["d"]), float(config["sigma"]))


def _sampler_grid(sampler: dict, t_end: float) -> np.ndarray:
    from diffphase.numerics import process

    return np.append(process.time_grid(float(sampler["t_max"]), t_end, int(sampler["n_steps"]), "log"), 0.0)


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

    from ..data import gaussian_mixture
    from ..models import score_function
    from ..train import TrainConfig
    from ..train import train as train_model

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
