"""selfdistill: the library behind the self-distillation paper companion.

Papers: mobahi2020 (Hilbert-space self-distillation), zhang2020 (instance-specific label
smoothing), dong2019 (distillation and early stopping). Modules:

* :mod:`selfdistill.device` — device choice (``"auto"``), float64 for verification, seeding
* :mod:`selfdistill.validate` — argument checks that name the parameter and the accepted range
* :mod:`selfdistill.kernels` — kernels as Green's functions of regularisers
* :mod:`selfdistill.hilbert` — the closed-form solution of mobahi2020 (the book's labels
  constrained-problem, closed-form, c-equation, c-bounds)
* :mod:`selfdistill.finite_difference` — an independent discretised solve of constrained-problem
* :mod:`selfdistill.noise` — label-noise models with seeds (symmetric, pair-flip, binary)
* :mod:`selfdistill.noisy_targets` — self-distillation rules A/B/C for noisy labels, α_t schedules
* :mod:`selfdistill.sd_kernel` — distillation and self-distillation in the kernel (NTK) model
* :mod:`selfdistill.distill_nets` — student–teacher gap of finite-width two-layer nets
* :mod:`selfdistill.sd_digits` — the digits noisy-label protocol (batched full-batch GD)
* :mod:`selfdistill.targets` — zhang2020 targets and losses (label smoothing, SD, Dirichlet MAP,
  confidence penalty, Beta smoothing, EMA)
* :mod:`selfdistill.metrics` — accuracy, NLL, ECE, reliability data, entropy, confidence diversity
* :mod:`selfdistill.synthetic` — synthetic teachers and predictors of known calibration
* :mod:`selfdistill.verify_zhang` — independent routes for the zhang2020 chapters
* :mod:`selfdistill.hilbert` — the closed-form solution of mobahi2020 (E1)–(E4)
* :mod:`selfdistill.rounds` — self-distillation rounds from one eigenbasis, the refit route, bounds
* :mod:`selfdistill.rounds_study` — sweeps over ε and basis counts for the rounds chapters
* :mod:`selfdistill.finite_difference` — an independent discretised solve of (E1)
* :mod:`selfdistill.claims` — the claim ledger
* :mod:`selfdistill.cli` — ``selfdistill list | run | claims | golden``
"""

__version__ = "0.1.0"
