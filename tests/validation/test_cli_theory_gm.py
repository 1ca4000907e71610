"""`diffphase theory gm`: printed numbers against independent closed forms, PNG written."""

import math
import re

from diffphase.validation import cli


def _value(out, key):
    m = re.search(rf"^{re.escape(key)}\s*=\s*(\S+)$", out, re.M)
    assert m, f"{key} not printed"
    return float(m.group(1))


def test_theory_gm_prints_times_and_writes_png(tmp_path, capsys):
    png = tmp_path / "gm.png"
    assert cli.main(["theory", "gm", "--d", "512", "--n", "5000", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    alpha = math.log(5000) / 512
    assert math.isclose(_value(out, "t_S"), 0.5 * math.log(512 + 1), rel_tol=1e-9)
    assert math.isclose(_value(out, "alpha"), alpha, rel_tol=1e-9)
    # t_C = 1/2 log(1 + sigma^2/(e^{2 alpha} - 1)) with sigma = 1
    assert math.isclose(_value(out, "t_C"), 0.5 * math.log(1 + 1 / (math.exp(2 * alpha) - 1)), rel_tol=1e-9)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_theory_gm_bad_parameter_is_one_clear_line(tmp_path, capsys):
    assert cli.main(["theory", "gm", "--sigma", "0", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "sigma must be > 0" in err and "Traceback" not in err
