"""mobahi2020, *Self-Distillation Amplifies Regularization in Hilbert Space*.

Modules:

* :mod:`~selfdistill.mobahi2020.kernels` — kernels as Green's functions of regularisers;
* :mod:`~selfdistill.mobahi2020.hilbert` — the Gram matrix, its eigenbasis, the collapse test and
  ``c(ε)`` from the c-equation;
* :mod:`~selfdistill.mobahi2020.greens_fit` — the closed-form fit of the constrained problem;
* :mod:`~selfdistill.mobahi2020.rounds` — all rounds of self-distillation from one
  eigendecomposition, the refit route, collapse bounds;
* :mod:`~selfdistill.mobahi2020.spectral` — filters of one fit and of the rounds, the equivalent
  kernel;
* :mod:`~selfdistill.mobahi2020.fit_studies` — one fit against its independent routes (``c(ε)``
  sweeps, convergence of the discretised solve, the domain);
* :mod:`~selfdistill.mobahi2020.studies`, :mod:`~selfdistill.mobahi2020.draws` — the rounds over ε
  and over many noise draws;
* :mod:`~selfdistill.mobahi2020.baselines` — self-distillation against tuned baselines;
* :mod:`~selfdistill.mobahi2020.deep` — rounds with deep networks;
* :mod:`~selfdistill.mobahi2020.finite_difference`, :mod:`~selfdistill.mobahi2020.oracles` — the
  independent routes (discretised operator, bisection on the dense residual, quadrature);
  ``oracles.CHECKS`` names what each oracle checks.

Every public name of these modules is importable from the package, so a chapter's imports fit in a
few lines: ``from selfdistill.mobahi2020 import eigenbasis, gram, self_distill``.
"""

from __future__ import annotations

from selfdistill.mobahi2020 import (
    baselines,
    deep,
    draws,
    finite_difference,
    fit_studies,
    greens_fit,
    hilbert,
    kernels,
    oracles,
    rounds,
    spectral,
    studies,
)
from selfdistill.mobahi2020.baselines import (
    ARMS,
    Comparison,
    Design,
    Grids,
    compare_arms,
    digits_design,
    error_table,
    gd_filters,
    picks_better,
    ridge_filters,
    sd_round_filters,
    toy_design,
)
from selfdistill.mobahi2020.deep import (
    PAPER,
    ToleranceConfig,
    deep_rounds,
    setup,
    tolerance_rounds,
)
from selfdistill.mobahi2020.draws import (
    DrawStudy,
    SineDraws,
    batch_rounds,
    draw_study,
    filter_errors,
    sine_draws,
)
from selfdistill.mobahi2020.finite_difference import (
    DiscreteSolution,
    convergence_order,
    solve_discretised,
)
from selfdistill.mobahi2020.fit_studies import (
    ConvergenceStudy,
    EpsSweep,
    cells_for,
    convergence_study,
    domain_study,
    eps_sweep,
)
from selfdistill.mobahi2020.greens_fit import (
    WARN_RELATIVE_ERROR,
    GreensFit,
    IllConditionedWarning,
    fit_greens,
    training_data,
)
from selfdistill.mobahi2020.hilbert import (
    SQ_NORM_RTOL,
    Eigenbasis,
    c_bounds,
    collapse_threshold,
    collapses,
    eigenbasis,
    gram,
    solve_c,
    squared_norm,
)
from selfdistill.mobahi2020.kernels import (
    KERNEL_NAMES,
    ExponentialKernel,
    GaussianKernel,
    Kernel,
    NeumannExponentialKernel,
    kernel_by_name,
)
from selfdistill.mobahi2020.oracles import (
    CHECKS,
    RefitRounds,
    c_by_bisection,
    dense_equivalent,
    dense_filters,
    dense_round_filter,
    dense_single_fits,
    empirical_rademacher,
    green_identity_error,
    near_collapse_prediction,
    refit_rounds,
)
from selfdistill.mobahi2020.rounds import (
    MAX_ROUNDS,
    CollapseBounds,
    Rounds,
    collapse_bounds,
    effective_count,
    ratio_bounds,
    self_distill,
    self_distill_fixed_c,
)
from selfdistill.mobahi2020.spectral import (
    BestSingleFit,
    EquivalentKernel,
    best_single_fit,
    filter_diagonal,
    filter_distance,
    filter_predict,
    matched_single_fit,
    pair_ratio,
    rounds_below_ratio,
    single_fit_filter,
)
from selfdistill.mobahi2020.studies import (
    CollapseSweep,
    RatioSweep,
    collapse_sweep,
    count_above,
    data_free_ratio_bound,
    data_free_ratio_limit,
    data_free_worst,
    final_alignment,
    ratio_sweep,
    sparsity_sweep,
    top_alignment,
)

__all__ = [
    "baselines", "deep", "draws", "finite_difference", "fit_studies", "greens_fit", "hilbert",
    "kernels", "oracles", "rounds", "spectral", "studies", "ARMS", "BestSingleFit", "CHECKS",
    "CollapseBounds", "CollapseSweep", "Comparison", "ConvergenceStudy", "Design",
    "DiscreteSolution", "DrawStudy", "Eigenbasis", "EpsSweep", "EquivalentKernel",
    "ExponentialKernel", "GaussianKernel", "GreensFit", "Grids", "IllConditionedWarning",
    "KERNEL_NAMES", "Kernel", "MAX_ROUNDS", "NeumannExponentialKernel", "PAPER", "RatioSweep",
    "RefitRounds", "Rounds", "SQ_NORM_RTOL", "SineDraws", "ToleranceConfig",
    "WARN_RELATIVE_ERROR", "batch_rounds", "best_single_fit", "c_bounds", "c_by_bisection",
    "cells_for", "collapse_bounds", "collapse_sweep", "collapse_threshold", "collapses",
    "compare_arms", "convergence_order", "convergence_study", "count_above",
    "data_free_ratio_bound", "data_free_ratio_limit", "data_free_worst", "deep_rounds",
    "dense_equivalent", "dense_filters", "dense_round_filter", "dense_single_fits",
    "digits_design", "domain_study", "draw_study", "effective_count", "eigenbasis",
    "empirical_rademacher", "eps_sweep", "error_table", "filter_diagonal", "filter_distance",
    "filter_errors", "filter_predict", "final_alignment", "fit_greens", "gd_filters", "gram",
    "green_identity_error", "kernel_by_name", "matched_single_fit", "near_collapse_prediction",
    "pair_ratio", "picks_better", "ratio_bounds", "ratio_sweep", "refit_rounds",
    "ridge_filters", "rounds_below_ratio", "sd_round_filters", "self_distill",
    "self_distill_fixed_c", "setup", "sine_draws", "single_fit_filter", "solve_c",
    "solve_discretised", "sparsity_sweep", "squared_norm", "tolerance_rounds", "top_alignment",
    "toy_design", "training_data",
]
