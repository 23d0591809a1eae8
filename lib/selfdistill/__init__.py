"""selfdistill: the library behind the self-distillation paper companion.

Papers: mobahi2020 (Hilbert-space self-distillation), zhang2020 (instance-specific label
smoothing), dong2019 (distillation and early stopping). Modules:

* :mod:`selfdistill.device` — device choice (``"auto"``), float64 for verification, seeding
* :mod:`selfdistill.validate` — argument checks that name the parameter and the accepted range
* :mod:`selfdistill.kernels` — kernels as Green's functions of regularisers
* :mod:`selfdistill.hilbert` — the closed-form solution of mobahi2020 (E1)–(E4)
* :mod:`selfdistill.rounds` — self-distillation rounds from one eigenbasis, the refit route, bounds
* :mod:`selfdistill.rounds_study` — sweeps over ε and basis counts for the rounds chapters
* :mod:`selfdistill.finite_difference` — an independent discretised solve of (E1)
* :mod:`selfdistill.claims` — the claim ledger
* :mod:`selfdistill.cli` — ``selfdistill list | run | claims | golden``
"""

__version__ = "0.1.0"
