"""selfdistill: the library behind the self-distillation paper companion.

Papers: mobahi2020 (self-distillation in Hilbert space), zhang2020 (instance-specific label
smoothing), dong2019 (distillation and early stopping). Modules, by concern:

The core (what a reader of the book never needs to call):

* :mod:`~selfdistill.core.validate`, :mod:`~selfdistill.core.device`, :mod:`~selfdistill.core.paths`
  — argument checks that name the parameter and its accepted range; device (``"auto"``), seeding,
  threads; the repository root
* :mod:`~selfdistill.core.claim` — a claim, its verdict and its printed line;
  :mod:`~selfdistill.core.ledger` — the claim ledger of a chapter run;
  :mod:`~selfdistill.core.provenance` — the one provenance record and the one atomic write;
  :mod:`~selfdistill.core.registry` — the
  registry of the papers' statements (``statements/<paper>.yaml``) and their reproduction status;
  :mod:`~selfdistill.core.chapters` — chapters and their ``parameters`` cells;
  :mod:`~selfdistill.core.runner` — atomic, parallel chapter runs; :mod:`~selfdistill.core.build`,
  :mod:`~selfdistill.core.golden`, :mod:`~selfdistill.core.sweep`,
  :mod:`~selfdistill.core.sweep_report` — the book build, golden notebooks, parameter sweeps;
  :mod:`~selfdistill.cli` — the ``selfdistill`` command; :mod:`~selfdistill.core.sphinx_claims`
  (the claims page), :mod:`~selfdistill.core.sphinx_status` (the reproduction status pages),
  :mod:`~selfdistill.core.sphinx_bib` — Sphinx extensions of the book

mobahi2020:

* :mod:`~selfdistill.mobahi2020.kernels` (Green's functions), :mod:`~selfdistill.mobahi2020.hilbert`
  (Gram matrix, eigenbasis, c-equation), :mod:`~selfdistill.mobahi2020.greens_fit` (the closed
  form), :mod:`~selfdistill.mobahi2020.fit_studies` (one fit against its checks),
  :mod:`~selfdistill.mobahi2020.finite_difference` and :mod:`~selfdistill.mobahi2020.oracles` (the
  independent routes: discretised solve, bisection, the dense refit and filters),
  :mod:`~selfdistill.mobahi2020.rounds` and :mod:`~selfdistill.mobahi2020.studies` (all rounds of
  self-distillation from one eigendecomposition, collapse bounds),
  :mod:`~selfdistill.mobahi2020.spectral` (single-fit filters, the equivalent kernel)

zhang2020:

* :mod:`~selfdistill.zhang2020.targets` (label smoothing, self-distillation, Dirichlet MAP,
  confidence penalty, Beta smoothing), :mod:`~selfdistill.zhang2020.metrics` (accuracy, NLL, ECE,
  confidence diversity), :mod:`~selfdistill.zhang2020.synthetic` and
  :mod:`~selfdistill.zhang2020.oracles` (synthetic teachers and predictors, independent routes)

dong2019:

* :mod:`~selfdistill.dong2019.ntk` (infinite-width and empirical NTK),
  :mod:`~selfdistill.dong2019.dynamics` (spectral GD dynamics, early-stopping risk),
  :mod:`~selfdistill.dong2019.gd` (full-batch GD), :mod:`~selfdistill.data.sphere`,
  :mod:`~selfdistill.dong2019.oracles`, :mod:`~selfdistill.data.noise` (label noise),
  :mod:`~selfdistill.dong2019.sd_rules` (self-distillation rules A/B/C),
  :mod:`~selfdistill.dong2019.kernel_model`, :mod:`~selfdistill.dong2019.network_sd`,
  :mod:`~selfdistill.dong2019.digits_sd`

Training (the deep-network chapters of all three papers):

* :mod:`~selfdistill.data.classification` (embedded sets, CIFAR from a folder, augmentation),
  :mod:`~selfdistill.training.models`, :mod:`~selfdistill.training.objectives`,
  :mod:`~selfdistill.training.loop`,
  :mod:`~selfdistill.training.checkpoint`, :mod:`~selfdistill.training.protocol`

Plots live in ``plots*`` modules beside the mathematics they draw.
"""

__version__ = "0.1.0"
