r"""Verdicts and experiment results of ``diffphase validate``.

A :class:`Verdict` compares one measured number with its prediction at a tolerance fixed in
the experiment's code *before* the measurement (each experiment keeps its tolerances in a
module-level ``TOLERANCES`` table). The rule is

.. math:: |\,\text{measured} - \text{predicted}\,| \le \text{tol} \quad (\text{rule "abs"}),
   \qquad |\,\text{measured} - \text{predicted}\,| \le \text{tol}\cdot|\text{predicted}|
   \quad (\text{rule "rel"}),

or ``"max"`` (``measured <= tol``; ``predicted`` is ignored) and ``"min"``
(``measured >= tol``) for one-sided checks. Times are OU times.

Every verdict also says what it tests: its *kind* (a paper's ``claim``, an exact
``reference``, a ``precondition`` on the trained model, or an ``exploratory`` prediction of
this package) and its *source* (:mod:`diffphase.validation.claims`). A claim or reference
whose required precondition failed is INCONCLUSIVE. A run passes when every claim,
reference and precondition passes; exploratory verdicts are reported in their own table and
count only with ``strict=True``.

Examples
--------
>>> v = Verdict.check("t_S crossing vs 1/2 log Lambda", measured=2.05, predicted=2.087,
...                   tolerance=0.1, rule="rel", stderr=0.03, kind="claim",
...                   source="biroli.speciation")
>>> v.passed, round(v.deviation, 4), v.source[:36]
(True, -0.0177, 'Biroli, Bonnaire, de Bortoli & Mézar')
>>> pre = Verdict.check("classifier accuracy", 0.7, None, 0.9, "min", kind="precondition",
...                     source="the clone ends are labelled by this classifier", key="accuracy")
>>> claim = Verdict.check("t_S", 2.05, 2.087, 0.1, "rel", kind="claim", source="biroli.speciation",
...                       requires=["accuracy"])
>>> [v.outcome for v in ExperimentResult("x", "", "quick", verdicts=[pre, claim]).verdicts]
['FAIL', 'INCONCLUSIVE']
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

__all__ = ["RULES", "Verdict", "resolve_outcomes", "ExperimentResult"]

RULES = ("abs", "rel", "max", "min")


@dataclass(frozen=True)
class Verdict:
    r"""One measured number against its prediction, with what it tests and where that is written.

    Attributes
    ----------
    name : str
        What is compared, e.g. ``"t_S (phi = 0.775 crossing) vs 1/2 log Lambda, d=64"``.
    measured : float
    predicted : float or None
        ``None`` for the one-sided rules ``"max"``/``"min"``.
    tolerance : float
        Stated in the experiment's code before measuring.
    rule : {"abs", "rel", "max", "min"}
        See the module docstring.
    passed : bool
        The rule holds (before preconditions are taken into account; see :attr:`outcome`).
    kind : {"claim", "reference", "precondition", "exploratory"}
        What the verdict tests (:data:`~diffphase.validation.claims.KINDS`).
    source : str
        Where the statement is written: for a claim, the citation of its
        :class:`~diffphase.validation.claims.Claim` (authors, arXiv id, place, statement); for
        the other kinds, the exact reference, the claim a precondition guards, or the formula
        of this package that an exploratory verdict compares with.
    claim : str
        The :data:`~diffphase.validation.claims.CLAIMS` id of a claim (``""`` for other kinds).
    key : str
        Identifier inside its experiment (default: ``name``); ``requires`` refers to it.
    requires : tuple of str
        Keys of the precondition verdicts of the same experiment that this verdict depends on.
    stderr : float or None
        Standard error of ``measured`` (reported, not used by the rule).
    unit : str
        e.g. ``"OU time"``.
    note : str
        Where the prediction and the tolerance come from.
    outcome : str
        Set by :class:`ExperimentResult`: ``"PASS"``/``"FAIL"`` (claim, reference,
        precondition), ``"AGREES"``/``"DISAGREES"`` (exploratory), or ``"INCONCLUSIVE"`` when a
        required precondition failed. Empty on a verdict outside a result.
    """

    name: str
    measured: float
    predicted: float | None
    tolerance: float
    rule: str
    passed: bool
    kind: str = "claim"
    source: str = ""
    claim: str = ""
    key: str = ""
    requires: tuple = ()
    stderr: float | None = None
    unit: str = ""
    note: str = ""
    outcome: str = ""

    @classmethod
    def check(cls, name: str, measured: float, predicted: float | None, tolerance: float, rule: str = "abs",
              *, kind: str, source: str, stderr: float | None = None, unit: str = "", note: str = "",
              key: str | None = None, requires=()) -> "Verdict":
        """Apply ``rule`` and return the verdict. A non-finite ``measured`` fails.

        Parameters
        ----------
        name, measured, predicted, tolerance, rule, stderr, unit, note
            See the class attributes.
        kind : {"claim", "reference", "precondition", "exploratory"}
            Required: what the verdict tests.
        source : str
            Required. For ``kind="claim"``, the id of a registered claim
            (:data:`~diffphase.validation.claims.CLAIMS`, e.g. ``"biroli.speciation"``), whose
            citation becomes the verdict's source; for the other kinds, a non-empty sentence
            naming the reference, the guarded claim or this package's own formula.
        key : str, optional
            Identifier inside the experiment (default ``name``).
        requires : sequence of str
            Keys of precondition verdicts of the same experiment.

        Raises
        ------
        ValueError
            If ``rule`` is not one of ``"abs"``, ``"rel"``, ``"max"``, ``"min"``, if the
            tolerance is negative or not finite, if a two-sided rule has no prediction, if
            ``kind`` is unknown or ``source`` empty.
        KeyError
            If a claim's ``source`` is not a registered claim id.
        """
        from ..claims import KINDS, claim as lookup

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"source must be a non-empty string (kind {kind!r}), got {source!r}")
        claim_id = ""
        if kind == "claim":
            claim_id, source = source, lookup(source).citation()
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        tolerance = float(tolerance)
        if not math.isfinite(tolerance) or (rule in ("abs", "rel") and tolerance < 0):
            raise ValueError(f"tolerance must be finite (and >= 0 for rule {rule!r}), got {tolerance}")
        measured = float(measured)
        if rule in ("abs", "rel"):
            if predicted is None or not math.isfinite(float(predicted)):
                raise ValueError(f"rule {rule!r} needs a finite prediction, got {predicted!r}")
            predicted = float(predicted)
            bound = tolerance if rule == "abs" else tolerance * abs(predicted)
            passed = math.isfinite(measured) and abs(measured - predicted) <= bound
        elif rule == "max":
            passed = math.isfinite(measured) and measured <= tolerance
        else:
            passed = math.isfinite(measured) and measured >= tolerance
        requires = (requires,) if isinstance(requires, str) else tuple(str(r) for r in requires)
        return cls(name=name, measured=measured, predicted=None if predicted is None else float(predicted),
                   tolerance=tolerance, rule=rule, passed=bool(passed), kind=kind, source=source, claim=claim_id,
                   key=name if key is None else str(key), requires=requires,
                   stderr=None if stderr is None else float(stderr), unit=unit, note=note)

    @property
    def deviation(self) -> float:
        """``measured - predicted`` (rule ``"abs"``), ``measured/predicted - 1`` (``"rel"``),
        ``nan`` for one-sided rules."""
        if self.predicted is None or self.rule in ("max", "min"):
            return math.nan
        if self.rule == "rel":
            return self.measured / self.predicted - 1.0 if self.predicted != 0 else math.nan
        return self.measured - self.predicted

    @property
    def judged(self) -> bool:
        """True for the kinds that decide the exit status (claim, reference, precondition)."""
        return self.kind != "exploratory"

    def tolerance_text(self) -> str:
        """The rule in words, e.g. ``"|Δ| ≤ 10% of predicted"``."""
        return {"abs": f"|Δ| ≤ {self.tolerance:g}", "rel": f"|Δ| ≤ {100 * self.tolerance:g}% of predicted",
                "max": f"≤ {self.tolerance:g}", "min": f"≥ {self.tolerance:g}"}[self.rule]

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        """Rebuild a verdict from :func:`to_jsonable` output."""
        def num(x):
            return None if x is None else float(x)
        return cls(name=d["name"], measured=float(d["measured"]), predicted=num(d.get("predicted")),
                   tolerance=float(d["tolerance"]), rule=d["rule"], passed=bool(d["passed"]),
                   kind=d["kind"], source=d["source"], claim=d.get("claim", ""), key=d.get("key") or d["name"],
                   requires=tuple(d.get("requires", ())), stderr=num(d.get("stderr")), unit=d.get("unit", ""),
                   note=d.get("note", ""), outcome=d.get("outcome", ""))


def resolve_outcomes(verdicts) -> list:
    """The verdicts with :attr:`Verdict.outcome` set.

    A verdict whose ``requires`` names a precondition that did not pass is ``"INCONCLUSIVE"``;
    otherwise a judged verdict is ``"PASS"``/``"FAIL"`` and an exploratory one
    ``"AGREES"``/``"DISAGREES"``.

    Raises
    ------
    ValueError
        If two verdicts share a key, or ``requires`` names a key that is not a precondition of
        the same list.
    """
    verdicts = list(verdicts)
    keys = [v.key for v in verdicts]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"verdict keys must be unique within an experiment; repeated: {dup}")
    pre = {v.key: v.passed for v in verdicts if v.kind == "precondition"}
    out = []
    for v in verdicts:
        bad = [r for r in v.requires if r not in pre]
        if bad:
            raise ValueError(f"verdict {v.key!r} requires {bad}, which are not preconditions of its experiment "
                             f"(preconditions: {sorted(pre)})")
        if not all(pre[r] for r in v.requires):
            outcome = "INCONCLUSIVE"
        elif v.kind == "exploratory":
            outcome = "AGREES" if v.passed else "DISAGREES"
        else:
            outcome = "PASS" if v.passed else "FAIL"
        out.append(dataclasses.replace(v, outcome=outcome))
    return out


@dataclass
class ExperimentResult:
    """What one experiment of ``diffphase validate`` produced.

    Attributes
    ----------
    name, title : str
    mode : str
        ``"quick"``, ``"standard"`` or ``"full"``.
    status : {"done", "skipped"}
        ``"skipped"`` when a requirement is missing (e.g. Fashion-MNIST not installed); a
        skipped experiment has no verdicts and does not fail the run.
    verdicts : list of Verdict
        Their outcomes are resolved on construction (:func:`resolve_outcomes`).
    numbers : dict
        Every measured and predicted number (arrays as lists), for ``results.json``.
    figures : list of str
        PNG file names, relative to the report folder.
    config : dict
        The configuration that produced the result.
    key : str
        Hash of ``config`` (and the engine version): a rerun reuses the result when it matches.
    seconds : float
        Wall time of the run that produced it.
    cpu_seconds : float
        CPU time (user + system) of that run: this process and the sweep workers it waited for.
    commit : str
        The source commit that produced it (:func:`~diffphase.validation.validate.source_commit`),
        so a report assembled from several sittings names the code of each experiment.
    message : str
        Why it was skipped, or remarks for the report.
    """

    name: str
    title: str
    mode: str
    status: str = "done"
    verdicts: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    key: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    commit: str = ""
    message: str = ""

    def __post_init__(self):
        self.verdicts = resolve_outcomes(self.verdicts)

    @property
    def passed(self) -> bool:
        """True when every judged verdict (claim, reference, precondition) has outcome PASS
        (vacuously for a skipped experiment); exploratory verdicts do not count."""
        return all(v.outcome == "PASS" for v in self.verdicts if v.judged)

    @property
    def passed_strict(self) -> bool:
        """:attr:`passed`, and every exploratory prediction AGREES (``--strict``)."""
        return self.passed and all(v.outcome == "AGREES" for v in self.verdicts if not v.judged)

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentResult":
        """Rebuild a result from its JSON form."""
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        kw["verdicts"] = [Verdict.from_dict(v) for v in d.get("verdicts", [])]
        return cls(**kw)
