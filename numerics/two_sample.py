"""Deprecated home of the kernel two-sample statistic, now in :mod:`diffphase.numerics.stats`
(kept for validation until the engine split)."""

from .stats import MMDResult, gaussian_kernel, gaussian_mmd2, median_bandwidth, mmd2, mmd2_permutation_pvalue

__all__ = ["gaussian_kernel", "median_bandwidth", "MMDResult", "mmd2", "mmd2_permutation_pvalue", "gaussian_mmd2"]
