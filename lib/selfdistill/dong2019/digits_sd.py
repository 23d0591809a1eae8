"""Self-distillation against label noise on scikit-learn's digits (dong2019 §6; our protocol).

The paper's experiments are not available; this is the book's small protocol. Two classes (digits
0–4 → +1, 5–9 → −1), inputs centred by the training mean and scaled to the unit sphere, a two-layer
ReLU net :class:`selfdistill.dong2019.ntk.TwoLayerReLU` (NTK parameterisation, first layer trained,
symmetric initialisation so ``f ≡ 0`` at the start) trained by full-batch GD on ``½‖u − ŷ_t‖²``, one
step per epoch, where ``ŷ_t`` is the plain noisy label or a self-distillation target (rules A/B/C of
:mod:`selfdistill.dong2019.sd_rules`, built from the previous epoch's training outputs). Every arm
and seed runs in one batch (one batched matrix product, :func:`batched_forward`, with the gradient
by hand, :func:`batched_grad`; the tests compare both with the module and autograd), so a seed
shares its initialisation and its noisy labels across the arms: the comparison is paired.

Why not the one GD engine (:func:`selfdistill.dong2019.gd.train_full_batch_gd`): it trains one
model on one input matrix with one scalar step size by autograd, while these runs differ in their
inputs (each seed its own split), their step sizes (``lr / λ_max`` of each seed's kernel) and
their targets (per-run schedules), and the batched product with the hand gradient is what makes
the book-scale chapter fit its time budget. ``tests/dong2019/test_digits_sd.py`` checks that both
give the same trajectories, arm by arm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.device import cpu_threads
from selfdistill.core.validate import (
    SEED_MAX,
    Integer,
    Optional,
    Real,
    Seed,
    check_choice,
    check_int,
    validate_params,
)
from selfdistill.data.digits import DigitsSplit, binary_split
from selfdistill.data.noise import binary_flip
from selfdistill.dong2019.sd_rules import RULES, hard_labels, rule_target

__all__ = [
    "ARMS",
    "SDHistory",
    "batched_forward",
    "batched_grad",
    "digits_binary",
    "train_noisy_arms",
]

#: "plain" trains on the noisy labels; "A", "B", "C" are the self-distillation rules
ARMS = ("plain", *RULES)


@validate_params(n_train=Integer(50, 1500), seed=Seed(), n_test=Optional(Integer(1, 1747)))
def digits_binary(n_train: int, seed: int, device: torch.device | str = "cpu",
                  n_test: int | None = None) -> DigitsSplit:
    """Two-class digits (0–4 → +1, 5–9 → −1), a seeded random split, unit-norm centred inputs:
    :func:`selfdistill.data.digits.binary_split`, the one digits loader, with dong2019's classes.

    Parameters
    ----------
    n_train : int
        Training images, in ``[50, 1500]``.
    seed : int
        Seed of the shuffle (NumPy ``default_rng``), in ``[0, SEED_MAX]``.
    device : torch.device or str
        Where the tensors live.
    n_test : int, optional
        The next ``n_test`` of the shuffled 1797 images, in ``[1, 1797 − n_train]``; default all
        the rest.

    Returns
    -------
    DigitsSplit

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    >>> split = digits_binary(100, 0, n_test=20)
    >>> tuple(split.x_train.shape), tuple(split.x_test.shape)
    ((100, 64), (20, 64))
    """
    return binary_split(n_train, seed, device, n_test)


@dataclass(frozen=True)
class SDHistory:
    """Per-epoch records of a batch of runs (:func:`train_noisy_arms`); arrays are NumPy float64,
    runs ordered (seed, arm): run ``s * len(arms) + k`` is the s-th seed, arm k.

    Attributes
    ----------
    test_acc : numpy.ndarray
        ``(R, E + 1)`` test accuracy after each epoch (column 0: the initial net).
    clean_fit, noisy_fit : numpy.ndarray
        ``(R, E + 1)`` agreement of the training outputs' signs with the given labels on the clean
        and on the corrupted subsets (memorisation = noisy_fit → 1).
    corrected : numpy.ndarray
        ``(R,)`` fraction of training labels whose final target has the true sign.
    flip_rate : numpy.ndarray
        ``(R,)`` realised fraction of flipped training labels.
    alphas : numpy.ndarray
        ``(E,)`` α_t of the schedule (evaluated at accuracy 0.5 for an adaptive one).
    arms : tuple of str
        The arms, in order.
    seed_values : tuple of int
        The seeds used (``seed, seed + 1, …``), in order.
    """

    test_acc: np.ndarray
    clean_fit: np.ndarray
    noisy_fit: np.ndarray
    corrected: np.ndarray
    flip_rate: np.ndarray
    alphas: np.ndarray
    arms: tuple[str, ...]
    seed_values: tuple[int, ...]

    def by_arm(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Split an ``(R, ...)`` array into ``{arm: (seeds, ...)}``."""
        shaped = values.reshape(len(self.seed_values), len(self.arms), *values.shape[1:])
        return {arm: shaped[:, k] for k, arm in enumerate(self.arms)}


@validate_params(rate=Real(0.0, 0.5, upper_open=True), seeds=Integer(1, 1000), width=Integer(2),
                 epochs=Integer(1), n_train=Integer(50, 1500),
                 lr=Real(0.0, 2.0, lower_open=True, upper_open=True), n_test=Integer(1, 1747),
                 seed=Seed())
def train_noisy_arms(rate: float, seeds: int, arms: Sequence[str],
                     schedule: Callable[..., float], width: int, epochs: int, n_train: int,
                     lr: float, n_test: int = 400, device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float32, *, seed: int = 0) -> SDHistory:
    """Train every (seed, arm) pair by full-batch GD with binary label flips at ``rate``.

    Seed ``s`` (``seed, seed + 1, …``) fixes the split (:func:`digits_binary`), the flips
    (generator seeded ``10 000 + s``) and the initialisation. The runs are batched by hand (about
    4× faster on a CPU than one :func:`selfdistill.dong2019.gd.train_full_batch_gd` run per pair);
    the tests check that both give the same trajectories.

    Parameters
    ----------
    rate : float
        Flip probability in ``[0, 0.5)``.
    seeds : int
        Number of seeds, in ``[1, 1000]``.
    arms : sequence of str
        Each in ``ARMS``: ``"plain"`` (the noisy labels) or a rule ``"A"``, ``"B"``, ``"C"``.
    schedule : callable
        ``schedule(t, accuracy) -> α_t`` (accuracy on the noisy labels).
    width : int
        Hidden units, ≥ 2.
    epochs : int
        GD steps, ≥ 1.
    n_train : int
        Training images, in ``[50, 1500]``.
    lr : float
        Step size in units of ``1/λ_max`` of the infinite-width NTK Gram matrix of the training
        inputs, in ``(0, 2)`` (where GD converges in the kernel regime).
    n_test : int
        Test images, in ``[1, 1797 − n_train]``.
    device : torch.device or str
        Where the runs go.
    dtype : torch.dtype
        Floating dtype of the nets.
    seed : int
        The first seed, in ``[0, SEED_MAX − seeds + 1]``.

    Returns
    -------
    SDHistory

    Raises
    ------
    ValueError
        If an argument is outside its range or an arm is unknown.
    """
    from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_infinite

    for arm in arms:
        check_choice("arms", arm, ARMS)
    check_int("seed", seed, 0, SEED_MAX - seeds + 1)
    seed_list = list(range(seed, seed + seeds))
    splits = [digits_binary(n_train, s, device, n_test) for s in seed_list]
    flips = [binary_flip(sp.y_train, rate, torch.Generator().manual_seed(10_000 + s))
             for sp, s in zip(splits, seed_list, strict=True)]
    rep = len(arms)
    X = torch.stack([sp.x_train for sp in splits]).repeat_interleave(rep, 0).to(dtype)
    Xt = torch.stack([sp.x_test for sp in splits]).repeat_interleave(rep, 0).to(dtype)
    yt = torch.stack([sp.y_test for sp in splits]).repeat_interleave(rep, 0).to(dtype)
    noisy = torch.stack([f.noisy for f in flips]).repeat_interleave(rep, 0).to(dtype)
    wrong = torch.stack([f.corrupted for f in flips]).repeat_interleave(rep, 0)
    clean = torch.stack([f.clean for f in flips]).repeat_interleave(rep, 0).to(dtype)
    lam_max = torch.stack([torch.linalg.eigvalsh(ntk_infinite(sp.x_train))[-1] for sp in splits])
    step = (lr / lam_max).repeat_interleave(rep).to(dtype)[:, None, None]
    nets = [TwoLayerReLU(X.shape[2], width, seed=s, symmetric=True, dtype=dtype, device=device)
            for s in seed_list for _ in arms]
    W = torch.stack([net.W.detach() for net in nets])  # (R, m, d)
    a = torch.stack([net.a.detach() for net in nets])  # (R, m)
    arm_rows = {arm: torch.arange(k, len(nets), rep) for k, arm in enumerate(arms)}
    targets, u = noisy.clone(), batched_forward(W, a, X)
    records: dict[str, list[torch.Tensor]] = {"test": [], "clean": [], "noisy": []}
    alphas: list[float] = []

    def record(u_now):
        records["test"].append((hard_labels_rows(batched_forward(W, a, Xt)) == yt).double()
                               .mean(1))
        agree = hard_labels_rows(u_now) == noisy
        records["clean"].append(_masked_mean(agree, ~wrong))
        records["noisy"].append(_masked_mean(agree, wrong))

    with cpu_threads(1):  # many small batched products: threads only cost here
        record(u)
        for t in range(epochs):
            acc = (hard_labels_rows(u) == noisy).double().mean(1).tolist()
            new = targets.clone()
            for arm, rows in arm_rows.items():
                if arm == "plain":
                    new[rows] = noisy[rows]
                    continue
                for r in rows.tolist():  # α_t may differ per run (the adaptive schedule)
                    alpha = schedule(t, acc[r]) if t else 0.0
                    new[r] = rule_target(arm, noisy[r], targets[r], u[r], alpha)
            alphas.append(schedule(t, 0.5) if t else 0.0)
            targets = new
            W = W - step * batched_grad(W, a, X, u - targets)
            u = batched_forward(W, a, X)
            record(u)
    corrected = (hard_labels_rows(targets) == clean).double().mean(1)
    return SDHistory(*(torch.stack(records[k], 1).cpu().numpy() for k in ("test", "clean",
                                                                             "noisy")),
                     corrected.cpu().numpy(), wrong.double().mean(1).cpu().numpy(),
                     np.array(alphas), tuple(arms), tuple(seed_list))


def batched_forward(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """R two-layer nets at once: ``relu(X Wᵀ) a / √m``.

    Parameters
    ----------
    W : torch.Tensor
        First layers ``(R, m, d)``.
    a : torch.Tensor
        Output weights ``(R, m)``.
    X : torch.Tensor
        Inputs ``(R, n, d)``; all three of one dtype and device.

    Returns
    -------
    torch.Tensor
        Outputs ``(R, n)``.
    """
    m = W.shape[1]
    return torch.bmm(torch.relu(torch.bmm(X, W.transpose(1, 2))), a[:, :, None])[..., 0] / m**0.5


def batched_grad(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor,
                 residual: torch.Tensor) -> torch.Tensor:
    """Gradient in W of ``½‖f(X) − ŷ‖²`` for R nets, by hand (tests check it against autograd):
    ``∂/∂w_r = (a_r/√m) Σ_i res_i 1{w_rᵀx_i ≥ 0} x_i``.

    Parameters
    ----------
    W, a, X : torch.Tensor
        As in :func:`batched_forward`.
    residual : torch.Tensor
        ``f(X) − ŷ``, shape ``(R, n)``.

    Returns
    -------
    torch.Tensor
        Shape ``(R, m, d)``, like ``W``.
    """
    m = W.shape[1]
    active = (torch.bmm(X, W.transpose(1, 2)) >= 0).to(X.dtype)  # (R, n, m)
    weights = active * residual[:, :, None] * a[:, None, :] / m**0.5
    return torch.bmm(weights.transpose(1, 2), X)


def hard_labels_rows(u: torch.Tensor) -> torch.Tensor:
    """Signs ±1 of a batch of single-output predictions (R, n); a tie maps to +1."""
    return hard_labels(u.reshape(-1)).reshape(u.shape)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values & mask).sum(1).double() / mask.sum(1).clamp_min(1).double()
