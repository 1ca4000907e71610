r"""The classification of generated samples of the ``memorization`` experiment
(:mod:`diffphase.validation.memorization`): memorized, spurious or generalized (Pham, Raya,
Negri, Zaki, Ambrogioni & Krotov, arXiv:2505.21777), and the scales it is read at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diffphase.numerics.checks import check_data, check_int, check_real

__all__ = ["MEMORIZED", "SPURIOUS", "GENERALIZED", "Classification", "classify_samples", "training_scale",
           "cluster_size"]

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
