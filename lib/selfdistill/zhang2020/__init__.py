"""zhang2020, *Self-Distillation as Instance-Specific Label Smoothing*.

Modules:

* :mod:`~selfdistill.zhang2020.targets` — every method as a cross-entropy to a mixed target: label
  smoothing, self-distillation, the Dirichlet MAP;
* :mod:`~selfdistill.zhang2020.smoothing` — the confidence penalty, Beta smoothing and its EMA
  teacher;
* :mod:`~selfdistill.zhang2020.metrics` — accuracy, NLL, calibration (ECE), reliability data,
  confidence diversity;
* :mod:`~selfdistill.zhang2020.synthetic`, :mod:`~selfdistill.zhang2020.diversity_teachers` —
  synthetic teachers and predictors of known calibration and diversity;
* :mod:`~selfdistill.zhang2020.generations` — generations in the released code's regime;
* :mod:`~selfdistill.zhang2020.oracles` — the independent routes.

Every public name of these modules is importable from the package.
"""

from __future__ import annotations

from selfdistill.zhang2020 import (
    diversity_teachers,
    generations,
    metrics,
    oracles,
    smoothing,
    synthetic,
    targets,
)
from selfdistill.zhang2020.diversity_teachers import (
    accuracy_pairs,
    class_spread,
    describe_teacher,
    make_teachers,
    student_accuracy,
)
from selfdistill.zhang2020.generations import (
    BetaSmoothing,
    describe,
    generations_regime,
    matched_eps_ls,
    paired,
    sd_objective,
)
from selfdistill.zhang2020.metrics import (
    ConfidenceDiversity,
    Reliability,
    accuracy,
    bin_edges,
    bin_index,
    confidence_diversity,
    ece,
    ece_float32_top_bin,
    nll,
    non_target_spread,
    predictive_entropy,
    reliability,
    true_class_confidence,
)
from selfdistill.zhang2020.oracles import (
    ece_replicates,
    ema_warmup_check,
    gradient_check,
    hand_targets,
    log_offset_effect,
    map_by_optimisation,
    order_statistics_mc,
)
from selfdistill.zhang2020.smoothing import (
    EMA,
    beta_order_statistics,
    beta_smoothing_amounts,
    beta_smoothing_loss,
    beta_smoothing_target,
    confidence_penalty_loss,
    confidence_penalty_target,
    ema_decay_at,
)
from selfdistill.zhang2020.synthetic import (
    Predictions,
    calibration_gap,
    ece_bias_normal,
    predictor,
    teacher_logits,
)
from selfdistill.zhang2020.targets import (
    amortized_map_loss,
    convert_eps_ls,
    dirichlet_map,
    label_smoothing_loss,
    label_smoothing_target,
    one_hot,
    sd_loss,
    sd_target,
    smoothing_amount,
    teacher_probs,
)

__all__ = [
    "diversity_teachers", "generations", "metrics", "oracles", "smoothing", "synthetic",
    "targets", "BetaSmoothing", "ConfidenceDiversity", "EMA", "Predictions", "Reliability",
    "accuracy", "accuracy_pairs", "amortized_map_loss", "beta_order_statistics",
    "beta_smoothing_amounts", "beta_smoothing_loss", "beta_smoothing_target", "bin_edges",
    "bin_index", "calibration_gap", "class_spread", "confidence_diversity",
    "confidence_penalty_loss", "confidence_penalty_target", "convert_eps_ls", "describe",
    "describe_teacher", "dirichlet_map", "ece", "ece_bias_normal", "ece_float32_top_bin",
    "ece_replicates", "ema_decay_at", "ema_warmup_check", "generations_regime",
    "gradient_check", "hand_targets", "label_smoothing_loss", "label_smoothing_target",
    "log_offset_effect", "make_teachers", "map_by_optimisation", "matched_eps_ls", "nll",
    "non_target_spread", "one_hot", "order_statistics_mc", "paired", "predictive_entropy",
    "predictor", "reliability", "sd_loss", "sd_objective", "sd_target", "smoothing_amount",
    "student_accuracy", "teacher_logits", "teacher_probs", "true_class_confidence",
]
