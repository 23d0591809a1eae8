"""Every figure function of ``selfdistill.plots`` called once on small synthetic inputs shaped like
the chapters' (ranges included: log axes spanning under a decade, curves that fill the axes), so
that the figure tests can render each and measure it."""

from __future__ import annotations

import types

import numpy as np
import torch


def _stats(mean: float):
    return {"train_mse": (mean, 0.01), "test_acc": (mean, 0.02), "train_acc": (mean, 0.01),
            "acc": (mean, 0.01), "ece": (0.05, 0.01), "entropy": (0.3, 0.05)}


def _sweep(kappa: float):
    r0 = np.linspace(1.1, 4.0, 12)
    return types.SimpleNamespace(r0=r0, lower_notes=(r0 - 1) / kappa,
                                 upper=np.ceil(kappa * (r0 - 1)), lower=np.ceil(r0 - 1),
                                 count=np.ceil(r0 - 1), kappa=kappa)


def _mobahi(rng):
    from selfdistill.plots import mobahi2020 as plots

    x = np.linspace(0, 1, 11)
    grid = np.linspace(0, 1, 200)
    d = np.geomspace(0.055, 0.85, 12)  # the toy Gram matrix's eigenvalues: 1.2 decades
    B = np.array([d ** (t / 3) * 0.9 ** t for t in range(8)])
    t = np.arange(8)
    eps = np.geomspace(1e-3, 0.3, 9)
    ratio = types.SimpleNamespace(eps=eps, one_fit=1.3 + 0 * eps, at_guaranteed=1.1 + eps,
                                  last=0.9 + eps)
    c_sweep = types.SimpleNamespace(eps=eps, c=0.05 * eps ** 0.3, lower=0.04 * eps ** 0.3,
                                    upper=0.07 * eps ** 0.3, collapse_eps=0.2)
    study = types.SimpleNamespace(h=np.geomspace(1e-3, 1e-2, 5), err_f=np.geomspace(1e-6, 1e-4, 5),
                                  err_c=np.geomspace(2e-7, 2e-5, 5))
    spec = types.SimpleNamespace(n_rounds=6, norms=lambda: torch.linspace(1.0, 0.2, 7),
                                 c=torch.logspace(-0.5, -0.3, 6, dtype=torch.float64))
    refit = types.SimpleNamespace(y=torch.linspace(1.0, 0.2, 7)[:, None] * torch.ones(7, 11)
                                  / 11 ** 0.5, c=spec.c)
    table = {k: rng.random((3, 6)) for k in ("mse_labels", "shrink", "epochs", "test_acc",
                                             "train_acc")}
    panels = {f"design {i}": {tuning: {arm: (1.0 + i, 0.9 + i, 1.1 + i) for arm in ("one fit",
                                                                                 "rounds")}
                             for tuning in ("oracle", "honest")} for i in range(2)}
    fits = {"$f_7$": 0.02 * np.sin(2 * np.pi * grid), "best single fit": 0.018 * np.sin(
        2 * np.pi * grid), "same training error": 0.015 * np.sin(2 * np.pi * grid)}
    return {
        "plot_fits": lambda: plots.plot_fits(x, np.sin(x), grid, {"round 1": np.sin(grid),
                                             "round 2": 0.8 * np.sin(grid)}, np.sin(grid)),
        "plot_fits_zoomed": lambda: plots.plot_fits_zoomed(
            x, np.sin(2 * np.pi * x) + 0.3, grid, fits, np.sin(2 * np.pi * grid)),
        "plot_alignment": lambda: plots.plot_alignment({"top 1": rng.random(6),
                                                        "top 3": rng.random(6)}),
        "plot_b_diagonals": lambda: plots.plot_b_diagonals(B, d),
        "plot_sparsity_vs_eps": lambda: plots.plot_sparsity_vs_eps(
            np.logspace(-3, -1, 6), np.arange(6), np.arange(6) + 1.0, "count"),
        "plot_collapse_sweeps": lambda: plots.plot_collapse_sweeps(
            {f"kernel {i}": _sweep(1.5 + i) for i in range(5)}),
        "plot_norms_and_c": lambda: plots.plot_norms_and_c(spec, refit, 0.01, 11),
        "plot_ratio_bounds": lambda: plots.plot_ratio_bounds(
            0.9 ** t * 2, 0.8 ** t * 2, 0.95 ** t * 2.2, "pair (0, 11)"),
        "plot_counts": lambda: plots.plot_counts({"n_tau": 12 - t, "participation": 10 - t}),
        "plot_tolerance_rounds": lambda: plots.plot_tolerance_rounds(table),
        "plot_ratio_vs_eps": lambda: plots.plot_ratio_vs_eps(ratio, 1.2 + 0 * eps, 1.25),
        "plot_alignment_vs_eps": lambda: plots.plot_alignment_vs_eps(eps, 0.5 + eps, 0.4),
        "plot_c_of_eps": lambda: plots.plot_c_of_eps(c_sweep),
        "plot_convergence": lambda: plots.plot_convergence(study, 0.2),
        "plot_domain": lambda: plots.plot_domain(np.linspace(0, 1, 6), np.exp(-10 * np.linspace(
            0, 1, 6)), 0.2),
        "plot_arm_errors": lambda: plots.plot_arm_errors(panels),
        "plot_filters": lambda: plots.plot_filters(d, B, d / (d + 0.1), 0.1),
        "plot_pair_ratios": lambda: plots.plot_pair_ratios(1.2 * 0.85 ** t, 0.6 ** t,
                                                           1.25 * 0.98 ** t),
        "plot_residuals": lambda: plots.plot_residuals(np.r_[1e-10, np.geomspace(0.01, 0.3, 7)],
                                                       np.r_[1e-16, np.geomspace(0.012, 0.3, 7)],
                                                       np.r_[0, 0, np.linspace(0.3, 1, 6)]),
        "plot_equivalent_over_rounds": lambda: plots.plot_equivalent_over_rounds(
            0.5 ** t, 10 * 0.8 ** t, 0.3 * 0.7 ** t, 0.2 + 0.01 * t),
        "plot_errors_over_rounds": lambda: plots.plot_errors_over_rounds(
            {"ε = 0.01": (0.2 - 0.01 * t, 0.05 + 0.02 * t)}),
        "plot_error_grid": lambda: plots.plot_error_grid(  # dip, then rise until collapse
            {f"kernel {k}, ε = {e}": 1 - 0.2 * np.sin(np.pi * s) + 2.2 * s**3
             for k, row in (("a", (11, 7, 5)), ("b", (12, 8, 6)))
             for e, n in zip((0.005, 0.01, 0.02), row, strict=True)
             for s in [np.arange(n) / (n - 1)]}),
    }


def _dong(rng):
    from selfdistill.plots import dong2019 as plots

    arms = ("plain", "A", "B", "C")
    lam = np.geomspace(1e-3, 1, 40)
    steps = np.arange(100)
    predicted = np.exp(-np.outer(steps, [0.5, 0.1, 0.02, 0.001]))
    curve = types.SimpleNamespace(bias=np.exp(-steps / 20), variance=1 - np.exp(-steps / 20),
                                  total=np.ones(100))
    return {
        "dong.plot_filters": lambda: plots.plot_filters(
            lam, {"gradient descent": 1 - np.exp(-100 * lam), "ridge": lam / (lam + 0.01)}),
        "plot_kernel_sd": lambda: plots.plot_kernel_sd(  # distances falling to their levels
            {f"{a} run": level + 10 * np.exp(-np.arange(600) / 3.0)
             for a, level in zip(arms, (8.0, 7.2, 0.3, 7.2), strict=True)}, 7.0),
        "plot_width_gap": lambda: plots.plot_width_gap([10, 100, 1000], rng.random((3, 3))),
        "plot_width_scaling": lambda: plots.plot_width_scaling(
            np.array([64, 128, 256, 512]), 0.3 / np.sqrt([64, 128, 256, 512]), -0.5,
            np.log(0.3)),
        "plot_energy_profiles": lambda: plots.plot_energy_profiles(
            {"labels": np.sqrt(np.linspace(0, 1, 50)), "noise": np.linspace(0, 1, 50)}),
        "plot_spectra": lambda: plots.plot_spectra({"NTK": np.geomspace(10, 1e-3, 50)}),
        "plot_residual_decay": lambda: plots.plot_residual_decay(
            steps, predicted * 1.01, predicted, [f"$i={i}$" for i in (1, 3, 9, 31)]),
        "plot_risk_curve": lambda: plots.plot_risk_curve(
            steps, curve, np.ones(100), 0.01 * np.ones(100), 40, every=10),
    }


def _zhang(rng):
    from selfdistill.plots import zhang2020 as plots

    n = np.array([100, 200, 400, 800, 1600])
    rel = types.SimpleNamespace(edges=np.linspace(0, 1, 11), accuracy=np.linspace(0.05, 0.95, 10))
    rows = [{"method": m, "seed": s, "acc": 0.9 + 0.01 * rng.random(), "ece": 0.05}
            for m in ("CE", "LS", "beta") for s in range(3)]
    students = [{"teacher": t, "T": 2.0, "acc": 0.9 + 0.01 * rng.random()}
                for t in ("none", "CE", "LS") for _ in range(3)]
    return {
        "plot_targets": lambda: plots.plot_targets(
            {"one-hot smoothing": np.r_[0.91, np.full(9, 0.01)],
             "beta": np.r_[0.8, rng.dirichlet(np.ones(9)) * 0.2]}, 0),
        "plot_map_check": lambda: plots.plot_map_check(np.geomspace(1e-3, 1, 20),
                                                       np.geomspace(1e-3, 1, 20)),
        "plot_diversity": lambda: plots.plot_diversity(
            {"LS": rng.beta(8, 1, 500), "beta": rng.beta(3, 1, 500)}, np.array([5, 10, 20, 40]),
            {"LS": np.log([5, 10, 20, 40]) * 0.2, "beta": np.log([5, 10, 20, 40])}),
        "plot_order_statistics": lambda: plots.plot_order_statistics(
            np.linspace(0.2, 0.99, 30), np.linspace(0.2, 0.99, 30), np.full(30, 0.01),
            np.linspace(0.21, 0.99, 30)),
        "plot_smoothing_amounts": lambda: plots.plot_smoothing_amounts(rng.random(50),
                                                                       rng.random(50)),
        "plot_reliability": lambda: plots.plot_reliability({"calibrated": rel,
                                                            "over-confident": rel}),
        "plot_ece_vs_n": lambda: plots.plot_ece_vs_n(
            n, {"calibrated": 0.3 / np.sqrt(n), "over-confident": 0.05 + 0.3 / np.sqrt(n)},
            {"calibrated": 0.01 / np.sqrt(n), "over-confident": 0.01 / np.sqrt(n)},
            0.3 / np.sqrt(n), 0.05),
        "plot_generation_metrics": lambda: plots.plot_generation_metrics(
            rows, ["CE", "LS", "beta"], {"acc": "test accuracy", "ece": "ECE"}),
        "plot_teacher_students": lambda: plots.plot_teacher_students(students, [2.0]),
    }


def _training(rng):
    from selfdistill.plots import training as plots

    arms = ("plain", "A", "B", "C")
    epochs = np.arange(1, 31)
    rise = 1 - np.exp(-epochs / 4)  # accuracies rise over the epochs, as they do when trained
    rows = [{"arm": a, "seed": 0, "test": 0.1 + (0.6 + 0.05 * i) * rise,
             "corrupt": 0.1 + (0.5 - 0.1 * i) * rise, "memorised": 0.1 + 0.05 * i * rise}
            for i, a in enumerate(arms)]
    return {
        "plot_rounds": lambda: plots.plot_rounds({t: _stats(0.9) for t in range(4)}),
        "plot_noisy_curves": lambda: plots.plot_noisy_curves(rows, arms),
        "plot_noisy_summary": lambda: plots.plot_noisy_summary(  # the tallest bars near 1
            {s: {a: {"last_acc": (m, 0.01)} for a, m in zip(arms, means, strict=True)}
             for s, means in (("sym 0.2", (0.89, 0.93, 0.92, 0.96)),
                              ("sym 0.4", (0.80, 0.89, 0.83, 0.94)))}, arms),
    }


def figures() -> dict:
    """Figure name → zero-argument callable drawing it (fresh inputs from a fixed seed)."""
    rng = np.random.default_rng(0)
    return {**_mobahi(rng), **_dong(rng), **_zhang(rng), **_training(rng)}


def figure_of(result):
    """The figure of what a plot function returned (a figure, axes, or an array of axes)."""
    if hasattr(result, "canvas"):
        return result
    if hasattr(result, "figure"):
        return result.figure
    return np.ravel(result)[0].figure
