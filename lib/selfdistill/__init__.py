"""selfdistill: the library behind the self-distillation paper companion.

Papers: mobahi2020 (self-distillation in Hilbert space), zhang2020 (instance-specific label
smoothing), dong2019 (distillation and early stopping). Modules, by concern:

The core (what a reader of the book never needs to call):

* :mod:`~selfdistill.validate`, :mod:`~selfdistill.device`, :mod:`~selfdistill.paths` — argument
  checks that name the parameter and its accepted range; device (``"auto"``), seeding, threads;
  the repository root
* :mod:`~selfdistill.claims` — the claim ledger; :mod:`~selfdistill.statements` — the registry of
  the papers' statements (``statements/<paper>.yaml``) and their reproduction status;
  :mod:`~selfdistill.chapters` — chapters and
  their ``parameters`` cells; :mod:`~selfdistill.runner` — atomic, parallel chapter runs;
  :mod:`~selfdistill.book`, :mod:`~selfdistill.golden`, :mod:`~selfdistill.sweep`,
  :mod:`~selfdistill.sweep_report` — the book build, golden notebooks, parameter sweeps;
  :mod:`~selfdistill.cli` — the ``selfdistill`` command; :mod:`~selfdistill.sphinx_claims`
  (the claims page), :mod:`~selfdistill.sphinx_status` (the reproduction status pages),
  :mod:`~selfdistill.sphinx_bib` — Sphinx extensions of the book

mobahi2020:

* :mod:`~selfdistill.kernels` (Green's functions), :mod:`~selfdistill.hilbert` (the closed form),
  :mod:`~selfdistill.finite_difference` and :mod:`~selfdistill.verify` (the discretised check),
  :mod:`~selfdistill.rounds` and :mod:`~selfdistill.rounds_study` (all rounds of
  self-distillation from one eigendecomposition, the refit route, collapse bounds),
  :mod:`~selfdistill.spectral` (single-fit filters, the equivalent kernel)

zhang2020:

* :mod:`~selfdistill.targets` (label smoothing, self-distillation, Dirichlet MAP, confidence
  penalty, Beta smoothing), :mod:`~selfdistill.metrics` (accuracy, NLL, ECE, confidence
  diversity), :mod:`~selfdistill.synthetic` and :mod:`~selfdistill.verify_zhang` (synthetic
  teachers and predictors, independent routes)

dong2019:

* :mod:`~selfdistill.ntk` (infinite-width and empirical NTK), :mod:`~selfdistill.dynamics`
  (spectral GD dynamics, early-stopping risk), :mod:`~selfdistill.gd` (full-batch GD),
  :mod:`~selfdistill.datasets_small`, :mod:`~selfdistill.verify_ntk`, :mod:`~selfdistill.noise`
  (label noise), :mod:`~selfdistill.noisy_targets` (self-distillation rules A/B/C),
  :mod:`~selfdistill.sd_kernel`, :mod:`~selfdistill.distill_nets`, :mod:`~selfdistill.sd_digits`

Training (the deep-network chapters of all three papers):

* :mod:`~selfdistill.data` (embedded sets, CIFAR from a folder, augmentation),
  :mod:`~selfdistill.models`, :mod:`~selfdistill.objectives`, :mod:`~selfdistill.train`,
  :mod:`~selfdistill.checkpoint`, :mod:`~selfdistill.experiments`

Plots live in ``plots*`` modules beside the mathematics they draw.
"""

__version__ = "0.1.0"
