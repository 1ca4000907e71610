"""Tests of diffphase.validation.train: configuration checks, time sampling, learning-rate
schedule, seeding, the cache, atomic writes, and bit-identical resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from diffphase.numerics.conventions import DiscreteSchedule
from diffphase.validation import data as D
from diffphase.validation import engine as E
from diffphase.validation import train as T
from diffphase.validation.train import TrainConfig, train



def _small(**kw):
    base = dict(steps=60, batch_size=64, lr=3e-3, warmup_steps=10, model_kwargs={"hidden": 32, "depth": 1},
                checkpoint_every=20)
    base.update(kw)
    return TrainConfig(**base)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


@pytest.fixture(scope="module")
def mixture():
    return D.two_class_mixture(2000, 4, mu=1.0, sigma=0.5, seed=0)


# ---------------------------------------------------------------- configuration
@pytest.mark.parametrize("field, value, match", [
    ("model", "resnet", "model must be"),
    ("steps", 0, "steps must be >= 1"),
    ("lr", 0.0, "lr must be > 0"),
    ("t_min", 0.0, "t_min must be > 0"),
    ("t_max", 1e-4, "t_max must be > 0.001"),
    ("ema_decay", 1.0, "ema_decay must be < 1"),
    ("t_distribution", "beta", "t_distribution must be one of"),
    ("time_sampling", "mixed", "time_sampling must be"),
    ("checkpoint_every", 0, "checkpoint_every must be >= 1"),
    ("min_lr_ratio", 1.5, "min_lr_ratio must be <= 1"),
])
def test_config_validation(field, value, match):
    """A configuration is checked when it is made: the error names the field and the range."""
    with pytest.raises(ValueError, match=match):
        _small(**{field: value})


def test_unet_needs_images(mixture):
    with pytest.raises(ValueError, match="unet"):
        train(_small(model="unet"), mixture, use_cache=False, progress=False)


def test_lr_schedule():
    cfg = TrainConfig(steps=1000, lr=1.0, warmup_steps=100, min_lr_ratio=0.1)
    lrs = np.array([T.lr_at(s, cfg) for s in range(1000)])
    np.testing.assert_allclose(lrs[:100], np.arange(1, 101) / 100)
    assert lrs[100] == pytest.approx(1.0) and lrs[-1] == pytest.approx(0.1)
    assert np.all(np.diff(lrs[100:]) <= 1e-15)
    # midpoint of the cosine: r + (1-r)/2
    assert T.lr_at(100 + 899 // 2, cfg) == pytest.approx(0.55, abs=2e-3)


@pytest.mark.parametrize("dist", ["uniform", "log_uniform", "sqrt"])
def test_continuous_time_sampling_distribution(dist):
    """Kolmogorov-Smirnov test against the stated CDF; false-failure rate 1e-3 per case."""
    from scipy import stats

    cfg = TrainConfig(t_min=0.01, t_max=4.0, t_distribution=dist)
    t = T.sample_times(20000, cfg, torch.Generator().manual_seed(0)).numpy()
    a, b = cfg.t_min, cfg.t_max
    assert t.min() >= a and t.max() <= b
    cdf = {"uniform": lambda x: (x - a) / (b - a),
           "log_uniform": lambda x: np.log(x / a) / np.log(b / a),
           "sqrt": lambda x: np.sqrt((x - a) / (b - a))}[dist]
    assert stats.kstest(t, cdf).pvalue > 1e-3


def test_discrete_time_sampling_uses_schedule_times():
    cfg = TrainConfig(time_sampling="discrete", schedule="linear", schedule_steps=50, beta_min=1e-3, beta_max=0.1)
    sched = DiscreteSchedule.linear(50, 1e-3, 0.1)
    t = T.sample_times(5000, cfg, torch.Generator().manual_seed(0)).numpy()
    k = np.searchsorted(sched.times, t)
    np.testing.assert_array_equal(sched.times[k], t)  # every draw is exactly some t_k
    assert k.min() == 1 and k.max() == 50
    # uniform over the 50 steps: chi-square, false-failure rate 1e-3
    from scipy import stats
    assert stats.chisquare(np.bincount(k, minlength=51)[1:]).pvalue > 1e-3


# ---------------------------------------------------------------- training
def test_loss_falls_and_seeding(mixture):
    cfg = _small(steps=150)
    m1, h1 = train(cfg, mixture, use_cache=False, progress=False)
    m2, h2 = train(cfg, mixture, use_cache=False, progress=False)
    assert _same_weights(m1, m2) and np.array_equal(h1.losses, h2.losses)
    m3, _ = train(_small(steps=150, seed=1), mixture, use_cache=False, progress=False)
    assert not _same_weights(m1, m3)
    # the optimizer: without the skip term (which starts the network at the N(0, I) Bayes
    # predictor) the loss starts near 1; measured 1.00 -> 0.28; require the mean of the last 30
    # losses below 0.6x the first 10. With the skip term it must still fall (0.29 -> 0.24).
    _, h0 = train(_small(steps=150, model_kwargs={"hidden": 32, "depth": 1, "skip": False}), mixture,
                  use_cache=False, progress=False)
    assert h0.losses[-30:].mean() < 0.6 * h0.losses[:10].mean()
    assert h1.losses[-30:].mean() < 0.9 * h1.losses[:10].mean()
    assert h1.losses.shape == (150,) and h1.lrs.shape == (150,)
    # the global RNG is not consumed or reseeded by training
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(cfg, mixture, use_cache=False, progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_array_input_equals_dataset_input(mixture):
    cfg = _small(steps=20)
    m1, _ = train(cfg, mixture, use_cache=False, progress=False)
    m2, _ = train(cfg, mixture.data.numpy(), use_cache=False, progress=False)
    assert _same_weights(m1, m2)


def test_cache_hit_does_not_retrain(tmp_path, mixture, monkeypatch):
    cfg = _small()
    m1, h1 = train(cfg, mixture, cache_dir=tmp_path, progress=False)
    assert not h1.from_cache and (h1.path / "model.pt").exists() and not (h1.path / "checkpoint.pt").exists()
    cfg_json = json.loads((h1.path / "config.json").read_text())
    assert cfg_json["config"]["steps"] == 60 and cfg_json["data"]["fingerprint"] == mixture.fingerprint()
    mtime = (h1.path / "model.pt").stat().st_mtime_ns

    # a cache hit must not build an optimizer or take a step
    def boom(*a, **k):
        raise AssertionError("retrained on a cache hit")
    monkeypatch.setattr(torch.optim, "AdamW", boom)
    m2, h2 = train(cfg, mixture, cache_dir=tmp_path, progress=False)
    assert h2.from_cache and h2.key == h1.key and _same_weights(m1, m2)
    np.testing.assert_array_equal(h2.losses, h1.losses)
    assert (h1.path / "model.pt").stat().st_mtime_ns == mtime
    # the environment variable selects the cache root
    monkeypatch.setenv("DIFFPHASE_CACHE", str(tmp_path))
    _, h3 = train(cfg, mixture, progress=False)
    assert h3.from_cache
    monkeypatch.undo()
    # keys: checkpoint_every is not hashed; steps, seed and the data are
    assert E.config_key({"c": _small(checkpoint_every=7)}) == E.config_key({"c": _small()})
    keys = {h1.key}
    for cfg2, data in ((_small(steps=61), mixture), (_small(seed=3), mixture),
                       (cfg, D.two_class_mixture(2000, 4, mu=1.0, sigma=0.5, seed=1))):
        _, h = train(cfg2, data, cache_dir=tmp_path, use_cache=True, progress=False)
        assert not h.from_cache
        keys.add(h.key)
    assert len(keys) == 4


def test_concurrent_calls_train_once(tmp_path, mixture):
    """Two threads asking for the same configuration: one trains, the other waits on the run's
    lock and loads the finished model."""
    from concurrent.futures import ThreadPoolExecutor

    cfg = _small(steps=40)
    with ThreadPoolExecutor(2) as pool:
        futs = [pool.submit(train, cfg, mixture, cache_dir=tmp_path, progress=False) for _ in range(2)]
        results = [f.result() for f in futs]
    assert sorted(h.from_cache for _, h in results) == [False, True]
    assert _same_weights(results[0][0], results[1][0])


def test_progress_output(capsys, mixture):
    # a tqdm bar on stderr, labelled with the run; progress=False prints nothing
    train(_small(steps=20), mixture, use_cache=False, progress=True, desc="tiny run")
    err = capsys.readouterr().err
    assert "tiny run" in err and "/20" in err
    train(_small(steps=20), mixture, use_cache=False, progress=False)
    assert capsys.readouterr().err == ""


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.pt"
    E.atomic_torch_save({"a": 1}, path)

    class Bad:
        def __reduce__(self):
            raise RuntimeError("fails half-way through pickling")

    with pytest.raises(RuntimeError):
        E.atomic_torch_save({"a": 2, "b": Bad()}, path)
    assert torch.load(path, weights_only=False) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pt"]  # no temporary left behind


def test_run_lock_removes_the_temporaries_of_a_killed_writer(tmp_path):
    """A writer killed inside atomic_write leaves ``.<name>.<random>.tmp``; the next holder of
    the run's lock removes it and nothing else."""
    E.atomic_torch_save({"a": 1}, tmp_path / "checkpoint.pt")
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / "notes.tmp").write_text("not ours")          # not an atomic_write temporary
    from diffphase.validation.engine.io import RunLock

    with RunLock(tmp_path):
        names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".lock", "checkpoint.pt", "notes.tmp"]
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False) == {"a": 1}


_SCRIPT = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from diffphase.validation import data as D
    from diffphase.validation.train import TrainConfig, train
    ds = D.two_class_mixture(2000, 4, mu=1.0, sigma=0.5, seed=0)
    cfg = TrainConfig(steps=int(sys.argv[2]), batch_size=64, lr=3e-3, warmup_steps=10, ema_decay=0.95,
                      model_kwargs={"hidden": 32, "depth": 1}, checkpoint_every=10, seed=5)
    model, hist = train(cfg, ds, cache_dir=sys.argv[1], progress=False)
    print("resumed_from", hist.resumed_from, "from_cache", hist.from_cache, flush=True)
""")


def test_resume_after_kill9_is_bit_identical(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    steps = 400
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    # the uninterrupted reference run, in another fresh process and cache, runs alongside
    ref_proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache2"), str(steps)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = subprocess.Popen([sys.executable, str(script), str(cache), str(steps)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    ckpts = []
    while time.time() < deadline and proc.poll() is None:
        ckpts = list(cache.glob("denoisers/*/checkpoint.pt"))
        if ckpts:
            break
        time.sleep(0.01)
    assert ckpts, f"no checkpoint appeared; stderr: {proc.stderr.read().decode() if proc.poll() is not None else ''}"
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    run_dir = ckpts[0].parent
    assert not (run_dir / "model.pt").exists(), "the run finished before the kill; raise `steps`"
    ck = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert 0 < ck["step"] < steps and ck["step"] % 10 == 0

    # resume in a fresh process
    out = subprocess.run([sys.executable, str(script), str(cache), str(steps)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    resumed_from = int(out.stdout.split()[1])
    assert resumed_from >= ck["step"] and resumed_from % 10 == 0
    assert not (run_dir / "checkpoint.pt").exists()
    resumed = torch.load(run_dir / "model.pt", weights_only=False)

    ref_out, ref_err = ref_proc.communicate(timeout=300)
    assert ref_proc.returncode == 0, ref_err
    assert ref_out.split()[1] == "0"
    (ref_path,) = (tmp_path / "cache2").glob("denoisers/*/model.pt")
    ref = torch.load(ref_path, weights_only=False)
    assert ref["key"] == resumed["key"]
    assert ref["ema"].keys() == resumed["ema"].keys()
    for k in ref["ema"]:
        assert torch.equal(ref["ema"][k], resumed["ema"][k]), k
    assert ref["losses"] == resumed["losses"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_training_runs(mixture):  # pragma: no cover - exercised on GPU machines
    model, hist = train(_small(steps=30), mixture, device="cuda", use_cache=False, progress=False)
    assert next(model.parameters()).is_cuda and np.all(np.isfinite(hist.losses))
