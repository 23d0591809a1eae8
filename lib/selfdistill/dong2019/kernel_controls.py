"""Controls for dong2019 in the kernel (NTK) model: which teacher to distil from, and when hard
self-distillation reaches the true labels (dong2019 §3–§4; the book's studies, issue 17 §2).

Both studies run on clusterable data on the sphere (:func:`selfdistill.data.sphere.
clusterable_sphere`) with the first-layer infinite-width NTK ``H∞`` and binary label flips, and
use only the step-by-step simulation :func:`selfdistill.dong2019.kernel_model.kernel_gd` /
:func:`~selfdistill.dong2019.kernel_model.kernel_sd` (never a closed form), so they can be checked
against the closed forms of :mod:`selfdistill.dong2019.kernel_model`.

- :func:`teacher_control`: a student trained to convergence on the training outputs of (a) the
  teacher stopped at its best step and (b) the converged teacher (the interpolant of the noisy
  labels); their test errors on held-out points of the same clusters.
- :func:`hard_sd_grid`: rule B with a warm-up across seeds, flip rates and cluster spreads;
  records the proposition's two conditions (every cluster's flip rate below ½; the signs of the
  outputs right on every training point when α_t starts to rise) and the outcome (ℓ2 error
  relative to oracle early stopping, margin).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from selfdistill.core.validate import (
    SEED_MAX,
    Integer,
    Real,
    Seed,
    check_in_range,
    check_int,
    validate_params,
)
from selfdistill.data.noise import binary_flip
from selfdistill.data.sphere import clusterable_sphere
from selfdistill.dong2019.kernel_model import converged_student, kernel_gd, kernel_sd, margin
from selfdistill.dong2019.ntk import ntk_infinite
from selfdistill.dong2019.sd_rules import WarmupRamp

__all__ = ["HardSDCase", "TeacherControl", "hard_sd_grid", "teacher_control"]


@dataclass(frozen=True)
class TeacherControl:
    """Per-seed results of :func:`teacher_control`; each a float64 tensor ``(seeds,)`` on the CPU.

    Attributes
    ----------
    early, converged : torch.Tensor
        Test errors (mean squared error to the true ±1 labels of the test points) of students
        trained to convergence on the early-stopped and on the converged teacher.
    teacher : torch.Tensor
        The early-stopped teacher's own test error.
    stop : torch.Tensor
        Its stopping step.
    """

    early: torch.Tensor
    converged: torch.Tensor
    teacher: torch.Tensor
    stop: torch.Tensor


def _split(n_train: int, n_test: int, n_clusters: int, spread: float, seed: int, device):
    X, y, cluster = clusterable_sphere(n_train + n_test, 20, n_clusters, spread, seed=seed,
                                       device=device)
    return X[:n_train], y[:n_train], cluster[:n_train], X[n_train:], y[n_train:]


@validate_params(seeds=Integer(1, 1000), rho=Real(0.0, 0.5, upper_open=True),
                 n_train=Integer(10), n_test=Integer(1), n_clusters=Integer(2),
                 spread=Real(0.0, 10.0), steps=Integer(1), seed=Seed())
def teacher_control(seeds: int, rho: float, n_train: int = 120, n_test: int = 200,
                    n_clusters: int = 6, spread: float = 0.8, steps: int = 400,
                    device: torch.device | str = "cpu", *, seed: int = 0) -> TeacherControl:
    """Distil from an early-stopped against a converged teacher, in the kernel model.

    Seed ``s`` (``seed, seed + 1, …``) draws the data (``n_train`` + ``n_test`` points,
    ``n_clusters`` clusters of ``spread`` on S¹⁹, labels ±1 by cluster) and flips each training
    label with probability ``rho`` (flip generator seeded ``10 000 + s``). The teacher is kernel GD
    from 0 on the noisy labels (``H∞``, step ``1/λ_max``), simulated for ``steps`` steps; its early
    stop is the step with the smallest test error (an oracle). A student trained to convergence on
    a teacher's training outputs ``u`` predicts ``k(x, X) H⁻¹ u``
    (:func:`selfdistill.dong2019.kernel_model.converged_student`); the converged teacher's outputs
    are the noisy labels themselves.

    Parameters
    ----------
    seeds : int
        Number of draws, in ``[1, 1000]``.
    rho : float
        Flip probability in ``[0, 0.5)``.
    n_train, n_test : int
        Training (≥ 10) and test (≥ 1) points.
    n_clusters : int
        Clusters, ≥ 2.
    spread : float
        Cluster spread in ``[0, 10]``.
    steps : int
        Teacher steps simulated, ≥ 1.
    device : torch.device or str
        Where the kernels live (float64).
    seed : int
        The first seed, in ``[0, SEED_MAX − seeds + 1]``.

    Returns
    -------
    TeacherControl

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    check_int("seed", seed, 0, SEED_MAX - seeds + 1)
    out: dict[str, list[float]] = {"early": [], "converged": [], "teacher": [], "stop": []}
    for s in range(seed, seed + seeds):
        X, y, _, Xt, yt = _split(n_train, n_test, n_clusters, spread, s, device)
        noisy = binary_flip(y, rho, torch.Generator().manual_seed(10_000 + s)).noisy
        Xall = torch.cat([X, Xt])
        K = ntk_infinite(Xall)
        H, Kx = K[:n_train, :n_train], K[n_train:, :n_train]
        lr = 1 / float(torch.linalg.eigvalsh(H)[-1])
        # the teacher by direct simulation (no closed form): u ← u − ηH(u − ỹ), f likewise
        u = torch.zeros(n_train, dtype=H.dtype, device=H.device)
        f = torch.zeros(n_test, dtype=H.dtype, device=H.device)
        errs, us = [], []
        for _ in range(steps + 1):
            errs.append(float((f - yt).square().mean()))
            us.append(u)
            residual = u - noisy
            u, f = u - lr * (H @ residual), f - lr * (Kx @ residual)
        stop = min(range(len(errs)), key=errs.__getitem__)
        u = us[stop]
        out["early"].append(float((converged_student(H, Kx, u) - yt).square().mean()))
        out["converged"].append(float((converged_student(H, Kx, noisy) - yt).square().mean()))
        out["teacher"].append(errs[stop])
        out["stop"].append(float(stop))
    return TeacherControl(*(torch.tensor(out[k], dtype=torch.float64)
                            for k in ("early", "converged", "teacher", "stop")))


@dataclass(frozen=True)
class HardSDCase:
    """One run of rule B (:func:`hard_sd_grid`): its setting, the two conditions, the outcome.

    Attributes
    ----------
    seed, rho, spread : int, float, float
        The setting.
    max_rate : float
        The largest realised flip rate over the clusters (condition 1: < ½).
    signs_right : bool
        Whether ``sign(u) = y*`` on every training point at the epoch where α_t first exceeds 0
        (condition 2).
    ratio : float
        ℓ2 error of rule B after the last epoch over that of oracle early stopping of plain GD.
    margin : float
        ``min_i y*_i u_i`` of rule B at the end.
    """

    seed: int
    rho: float
    spread: float
    max_rate: float
    signs_right: bool
    ratio: float
    margin: float

    @property
    def conditions(self) -> bool:
        """Both conditions of the proposition hold."""
        return self.max_rate < 0.5 and self.signs_right


@validate_params(seeds=Integer(1, 1000), warmup=Integer(1), n_clusters=Integer(2),
                 per_cluster=Integer(2), epochs=Integer(3), seed=Seed())
def hard_sd_grid(seeds: int, rhos: Sequence[float], spreads: Sequence[float],
                 warmup: int = 8, n_clusters: int = 6, per_cluster: int = 30,
                 epochs: int = 600, device: torch.device | str = "cpu", *,
                 seed: int = 0) -> list[HardSDCase]:
    """Rule B (α_t: 0 for ``warmup`` epochs, then a ramp of ``warmup`` epochs to 1) on every
    (seed, ρ, spread), with plain GD for oracle early stopping.

    Seed ``s`` (``seed, seed + 1, …``) draws the clusterable data on S¹⁹ and seeds the flips.

    Parameters
    ----------
    seeds : int
        Number of seeds, in ``[1, 1000]``.
    rhos : sequence of float
        Flip probabilities, each in ``[0, 0.5)``.
    spreads : sequence of float
        Cluster spreads, each in ``[0, 10]``.
    warmup : int
        Warm-up (and ramp) epochs, ≥ 1.
    n_clusters, per_cluster : int
        Clusters (≥ 2) and points per cluster (≥ 2).
    epochs : int
        Epochs (GD steps), ≥ ``2 warmup + 1`` (declared ≥ 3, the bound for ``warmup = 1``; the
        relation to ``warmup`` checked in the body).
    device : torch.device or str
        Where the kernels live (float64).
    seed : int
        The first seed, in ``[0, SEED_MAX − seeds + 1]``.

    Returns
    -------
    list of HardSDCase
        One per (seed, spread, ρ), in that nesting order.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    epochs = check_int("epochs", epochs, 2 * warmup + 1)
    check_int("seed", seed, 0, SEED_MAX - seeds + 1)
    n = n_clusters * per_cluster
    cases = []
    for s in range(seed, seed + seeds):
        for spread in spreads:
            X, y, cluster = clusterable_sphere(n, 20, n_clusters,
                                               check_in_range("spreads", spread, 0.0, 10.0),
                                               seed=s, device=device)
            H = ntk_infinite(X)
            lr = 1 / float(torch.linalg.eigvalsh(H)[-1])
            for rho in rhos:
                rho = check_in_range("rhos", rho, 0.0, 0.5, upper_open=True)
                flips = binary_flip(y, rho, torch.Generator().manual_seed(s))
                rates = torch.stack([flips.corrupted[cluster == j].double().mean()
                                     for j in range(n_clusters)])
                hard = kernel_sd(H, flips.noisy, lr, epochs, "B",
                                 WarmupRamp(warmup, warmup, 1.0))
                plain = kernel_gd(H, lambda t, u, v=flips.noisy: v, lr, epochs)
                es_err = float((plain.u - y).norm(dim=1).min())
                first = int(torch.nonzero(hard.alphas > 0)[0])  # targets of epoch `first`
                cases.append(HardSDCase(
                    s, float(rho), float(spread), float(rates.max()),
                    bool((torch.sign(hard.u[first]) == y).all()),
                    float((hard.u[-1] - y).norm()) / es_err, margin(hard.u[-1], y)))
    return cases
