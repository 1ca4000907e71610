"""``diffphase theory rhm``: printed critical quantities vs independent values."""

import math
import re
from fractions import Fraction

from diffphase.validation.cli import main


def _value(out, key):
    match = re.search(rf"^\s*{re.escape(key)}\s*=\s*([-+0-9.eE]+)", out, re.M)
    assert match, f"{key!r} not printed:\n{out}"
    return float(match.group(1))


def test_theory_rhm_prints_eps_star(capsys):
    assert main(["theory", "rhm", "--v", "10", "--m", "4", "--s", "2"]) == 0
    out = capsys.readouterr().out
    v, m = 10, 4
    # s = 2 closed form, exact: p* = (m-1)/(v-m), eps* = (1-p*)/(1-1/v)
    p_star = Fraction(m - 1, v - m)
    eps_star = (1 - p_star) / (1 - Fraction(1, v))
    assert abs(_value(out, "eps*") - float(eps_star)) < 1e-11
    assert abs(_value(out, "p*") - float(p_star)) < 1e-11
    slope = float(Fraction(2 * (v + 1) * (m - 1) * (v - m), m * (v - 1) ** 2))
    assert abs(_value(out, "F'(p*)") - slope) < 1e-11
    assert abs(_value(out, "nu") - math.log(2) / math.log(slope)) < 1e-10
    assert abs(_value(out, "t*") + 0.5 * math.log(1 - float(eps_star))) < 1e-11
    # masking and uniform thresholds printed, below the epsilon-process one
    eps_c = [float(x) for x in re.findall(r"^\s*eps_c\s*=\s*([0-9.]+)", out, re.M)]
    assert len(eps_c) == 2 and all(0 < e < float(eps_star) for e in eps_c)
    assert "no mean-field closure" in out


def test_theory_rhm_default_and_errors(capsys):
    assert main(["theory", "rhm"]) == 0
    out = capsys.readouterr().out
    assert abs(_value(out, "eps*") - 68 / 93) < 1e-11  # v=32, m=8, s=2
    assert main(["theory", "rhm", "--v", "4", "--m", "5"]) == 2
    err = capsys.readouterr().err
    assert "m must be in [1, v**(s-1)]" in err
    assert main(["theory", "rhm", "--m", "1"]) == 2
    assert "no mean-field transition" in capsys.readouterr().err
