"""Distillation from an early-stopped teacher with finite-width two-layer nets (dong2019 §3).

In the kernel model a student trained to convergence on an early-stopped teacher's training outputs
equals the teacher (:func:`selfdistill.dong2019.kernel_model.converged_student`). For a net of width
``m`` the tangent kernel deviates from its limit by ``O(1/√m)``, so the student (a fresh
initialisation) and the teacher differ by about as much. :func:`student_teacher_gap` measures it:
teacher and student are :class:`selfdistill.dong2019.ntk.TwoLayerReLU` (first layer trained,
symmetric initialisation, ``f ≡ 0`` at the start), trained by
:func:`selfdistill.dong2019.gd.train_full_batch_gd`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from selfdistill.core.device import cpu_threads
from selfdistill.core.validate import Integer, Positive, Tensor, check_int, validate_params
from selfdistill.dong2019.gd import train_full_batch_gd
from selfdistill.dong2019.ntk import TwoLayerReLU

__all__ = ["student_teacher_gap"]


@validate_params(X=Tensor((2,)), y=Tensor((1,)), X_test=Tensor((2,)), seeds=Integer(1, 1000),
                 lr=Positive(), teacher_steps=Integer(1), student_steps=Integer(1))
def student_teacher_gap(X: torch.Tensor, y: torch.Tensor, X_test: torch.Tensor,
                        widths: Sequence[int], seeds: int, lr: float,
                        teacher_steps: int, student_steps: int) -> np.ndarray:
    """Relative gap ``‖f_student − f_teacher‖ / ‖f_teacher‖`` on ``X_test`` of finite-width nets.

    Per seed ``s = 0 … seeds − 1`` and width ``m``: a teacher (initialisation seed ``2s``) is
    trained ``teacher_steps`` GD steps of size ``lr`` on ``y``; a student (seed ``2s + 1``) is
    trained ``student_steps`` steps on the teacher's training outputs.

    Parameters
    ----------
    X : torch.Tensor
        Training inputs ``(n, d)``, float64; the nets use its dtype and device.
    y : torch.Tensor
        Targets ``(n,)``, on ``X``'s device.
    X_test : torch.Tensor
        Test inputs ``(n_test, d)``, on ``X``'s device.
    widths : sequence of int
        Widths ``m``, each ≥ 2.
    seeds : int
        Number of teacher–student pairs per width, in ``[1, 1000]``.
    lr : float
        Step size η > 0.
    teacher_steps, student_steps : int
        GD steps, each ≥ 1.

    Returns
    -------
    numpy.ndarray
        Shape ``(seeds, len(widths))``, float64.

    Raises
    ------
    ValueError
        If an argument is outside its range or the shapes do not match.
    """
    if y.shape != (X.shape[0],):
        raise ValueError(f"y has shape {tuple(y.shape)}; expected ({X.shape[0]},)")
    gaps = np.zeros((seeds, len(widths)))
    with cpu_threads(1):  # tiny matrices: intra-op threads only cost (see cpu_threads)
        for i, s in enumerate(range(seeds)):
            for j, m in enumerate(widths):
                gaps[i, j] = _gap(X, y, X_test, check_int("widths", m, 2), s, lr,
                                  teacher_steps, student_steps)
    return gaps


def _gap(X, y, X_test, m: int, s: int, lr: float, teacher_steps: int,
         student_steps: int) -> float:
    kw = dict(symmetric=True, dtype=X.dtype, device=X.device)
    teacher = TwoLayerReLU(X.shape[1], m, seed=2 * s, **kw)
    t = train_full_batch_gd(teacher, X, y, lr, teacher_steps, teacher_steps, X_eval=X_test)
    student = TwoLayerReLU(X.shape[1], m, seed=2 * s + 1, **kw)
    st = train_full_batch_gd(student, X, t.outputs[-1], lr, student_steps, student_steps,
                             X_eval=X_test)
    f_t, f_s = t.eval_outputs[-1], st.eval_outputs[-1]
    return float((f_s - f_t).norm() / f_t.norm())
