"""``diffphase rhm curves`` and validation.rhm_curves on a tiny RHM."""

import numpy as np
import pytest

from diffphase.validation.cli import main
from diffphase.validation.rhm_curves import curve_crossings, rhm_class_curves


def test_rhm_curves_command_writes_png(tmp_path, capsys):
    out = tmp_path / "c.png"
    rc = main(["rhm", "curves", "--v", "4", "--m", "2", "--L", "2", "3", "--points", "5",
               "--n-samples", "20", "--out", str(out)])
    assert rc == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "crossing L=2 / L=3" in capsys.readouterr().out


def test_rhm_curves_command_bad_input(capsys):
    assert main(["rhm", "curves", "--v", "4", "--m", "5", "--L", "2", "--points", "3"]) == 2
    assert "m must be <=" in capsys.readouterr().err


def test_class_curve_limits():
    # eps = 0: the class is always kept; eps = 1 (epsilon process: uniform evidence): prior 1/v
    out = rhm_class_curves(v=5, m=2, s=2, depths=(2, 3), noises=[0.0, 1.0], n_samples=30)
    for L in (2, 3):
        assert out["p"][L][0] == pytest.approx(1.0, abs=1e-6)
        assert out["p"][L][1] == pytest.approx(0.2, abs=1e-6)
    assert out["time"][-1] == np.inf


def test_curve_crossings():
    # a - b = [-1, -0.5, 1]: one sign change, linear interpolation at 1 + 0.5 / 1.5
    x = np.array([0.0, 1.0, 2.0])
    assert curve_crossings(x, [0.0, 1.0, 2.0], [1.0, 1.5, 1.0]) == [pytest.approx(4 / 3)]
    assert curve_crossings(x, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]) == []
