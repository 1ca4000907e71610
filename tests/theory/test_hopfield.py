"""Symbolic checks of the associative-memory theory (sympy, with mpmath only to evaluate
unevaluated integrals at a point)."""

import mpmath as mp
import pytest
import sympy as sp

from diffphase.theory import gaussian_mixture as tgm
from diffphase.theory import hopfield as th

m, q, r, alpha, beta, z, y = th.m, th.q, th.r, th.alpha, th.beta, th.z, th.y


@pytest.fixture(scope="module")
def deriv():
    return th.derivation()


def _num(expr, subs):
    """Evaluate an expression with unevaluated z-integrals: each integrand is lambdified and
    integrated by mpmath quadrature, then the expression is evaluated."""
    expr = expr.subs(subs)
    vals = {}
    for I in expr.atoms(sp.Integral):
        f = sp.lambdify(z, I.function, "mpmath")
        vals[I] = sp.Float(mp.quad(f, [-mp.inf, -3, 0, 3, mp.inf]), 20)
    return complex(sp.N(expr.xreplace(vals))).real


def test_stein_lemma_is_integration_by_parts():
    g = sp.tanh(sp.Symbol("b", positive=True) * (m + sp.Symbol("s", positive=True) * z))
    lhs = th.gaussian_average(z * g)
    rhs = th.stein(lhs)
    Dz = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    # the integrands differ by a total derivative that vanishes at ±infinity
    diff = lhs.function - rhs.function
    assert sp.simplify(diff + sp.diff(Dz * g, z)) == 0
    # and an integral without a factor z is untouched
    plain = th.gaussian_average(g)
    assert th.stein(plain) == plain


def test_rs_equations_are_stationarity_of_free_energy(deriv):
    """At the numerical RS solution (numerics leg), the three equations hold and all three
    derivatives of f vanish (evaluated by mpmath quadrature at 20 digits)."""
    from diffphase.numerics.hopfield import rs_retrieval

    eq_m, eq_q, eq_r = deriv["eq_m"], deriv["eq_q"], deriv["eq_r"]
    assert sp.simplify(eq_r.rhs - q / (1 - beta * (1 - q)) ** 2) == 0
    sol = rs_retrieval(0.05, 0.25)
    point = {alpha: sp.Rational(1, 20), beta: 4, m: sol.m, q: sol.q, r: sol.r}
    for e in (eq_m, eq_q, eq_r):
        assert abs(_num(e.lhs - e.rhs, point)) < 1e-9
    f = th.rs_free_energy()
    for var in (m, q, r):
        assert abs(_num(sp.diff(f, var), point)) < 1e-9, var
    assert 0.9 < sol.m < 1.0


def test_zero_temperature_limits_against_large_beta():
    mag, C = th.zero_temperature_limits()
    s = sp.Symbol("s", positive=True)
    point = {m: sp.Rational(9, 10), s: sp.Rational(2, 5)}
    b = 400
    h = point[m] + point[s] * z
    z0 = -point[m] / point[s]
    pts = [-mp.inf, z0 - 0.05, z0, z0 + 0.05, mp.inf]
    Dz = lambda x: mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    hz = lambda x: b * (mp.mpf(9) / 10 + mp.mpf(2) / 5 * x)  # noqa: E731
    tanh_avg = mp.quad(lambda x: Dz(x) * mp.tanh(hz(x)), pts)
    C_num = b * mp.quad(lambda x: Dz(x) * mp.sech(hz(x)) ** 2, pts)
    del h
    # corrections are O(1/beta^2) for the magnetisation and O(1/beta^2) for C
    assert abs(tanh_avg - sp.N(mag.subs(point))) < 1e-4
    assert abs(C_num - sp.N(C.subs(point))) < 1e-3


def test_capacity_curve_solves_zero_temperature_equations(deriv):
    """For any y, (m, s, C, alpha) built from y satisfies all T = 0 equations."""
    eqs = th.zero_temperature_equations()
    for yv in (sp.Rational(3, 2), sp.Integer(2)):
        s_ = sp.erf(yv) / (sp.sqrt(2) * yv)
        mv = sp.erf(yv)
        Cv = eqs[1].rhs.subs({m: mv, sp.Symbol("s", positive=True): s_})
        av = th.capacity_curve(yv)
        sub = {m: mv, sp.Symbol("s", positive=True): s_, sp.Symbol("C", positive=True): Cv, alpha: av}
        for e in eqs:
            assert abs(sp.N((e.lhs - e.rhs).subs(sub), 30)) < 1e-25
    assert deriv["alpha_y"].rhs == th.capacity_curve()


def test_capacity_condition_is_stationarity_of_alpha():
    cond = th.capacity_condition().lhs
    mp.mp.dps = 30
    yc = mp.findroot(sp.lambdify(y, cond, "mpmath"), mp.mpf("1.5"))
    dalpha = sp.lambdify(y, sp.diff(th.capacity_curve(), y), "mpmath")
    assert abs(dalpha(yc)) < 1e-25
    assert abs(float(sp.lambdify(y, th.capacity_curve(), "mpmath")(yc)) - 0.1379) < 1e-4  # AGS 1985
    mp.mp.dps = 15


def test_spin_glass_temperature(deriv):
    assert sp.simplify(deriv["T_g"].rhs - (1 + sp.sqrt(alpha))) == 0
    assert th.spin_glass_temperature(sp.Rational(1, 4)) == sp.Rational(3, 2)


def test_spherical_capacity_is_rem_balance():
    qo = sp.Symbol("q_o", real=True)
    a1 = th.dense_capacity_spherical()
    for bv in (sp.Rational(1, 2), 3):
        phi = lambda qq: a1.subs(beta, bv) + th.spherical_overlap_entropy(qq) + bv * qq  # noqa: E731
        # the REM free entropy of the others equals the signal beta at alpha_1 (max over q)
        q0 = sp.nsolve(sp.diff(phi(qo), qo), qo, (0.01, 0.999), solver="bisect", prec=40)
        assert abs(sp.N(phi(q0) - bv, 30)) < 1e-20
        # and the REM is not frozen there: entropy at the saddle is >= 0
        assert sp.N(a1.subs(beta, bv) + th.spherical_overlap_entropy(q0)) > 0


def test_gaussian_capacity_and_collapse_load(deriv):
    s2 = sp.Symbol("sigma^2", positive=True)
    lm = th.gaussian_log_moment()
    rho = sp.Symbol("rho", positive=True)
    # the log-moment: d/drho is -beta/(2(1 + beta sigma^2)), value at beta=0 is 0
    assert sp.simplify(sp.diff(lm, rho) + beta / (2 * (1 + beta * s2))) == 0
    assert sp.simplify(lm.subs(beta, 0)) == 0
    a1 = th.dense_capacity_gaussian()
    ac = th.rem_collapse_load()
    assert sp.simplify(a1 + lm.subs(rho, s2)) == 0
    assert sp.simplify(a1 - ac - deriv["memory_minus_collapse"].rhs) == 0
    # with beta = beta_t the REM load is the Gaussian-mixture critical load alpha_c(t)
    t = th.t
    ac_t = ac.subs(beta, th.effective_inverse_temperature()).subs(s2, tgm.sigma**2)
    assert sp.simplify(sp.exp(2 * ac_t) - sp.exp(2 * tgm.critical_load())) == 0


def test_collapse_is_rem_condensation():
    """At the collapse load the entropy of the dominant configurations of the REM is zero."""
    s2 = sp.Symbol("sigma^2", positive=True)
    rho = s2 + 1 / beta
    # tilted law of xi: mean beta s2 y/(1 + beta s2), variance s2/(1 + beta s2); D* = E|y-xi|^2/N
    Dstar = rho / (1 + beta * s2) ** 2 + s2 / (1 + beta * s2)
    lam = th.gaussian_log_moment(beta, s2, rho)
    entropy = th.rem_collapse_load() + lam + beta * Dstar / 2  # alpha - I(D*) = alpha + Lambda + beta D*/2
    assert sp.simplify(entropy) == 0


def test_dot_capacity_is_continuous_at_condensation():
    a = th.dense_capacity_gaussian_dot()
    assert th.derivation()["alpha1_dot"].rhs == a.args[0][0]
    assert a.subs(beta, 1) == sp.Rational(1, 2)
    assert sp.limit((beta - beta**2 / 2), beta, 1) == sp.Rational(1, 2)


def test_derivation_steps_are_named_and_render(deriv):
    names = [s.name for s in deriv]
    for key in ("f_RS", "eq_m", "eq_q", "eq_r", "T0_m", "T0_C", "alpha_y", "alpha_c_condition", "T_g",
                "alpha1_sph", "alpha1_gauss", "beta_t", "alpha_collapse", "collapse_is_alpha_c"):
        assert key in names
    assert "computed: 0" in [s.text for s in deriv if s.name == "collapse_is_alpha_c"][0]
    assert deriv.to_markdown().count("$$") == 2 * len(deriv)


def test_zero_temperature_energy_is_the_limit_of_the_free_energy():
    # algebraic part: hand-derived limit; the average: <|m + s z|> in closed form, compared
    # with the numerics (T = 0 branch of rs_free_energy) at the retrieval solution
    from diffphase.numerics import hopfield as hp

    E = th.zero_temperature_energy()
    alg, integral = E.as_independent(sp.Integral)
    C = th._C
    hand = th.alpha / 2 + th.m**2 / 2 + th.alpha * C / (2 * (1 - C) ** 2) - th.alpha / (2 * (1 - C))
    assert sp.simplify(alg - hand) == 0
    sol = hp.rs_retrieval(0.1)
    s = (0.1 * sol.r) ** 0.5
    val = float(E.subs({th.m: sol.m, th._s: s, C: sol.C, th.alpha: 0.1}).doit().evalf(20))
    assert abs(val - hp.rs_free_energy(sol.m, sol.C, sol.r, 0.1)) < 1e-12


def test_spin_glass_energy_closed_form():
    E = th.spin_glass_energy()
    assert sp.simplify(E - (-sp.sqrt(2 * th.alpha / sp.pi) - 1 / sp.pi)) == 0
    assert "E_SG" in [st.name for st in th.derivation().steps]
