"""dong2019, *Distillation ≈ Early Stopping?*

Modules:

* :mod:`~selfdistill.dong2019.ntk` — infinite-width and empirical NTK of two-layer ReLU networks;
* :mod:`~selfdistill.dong2019.dynamics`, :mod:`~selfdistill.dong2019.gd` — spectral gradient-descent
  dynamics and full-batch GD on a network's training outputs;
* :mod:`~selfdistill.dong2019.sd_rules` — the self-distillation rules A/B/C for noisy labels;
* :mod:`~selfdistill.dong2019.kernel_model`, :mod:`~selfdistill.dong2019.kernel_controls` —
  distillation and self-distillation in the kernel (NTK) model, and its controls;
* :mod:`~selfdistill.dong2019.network_sd`, :mod:`~selfdistill.dong2019.digits_sd`,
  :mod:`~selfdistill.dong2019.deep` — finite-width networks, digits, deep networks under noise;
* :mod:`~selfdistill.dong2019.oracles` — the independent routes.

Every public name of these modules is importable from the package.
"""

from __future__ import annotations

from selfdistill.dong2019 import (
    deep,
    digits_sd,
    dynamics,
    gd,
    kernel_controls,
    kernel_model,
    network_sd,
    ntk,
    oracles,
    sd_rules,
)
from selfdistill.dong2019.deep import (
    noisy_label_arms,
)
from selfdistill.dong2019.digits_sd import (
    ARMS,
    SDHistory,
    batched_forward,
    batched_grad,
    digits_binary,
    train_noisy_arms,
)
from selfdistill.dong2019.dynamics import (
    RiskCurve,
    Spectrum,
    early_stopping_risk,
    energy_profile,
    flow_residuals,
    gd_residuals,
    optimal_stopping_step,
    residual_factors,
    spectrum,
)
from selfdistill.dong2019.gd import (
    GDHistory,
    train_full_batch_gd,
)
from selfdistill.dong2019.kernel_controls import (
    HardSDCase,
    TeacherControl,
    hard_sd_grid,
    teacher_control,
)
from selfdistill.dong2019.kernel_model import (
    KernelRun,
    cluster_averages,
    converged_student,
    distill_closed_form,
    kernel_gd,
    kernel_sd,
    margin,
    product_filter,
    soft_sd_closed_form,
)
from selfdistill.dong2019.network_sd import (
    student_teacher_gap,
)
from selfdistill.dong2019.ntk import (
    TwoLayerReLU,
    no_tf32,
    ntk_empirical,
    ntk_infinite,
    ntk_two_layer,
)
from selfdistill.dong2019.oracles import (
    KernelMotion,
    WidthStudy,
    angular_quadrature,
    direction_moments,
    kernel_motion,
    linear_noise_draws,
    network_noise_draws,
    sign_flip_noise,
    top_energy_lanczos,
    width_study,
)
from selfdistill.dong2019.sd_rules import (
    RULES,
    Adaptive,
    Constant,
    LinearRamp,
    WarmupRamp,
    hard_labels,
    hard_target,
    noisy_accuracy,
    recursive_target,
    rule_target,
    soft_target,
)

__all__ = [
    "deep", "digits_sd", "dynamics", "gd", "kernel_controls", "kernel_model", "network_sd",
    "ntk", "oracles", "sd_rules", "ARMS", "Adaptive", "Constant", "GDHistory", "HardSDCase",
    "KernelMotion", "KernelRun", "LinearRamp", "RULES", "RiskCurve", "SDHistory", "Spectrum",
    "TeacherControl", "TwoLayerReLU", "WarmupRamp", "WidthStudy", "angular_quadrature",
    "batched_forward", "batched_grad", "cluster_averages", "converged_student", "digits_binary",
    "direction_moments", "distill_closed_form", "early_stopping_risk", "energy_profile",
    "flow_residuals", "gd_residuals", "hard_labels", "hard_sd_grid", "hard_target", "kernel_gd",
    "kernel_motion", "kernel_sd", "linear_noise_draws", "margin", "network_noise_draws",
    "no_tf32", "noisy_accuracy", "noisy_label_arms", "ntk_empirical", "ntk_infinite",
    "ntk_two_layer", "optimal_stopping_step", "product_filter", "recursive_target",
    "residual_factors", "rule_target", "sign_flip_noise", "soft_sd_closed_form", "soft_target",
    "spectrum", "student_teacher_gap", "teacher_control", "top_energy_lanczos",
    "train_full_batch_gd", "train_noisy_arms", "width_study",
]
