r"""What the papers claim: the statements that ``diffphase validate`` judges, with their places.

Every verdict of ``diffphase validate`` has a *kind* (:data:`KINDS`):

``claim``
    a statement of a paper, quoted or paraphrased, with its arXiv id and where it stands
    (abstract, figure, the authors' public code). Its source is a :class:`Claim` of
    :data:`CLAIMS`. Judged.
``reference``
    this package's internal consistency: an exact reference against a theory, a sampler driven
    by exact marginals against belief propagation, an estimator against a closed form. Judged.
``precondition``
    the trained model is good enough for a claim to be tested (rules learned, a classifier's
    accuracy, the memorizing regime reached). Judged; when one fails, the verdicts that name
    it in ``requires`` are INCONCLUSIVE rather than PASS or FAIL, and the run fails: the remedy
    is a better-trained model, not a looser claim.
``exploratory``
    a prediction this package derived itself (a reconstruction, a construction of its own),
    reported measured against predicted in its own table and never part of the exit status
    (``diffphase validate --strict`` includes it).

The places below were read in the papers' abstracts and figure captions and in the authors'
public code; a quotation is marked ``quoted=True`` and kept short, a paraphrase is marked
``quoted=False``. Nothing here is a claim of this package.

Examples
--------
>>> c = CLAIMS["biroli.speciation"]
>>> c.paper.arxiv
'2402.18491'
>>> c.citation().startswith("Biroli, Bonnaire, de Bortoli & Mézard, arXiv:2402.18491")
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "JUDGED_KINDS", "Paper", "Claim", "PAPERS", "CLAIMS", "claim", "claims_of"]

#: The kinds of verdict, in the order the report lists them.
KINDS = ("claim", "reference", "precondition", "exploratory")
#: Kinds that decide the exit status of ``diffphase validate`` (without ``--strict``).
JUDGED_KINDS = ("claim", "reference", "precondition")


@dataclass(frozen=True)
class Paper:
    """A paper whose claims are judged.

    Attributes
    ----------
    key : str
        Short identifier, e.g. ``"biroli"``.
    authors : str
        As cited, e.g. ``"Biroli, Bonnaire, de Bortoli & Mézard"``.
    title : str
    arxiv : str
        arXiv identifier, e.g. ``"2402.18491"``.
    venue : str
        Where it was published, or ``""``.
    code : str
        The authors' public repository (``owner/name`` on GitHub), or ``""``.
    """

    key: str
    authors: str
    title: str
    arxiv: str
    venue: str = ""
    code: str = ""

    def short(self) -> str:
        """``"Authors, arXiv:id"``."""
        return f"{self.authors}, arXiv:{self.arxiv}"


@dataclass(frozen=True)
class Claim:
    """One statement of a paper, as ``diffphase validate`` judges it.

    Attributes
    ----------
    id : str
        ``"<paper key>.<name>"``.
    paper : Paper
    place : str
        Where it stands: ``"abstract"``, ``"Fig. 2 caption"``, ``"authors' code, file.py"``.
    statement : str
        The statement (a short quotation when ``quoted``, else a paraphrase).
    quoted : bool
    tested_by : tuple of str
        Names of the experiments of ``diffphase validate`` that judge it.
    how : str
        How the experiments measure it (the paper's protocol, or how ours differs).
    not_judged : str
        Empty when the experiments judge the claim; else why they only report it (e.g. the
        sizes that fit the run cannot resolve it).
    """

    id: str
    paper: Paper
    place: str
    statement: str
    quoted: bool
    tested_by: tuple
    how: str = ""
    not_judged: str = ""

    def citation(self) -> str:
        """``"Authors, arXiv:id, place: “statement”"`` (quotation marks only for a quotation)."""
        text = f"“{self.statement}”" if self.quoted else f"{self.statement} (paraphrase)"
        return f"{self.paper.short()}, {self.place}: {text}"


_P = [
    Paper("biroli", "Biroli, Bonnaire, de Bortoli & Mézard", "Dynamical regimes of diffusion models",
          "2402.18491", "Nat. Commun. 15, 9957 (2024)", "tbonnair/Dynamical-Regimes-of-Diffusion-Models"),
    Paper("sclocchi", "Sclocchi, Favero & Wyart",
          "A phase transition in diffusion models reveals the hierarchical nature of data", "2402.16991",
          "PNAS (2025)"),
    Paper("sclocchi_probing", "Sclocchi, Favero, Levi & Wyart",
          "Probing the latent hierarchical structure of data via diffusion models", "2410.13770", "ICLR 2025"),
    Paper("favero", "Favero, Sclocchi, Cagnetta, Frossard & Wyart",
          "How compositional generalization and creativity improve as diffusion models are trained",
          "2502.12089", "ICML 2025", "AntonioScl/minimal_diffusion_rhm"),
    Paper("pham", "Pham, Raya, Negri, Zaki, Ambrogioni & Krotov",
          "Memorization to generalization: emergence of diffusion models from associative memory",
          "2505.21777"),
    Paper("achilli", "Achilli et al.", "Losing dimensions: geometric memorization in generative diffusion",
          "2410.08727", "", "beatriceachilli/losing-dimensions"),
    Paper("raya", "Raya & Ambrogioni", "Spontaneous symmetry breaking in generative diffusion models",
          "2305.19693", "NeurIPS 2023", "gabrielraya/symmetry_breaking_diffusion_models"),
    Paper("handke", "Handke, Koulischer, Raya & Ambrogioni",
          "Measuring semantic information production in generative diffusion models", "2506.10433"),
    Paper("koulischer", "Koulischer et al.", "Dynamic negative guidance of diffusion models", "2410.14398",
          "ICLR 2025", "FelixKoulischer/Dynamic-Negative-Guidance"),
]
#: The papers, by key.
PAPERS: dict[str, Paper] = {p.key: p for p in _P}


def _c(id_, place, statement, quoted, tested_by, how="", not_judged=""):
    return Claim(id_, PAPERS[id_.split(".")[0]], place, statement, quoted, tuple(tested_by), how, not_judged)


_C = [
    # ---- Biroli, Bonnaire, de Bortoli & Mézard ------------------------------------------
    _c("biroli.speciation", "abstract; Figs. 2 and 4 (level φ = 0.775)",
       "For any dataset, the speciation time can be found from a spectral analysis of the correlation matrix",
       True, ("speciation_gm", "speciation_digits", "speciation_fashion", "speciation_mnist"),
       "the paper's cloning protocol: clones branched at time t, both ends classified, φ(t) the agreement; "
       "t_S read where φ crosses 0.775 and compared with ½ log Λ, Λ the top eigenvalue of the covariance"),
    _c("biroli.phi_curve", "Fig. 2 caption",
       "the clone agreement φ(t) of the two-class mixture follows Eq. (phi_GM), evaluated against clone "
       "trajectories", False, ("speciation_gm",),
       "φ(t) of trained-model clones against the quadrature of the paper's formula at every branching time"),
    _c("biroli.collapse", "abstract; Fig. 5",
       "the collapse time can be found from the estimation of an 'excess entropy' in the data", True,
       ("collapse", "collapse_images", "memorization"),
       "t_C from the paper's leave-one-out excess-entropy estimator against the ½-crossing of φ_C(t), the "
       "probability that two clones end on the same training point (the paper's Fig. 5 observable)"),
    # ---- Sclocchi, Favero & Wyart ------------------------------------------------------
    _c("sclocchi.class_transition", "abstract; Fig. 5 caption",
       "the probability of reconstructing high-level features, like the class of an image, suddenly drops. "
       "Instead, the reconstruction of low-level features, such as specific details of an image, evolves "
       "smoothly", True, ("rhm_discrete",),
       "forward-backward experiments on RHM data: per-level probability that a latent is unchanged; the ratio "
       "of the root's to the leaves' slope at the class crossing, for exact belief propagation and for the "
       "trained discrete diffusion model, judged at the deepest hierarchy of the run"),
    _c("sclocchi.threshold", "abstract; Fig. 5 (belief propagation)",
       "the backward diffusion process acting after a time t is governed by a phase transition at some "
       "threshold time", True, ("rhm_discrete",),
       "the noise level where the trained model's class curve crosses the midpoint, against the same "
       "crossing of Bayes-optimal denoising (exact belief propagation), the paper's predictor, at every depth"),
    _c("sclocchi.sharpening", "mean-field theory of the class transition",
       "the class transition is a phase transition of the depth-L hierarchy: as L grows the class curve "
       "steepens toward a step at the critical noise, while the leaves' curve does not", False,
       ("rhm_discrete",),
       "two depths of one grammar: the least-squares slope of the root curve at its crossing grows from the "
       "shallower to the deeper hierarchy, the slope of the leaf curves taken at one noise level (the deeper "
       "crossing) does not; for exact belief propagation and for a trained model at each depth"),
    # ---- Sclocchi, Favero, Levi & Wyart -------------------------------------------------
    _c("sclocchi_probing.susceptibility", "abstract",
       "changes in data occur by correlated chunks, with a length scale that diverges at a noise level where "
       "a phase transition is known to take place", True, ("rhm_discrete",),
       "the susceptibility χ = Σ_r C(r) of token changes against the class crossing, trained model and exact "
       "posterior sampling",
       not_judged="for masking at the depths run here (v = 8; m = 2, L = 3 to 6; m = 3, L = 5 to 7) the exact χ "
                  "has a broad maximum near ε = 0.6-0.8 that does not follow the class crossing, so a judged peak "
                  "location would not test the claim; χ is reported in the numbers and the figure"),
    # ---- Favero, Sclocchi, Cagnetta, Frossard & Wyart -----------------------------------
    _c("favero.level_by_level", "abstract; authors' code (diffusion/evaluate_model.py, check_rules)",
       "higher-level features associated with longer contexts require more data to be identified ... "
       "generated texts and images achieve progressively larger coherence lengths as the training time or "
       "dataset size grows", True, ("rhm_discrete",),
       "the authors' check_rules (zero-noise upward pass, levels counted from the leaves) on samples generated "
       "by snapshots of one training run: per level, the fraction of tuples whose children are valid that are "
       "rules, averaged over the snapshots into a learning time; the top level is learned after the bottom "
       "one and no level significantly before the one below it"),
    # ---- Pham, Raya, Negri, Zaki, Ambrogioni & Krotov ---------------------------------
    _c("pham.memorization", "abstract",
       "In the small data regime the diffusion model exhibits a strong memorization phase", True,
       ("memorization",), "fraction of generated samples within δ_m of a training point at the smallest K"),
    _c("pham.generalization", "abstract",
       "In the large data regime, a different phase appears where an increase in the size of the training "
       "set fosters the creation of new attractor states", True, ("memorization",),
       "memorized fraction at the largest K"),
    _c("pham.spurious", "abstract",
       "Spurious states appear at the boundary of this transition", True, ("memorization",),
       "the paper's classification (memorized / spurious / generalized); the spurious fraction peaks at the "
       "memorization crossover and stands above its values at both ends of the K grid"),
    # ---- Achilli et al. ----------------------------------------------------------------
    _c("achilli.selective", "abstract; authors' code (scores at x0 + σq_j: a fresh data draw for their network, "
       "a zero test point for the empirical score)",
       "different tangent subspaces are lost due to memorization effects at different critical times and "
       "dataset sizes ... a selective loss of dimensionality where some prominent features of the data are "
       "memorized without a full collapse on any individual training point", True, ("manifold",),
       "the authors' protocol on their synthetic data (D = 30; 2 coordinates of std 1, 5 of 0.3, the rest "
       "0.01; samples projected on the unit sphere): scores at x0 + sigma q_j (x0 a training point: this "
       "package's reading point, where memorization acts; q_j the rows of a random orthogonal matrix), largest "
       "singular value dropped, the rest normalised by their maximum; read per subspace against the noise level "
       "at the largest trained N and on the exact empirical score: the two subspaces are lost at noise "
       "levels at least a factor 2 apart, and at a noise level where the population keeps both a majority of "
       "training points keeps exactly one (the dimension drops subspace by subspace before full collapse)"),
    # ---- Raya & Ambrogioni --------------------------------------------------------------
    _c("raya.early_irrelevant", "abstract; authors' code (fast_sampler.py: start steps 50, 100, 200, ..., 1000 "
       "from N(0, I)) and project page (late-start figure caption: the knee at the maximum of the second "
       "derivative of the FID curve)",
       "an accurate simulation of the early dynamics does not significantly contribute to the final "
       "generation, since early fluctuations are reverted to the central fixed point", True, ("late_start",),
       "quality (MMD² to held-out data; classifier-feature MMD² on digits) of a many-step sampler started "
       "from N(0, I) at DDPM step k0 in the authors' grid, against k0; the knee read at the maximum of the "
       "curve's second derivative, as the authors do; judged: every start above the knee within 3.5 s.e. "
       "of the latest start, the start just below it worse by at least 3.5 s.e.; exact score and trained "
       "model"),
    _c("raya.late_init", "abstract",
       "we propose a Gaussian late initialization scheme, which significantly improves model performance, "
       "achieving up to 3x FID improvements on fast samplers, while also increasing sample diversity", True,
       ("late_start",),
       "MMD² of a 5-step strided DDPM sampler started from the Gaussian with the noised data's mean and "
       "covariance over the same sampler from pure noise (fresh samples; at the MMD-best start of a grid and "
       "at the knee of the plain-start curve, the paper's practice), and the class balance of its samples"),
    # ---- Handke, Koulischer, Raya & Ambrogioni --------------------------------------------
    _c("handke.intermediate", "abstract",
       "the semantic information transfer is highest in the intermediate stages of diffusion while "
       "vanishing during the final stages", True, ("class_information", "class_information_digits"),
       "the entropy rate dH/dt of the online Bayes classifier (on the trained model's own class denoisers) "
       "along its generative paths: the maximum over log-spaced nodes stands above both end nodes by z "
       "standard errors, and the final stage (last 10 % of the steps of a 1000-step DDPM schedule, the "
       "schedule of the authors' code) carries a share of the transfer an order of magnitude below 10 %"),
    _c("handke.class_profiles", "abstract",
       "we found sizable differences between the entropy rate profiles of different classes", True,
       ("class_information", "class_information_digits"),
       "per-class entropy profiles H_y(t) of paths grouped by their final class (as class-conditional "
       "generation): the midpoints of the classes' rate profiles differ by more than a Bonferroni-corrected "
       "3 standard errors; on a mixture the exact profiles are the reference"),
    # ---- Koulischer et al. ----------------------------------------------------------------
    _c("koulischer.dng", "abstract",
       "DNG leads to higher safety, preservation of class balance and image quality when compared with "
       "baseline methods", True, ("negative_guidance", "negative_guidance_digits"),
       "dynamic against constant-scale negative guidance (negative prompting, the baseline of the authors' "
       "code) over a grid of guidance scales: every NP point has a DNG point not worse in safety (unwanted "
       "fraction) and quality (MMD² to the remaining data), and one not worse in safety and balance (KL of "
       "the class shares to the target, the authors' metric), within 3 paired standard errors; some NP point "
       "is beaten in quality by 3 by a DNG point at least as safe; on digits also the unwanted fraction "
       "against the classifier's false-positive rate"),
]
#: Every claim judged by ``diffphase validate``, by id.
CLAIMS: dict[str, Claim] = {c.id: c for c in _C}


def claim(claim_id: str) -> Claim:
    """The claim ``claim_id`` of :data:`CLAIMS`.

    Raises
    ------
    KeyError
        With the list of known ids, if ``claim_id`` is not registered.
    """
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}; registered claims: {sorted(CLAIMS)}") from None


def claims_of(experiment: str) -> list[Claim]:
    """The claims whose ``tested_by`` names ``experiment``."""
    return [c for c in CLAIMS.values() if experiment in c.tested_by]
