"""Deep-network training shared by the three papers.

* :mod:`~selfdistill.training.models` — the networks;
* :mod:`~selfdistill.training.objectives` — how a batch's logits become a loss (the one soft
  cross-entropy);
* :mod:`~selfdistill.training.config` — a run's hyper-parameters, checked;
* :mod:`~selfdistill.training.evaluation` — logits in chunks, accuracy, NLL and MSE;
* :mod:`~selfdistill.training.loop` — the one training loop, in phases (setup, epoch,
  evaluation, checkpoint), and generations of teachers and students;
* :mod:`~selfdistill.training.checkpoint` — checkpoints, written atomically;
* :mod:`~selfdistill.training.protocol` — book or paper scale, seeds, summaries over seeds.
"""

from __future__ import annotations

from selfdistill.training import (
    checkpoint,
    config,
    evaluation,
    loop,
    models,
    objectives,
    protocol,
)
from selfdistill.training.checkpoint import (
    check_writable,
    cut,
    fingerprint,
    load,
    precision_settings,
    save,
    write_results,
)
from selfdistill.training.config import (
    SCHEDULES,
    TrainConfig,
)
from selfdistill.training.evaluation import (
    evaluate,
    predict_logits,
)
from selfdistill.training.loop import (
    TrainResult,
    generations,
    train,
)
from selfdistill.training.models import (
    MODELS,
    build_model,
)
from selfdistill.training.objectives import (
    MSE,
    Batch,
    CrossEntropy,
    EpochTargets,
    LossFunction,
    Objective,
    SoftTargets,
    soft_cross_entropy,
)
from selfdistill.training.protocol import (
    PAPER,
    book_or_paper,
    check_paper_data,
    interrupted_run_difference,
    seed_range,
    summarise,
)

__all__ = [
    "checkpoint", "config", "evaluation", "loop", "models", "objectives", "protocol", "Batch",
    "CrossEntropy", "EpochTargets", "LossFunction", "MODELS", "MSE", "Objective", "PAPER",
    "SCHEDULES", "SoftTargets", "TrainConfig", "TrainResult", "book_or_paper", "build_model",
    "check_paper_data", "check_writable", "cut", "evaluate", "fingerprint", "generations",
    "interrupted_run_difference", "load", "precision_settings", "predict_logits", "save",
    "seed_range", "soft_cross_entropy", "summarise", "train", "write_results",
]
