"""Figures of the mobahi2020 chapters: each function draws one captioned figure's axes (or a row
of axes) and returns them; arrays or CPU tensors in, nothing computed here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from selfdistill.plots import style as plot_style  # noqa: F401 - importing applies the figure style

__all__ = [
    "plot_alignment",
    "plot_alignment_vs_eps",
    "plot_arm_errors",
    "plot_b_diagonals",
    "plot_c_of_eps",
    "plot_collapse_sweeps",
    "plot_convergence",
    "plot_counts",
    "plot_domain",
    "plot_equivalent_over_rounds",
    "plot_error_grid",
    "plot_errors_over_rounds",
    "plot_filters",
    "plot_fits",
    "plot_fits_zoomed",
    "plot_norms_and_c",
    "plot_pair_ratios",
    "plot_ratio_bounds",
    "plot_ratio_vs_eps",
    "plot_residuals",
    "plot_sparsity_vs_eps",
    "plot_tolerance_rounds",
]


def _np(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)


def plot_norms_and_c(spec, refit, eps: float, K: int):
    """Two panels: ``‖y_t‖`` with the collapse level ``√(Kε)``, and ``c_t``; both routes."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.4),
                             layout="constrained")
    t = np.arange(spec.n_rounds + 1)
    a.plot(t, _np(spec.norms()), "o-", label="spectral engine")
    a.plot(t, _np(refit.y.flatten(1).norm(dim=1)), "k+", ms=10, label="refit every round")
    a.axhline(np.sqrt(K * eps), color="C3", ls="--", label=r"collapse level $\sqrt{K\epsilon}$")
    a.set(xlabel="round $t$", ylabel=r"$\|\mathbf{y}_t\|$")
    b.semilogy(t[:-1], _np(spec.c), "o-", label="spectral engine")
    b.semilogy(t[:-1], _np(refit.c), "k+", ms=10, label="refit every round")
    b.set(xlabel="round $t$", ylabel="$c_t$")
    a.legend()
    b.legend()
    return fig


def _per_round(series: dict[str, np.ndarray], ax, dashed: tuple[str, ...] = (), **labels):
    """One line per entry of ``series`` over the rounds ``0, 1, …``, with a legend; each series
    its own marker, solid, or dashed where its label starts with one of ``dashed``."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.4, 3.6), layout="constrained")[1]
    for i, (label, values) in enumerate(series.items()):
        values = _np(values)
        ls = "--" if label.startswith(dashed) else "-"
        marker = plot_style.MARKERS[i % len(plot_style.MARKERS)]
        ax.plot(np.arange(len(values)), values, ls=ls, marker=marker, label=label)
    ax.set(xlabel="round $t$", **labels)
    ax.legend()
    return ax


def plot_alignment(align: dict[str, np.ndarray], ax=None):
    """``cos²`` between ``y_t`` and the top eigenvectors over rounds, one line per label; the
    fixed-``c`` comparison (labels starting "fixed") dashed, self-distillation solid."""
    return _per_round(align, ax, dashed=("fixed",),
                      ylabel=r"$\cos^2$ with the top eigenvectors", ylim=(0, 1.02))


def plot_b_diagonals(B, d):
    """``B_t[k,k]`` against the eigenvalue ``d_k`` for every round (log–log), and a heat map."""
    B, d = _np(B), _np(d)
    fig, (a, b) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.4),
                             layout="constrained")
    colours = plt.cm.viridis(np.linspace(0, 1, len(B)))
    for t, (row, colour) in enumerate(zip(B, colours, strict=True)):
        label = f"t = {t}" if t in (0, len(B) - 1) else None
        a.loglog(d, row, "o-", color=colour, ms=3, label=label)
    a.set(xlabel="eigenvalue $d_k$", ylabel=r"$\mathbf{B}_t[k,k]$")
    a.legend()
    rel = B / B.max(axis=1, keepdims=True)
    im = b.imshow(np.log10(rel[:, ::-1]), aspect="auto", cmap="magma", vmin=-3, vmax=0,
                  origin="lower", interpolation="nearest")
    b.set(xlabel="basis function (largest eigenvalue first)", ylabel="round $t$")
    fig.colorbar(im, ax=b, label=r"$\log_{10}\,\mathbf{B}_t[k,k]/\max_j\mathbf{B}_t[j,j]$")
    return fig


def plot_ratio_bounds(ratio, lower, upper, label: str, ax=None):
    """One pair's ``B_t[k,k]/B_t[j,j]`` over rounds between its bounds (thm-bt-ratio)."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.4, 3.6), layout="constrained")[1]
    t = np.arange(len(ratio))
    ax.fill_between(t, _np(lower), _np(upper), alpha=0.25, label="bounds of the ratio")
    ax.semilogy(t, _np(ratio), "o-", label=label)
    ax.set(xlabel="round $t$", ylabel="ratio of diagonal entries")
    ax.legend()
    return ax


def plot_counts(counts: dict[str, np.ndarray], ax=None):
    """Effective numbers of basis functions over rounds, one line per definition."""
    return _per_round(counts, ax, ylabel="effective number of basis functions")


def plot_sparsity_vs_eps(eps, rounds, counts, label: str):
    """Rounds before collapse and the count at the last non-collapsed round, against ``ε``."""
    fig, a = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    a.semilogx(eps, counts, "o-", label=label)
    a.set(xlabel=r"$\epsilon$", ylabel="count at the last round")
    b = a.twinx()
    b.semilogx(eps, rounds, "s--", color="C1", label=r"rounds before collapse $t_\star$")
    b.set(ylabel=r"$t_\star$")
    a.legend(handles=a.get_lines() + b.get_lines())
    return fig


def plot_collapse_sweeps(sweeps: dict[str, object]):
    """One panel per sweep: ``t⋆`` against ``r0`` with the bounds ``(r0−1)/κ``, ``⌈r0−1⌉``
    and ``⌈κ(r0−1)⌉``."""
    n = len(sweeps)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(plot_style.MAX_WIDTH_INCHES, 2.6 * rows + 0.6),
                             layout="constrained", squeeze=False)
    for ax, (title, s) in zip(axes.flat, sweeps.items(), strict=False):
        ax.fill_between(s.r0, s.lower_notes, s.upper, color="0.85", label="between the bounds")
        ax.plot(s.r0, s.upper, "C3-.", lw=1, label=r"$\lceil\kappa(r_0-1)\rceil$")
        ax.plot(s.r0, s.lower, "C2-", lw=1, label=r"$\lceil r_0-1\rceil$")
        ax.plot(s.r0, s.lower_notes, "C0--", lw=1, label=r"$(r_0-1)/\kappa$")
        ax.plot(s.r0, s.count, "k.", label=r"observed $t_\star$")
        top = max(3 * float(s.count.max()), 2.0)
        ax.set(xlabel="$r_0$", ylim=(0, top), title=f"{title}\nκ = {s.kappa:.3g}")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].set_ylabel(r"rounds before collapse $t_\star$")
    # one legend for all panels, below them: never over the data
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


def plot_tolerance_rounds(table: dict[str, np.ndarray]):
    """Three panels over the rounds, mean ± standard deviation over the seeds (rows of each
    ``(seeds, rounds)`` array of ``table``): ``mse_labels``; ``shrink`` with ``epochs`` on a
    second axis; ``test_acc`` and ``train_acc``."""
    fig, axes = plt.subplots(1, 3, figsize=(plot_style.MAX_WIDTH_INCHES, 3.0), layout="constrained")
    t = np.arange(table["mse_labels"].shape[1])

    def bar(ax, key, fmt, label=None, **kw):
        v = table[key]
        return ax.errorbar(t, v.mean(0), v.std(0, ddof=1), fmt=fmt, capsize=3,
                           label=label, **kw)

    bar(axes[0], "mse_labels", "o")
    axes[0].set(xlabel="round $t$", ylabel="training MSE to the labels $y_0$")
    bar(axes[1], "shrink", "o", r"$\|y_{t+1}\|/\|y_t\|$")
    axes[1].set(xlabel="round $t$", ylabel="shrink factor")
    twin = axes[1].twinx()
    bar(twin, "epochs", "s", "steps to reach $\\epsilon$", color="C1")
    twin.set_ylabel("steps to reach $\\epsilon$")
    # legends above their panels: the error bars fill the axes, and the next panel is to the right
    plot_style.legend_above(axes[1], handles=[axes[1].containers[0], twin.containers[0]])
    bar(axes[2], "test_acc", "o", "test (clean labels)")
    bar(axes[2], "train_acc", "^", "training (noisy labels)", color="C2")
    axes[2].set(xlabel="round $t$", ylabel="accuracy")
    plot_style.legend_above(axes[2])
    return axes


def plot_ratio_vs_eps(sweep, bound, limit: float, ax=None):
    """Weight ratio of a pair over a sweep of ε (a
    :class:`~selfdistill.mobahi2020.studies.RatioSweep`): one fit, the rounds at the guaranteed
    round and at the last round, the data-free ``bound``
    at the guaranteed round (shape ``(len(eps),)``) and its limit."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.loglog(sweep.eps, sweep.one_fit, "o", label="one fit (round 0)")
    ax.loglog(sweep.eps, bound, "k-", label="data-free bound, guaranteed round")
    ax.axhline(limit, color="0.4", ls="--", label=r"limit $e^{a-b}$")
    ax.loglog(sweep.eps, sweep.at_guaranteed, "s", label=r"rounds, after $\lceil r_0-1\rceil$")
    ax.loglog(sweep.eps, sweep.last, "^", label="rounds, last before collapse")
    ax.set(xlabel=r"$\epsilon$", ylabel=r"$\mathbf{B}_t[k,k]/\mathbf{B}_t[j,j]$")
    # below, in two columns: to the right the legend took half the width from the data
    plot_style.legend_below(ax, ncol=2)
    return ax


def plot_alignment_vs_eps(eps, final, start: float, ax=None):
    """cos² of the last round's targets with the top eigenvectors against ε (log axis), with the
    round-0 value ``start`` as a dashed line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    ax.semilogx(eps, final, "o", label="last round before collapse")
    ax.axhline(start, color="0.4", ls="--", label="round 0")
    ax.set(xlabel=r"$\epsilon$", ylabel="cos² with the top two eigenvectors", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    return ax


def plot_fits(x, y, grid, curves: dict[str, np.ndarray], truth=None, ax=None):
    """Training points and fitted curves on ``grid``; ``truth`` an optional noiseless curve."""
    ax = _axes(ax)
    if truth is not None:
        ax.plot(grid, truth, color="0.6", ls=":", label="noiseless truth")
    for label, values in curves.items():
        ax.plot(grid, values, label=label)
    ax.plot(x, y, "ko", ms=4, label="training data")
    ax.set(xlabel="$x$", ylabel="$f(x)$")
    ax.legend(ncol=2)
    return ax


def plot_fits_zoomed(x, y, grid, curves: dict[str, np.ndarray], truth=None):
    """Fits too close to tell apart at the scale of the data, in two panels.

    Left: the training points ``(x, y)``, the optional noiseless ``truth`` and the ``curves`` on
    ``grid``, with the band the right panel magnifies shaded; right: the curves alone, on their
    own vertical scale. Each curve keeps its colour and line style in both panels; one legend
    below them.

    Parameters
    ----------
    x, y : array_like, shape (K,)
        Training inputs and labels.
    grid : array_like, shape (n,)
        Where the curves are evaluated.
    curves : dict of str to array_like, shape (n,)
        Label → fitted values on ``grid`` (CPU tensors or arrays).
    truth : array_like, shape (n,), optional
        Noiseless target on ``grid``, drawn dotted grey on the left.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (2,)
        The whole-scale and the magnified panel.
    """
    fig, axes = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.4),
                             layout="constrained")
    whole, zoom = axes
    grid = _np(grid)
    values = {label: _np(v) for label, v in curves.items()}
    low = min(float(v.min()) for v in values.values())
    high = max(float(v.max()) for v in values.values())
    pad = 0.1 * (high - low) if high > low else 1e-3
    if truth is not None:
        whole.plot(grid, _np(truth), color="0.6", ls=":", label="noiseless truth")
    whole.axhspan(low - pad, high + pad, color="0.88", lw=0, label="range magnified, right")
    for i, (label, v) in enumerate(values.items()):
        style = {"color": plot_style.OKABE_ITO[i], "ls": plot_style.LINESTYLES[i]}
        whole.plot(grid, v, label=label, **style)
        zoom.plot(grid, v, **style)
    whole.plot(_np(x), _np(y), "ko", ms=4, label="training data")
    whole.set(xlabel="$x$", ylabel="$f(x)$", title="at the scale of the data")
    zoom.set(xlabel="$x$", ylim=(low - pad, high + pad), title="the fits magnified")
    fig.legend(*whole.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    return axes


def plot_c_of_eps(sweep, ax=None):
    """``c(ε)`` with its bounds c-bounds and the collapse threshold ``‖y‖²/K``."""
    ax = _axes(ax)
    ok = np.isfinite(sweep.c)
    ax.fill_between(sweep.eps[ok], sweep.lower[ok], sweep.upper[ok], alpha=0.25,
                    label=r"bounds $d_{\min}/(r-1)$, $d_{\max}/(r-1)$")
    ax.plot(sweep.eps[ok], sweep.c[ok], "C0-", label="$c$, the root for each $\\epsilon$")
    ax.axvline(sweep.collapse_eps, color="C3", ls="--", label=r"collapse: $\epsilon=\|y\|^2/K$")
    ax.set(xscale="log", yscale="log", xlabel=r"$\epsilon$", ylabel="$c$")
    ax.legend()
    return ax


def plot_convergence(study, length: float, ax=None):
    """Errors of the discretised solve vs grid spacing, with the ``(h/ℓ)²`` bound."""
    ax = _axes(ax)
    ax.loglog(study.h, study.err_f, "o-", label=r"$\max|f_h-f|/\max|f|$")
    ax.loglog(study.h, study.err_c, "s-", label=r"$|c_h-c|/c$")
    ax.loglog(study.h, (study.h / length) ** 2, "k--", label=r"bound $(h/\ell)^2$")
    ax.set(xlabel="grid spacing $h$", ylabel="relative error")
    ax.legend()
    return ax


def plot_domain(paddings, diff, length: float, ax=None):
    """Whole-line vs free-end kernel fits as the interval grows, with the ``exp(-2P/ℓ)`` rate."""
    ax = _axes(ax)
    ax.semilogy(paddings / length, diff, "o-", label="relative max difference")
    ref = diff[-1] * np.exp(-2 * (paddings - paddings[-1]) / length)
    ax.semilogy(paddings / length, ref, "k--", label=r"rate $e^{-2P/\ell}$")
    ax.set(xlabel=r"padding $P/\ell$", ylabel="relative difference")
    ax.legend()
    return ax


_MARKERS = {"oracle": plot_style.MARKERS[0], "honest": plot_style.MARKERS[1]}
_COLOURS = {"oracle": plot_style.OKABE_ITO[0], "honest": plot_style.OKABE_ITO[3]}


def plot_arm_errors(panels: dict[str, dict[str, dict[str, tuple[float, float, float]]]],
                    axes=None):
    """One panel per design; per arm, the mean test error and its interval, oracle and honest
    tuning side by side as points (the arms are categories: no lines join them).

    ``panels[design][tuning][arm] = (mean, low, high)``.
    """
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(6.4, 3.2), layout="constrained",
                               squeeze=False)
        axes = axes[0]
    for ax, (title, tunings) in zip(axes, panels.items(), strict=True):
        for offset, (tuning, arms) in zip((-0.12, 0.12), tunings.items(), strict=True):
            names = list(arms)
            mean = np.array([arms[a][0] for a in names])
            err = np.array([[arms[a][0] - arms[a][1], arms[a][2] - arms[a][0]] for a in names]).T
            ax.errorbar(np.arange(len(names)) + offset, mean, yerr=err, ls="none",
                        marker=_MARKERS[tuning], color=_COLOURS[tuning], capsize=3,
                        label=f"{tuning} tuning")
        ax.set_xticks(np.arange(len(names)), names)
        ax.set_title(title)
        ax.set_ylabel("test MSE")
    # below the panels, outside the data (constrained layout makes room for it)
    axes[0].figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                          ncol=2)
    return axes


def _axes(ax, ncols: int = 1):
    if ax is not None:
        return ax
    width = 6.4 if ncols == 1 else plot_style.MAX_WIDTH_INCHES
    return plt.subplots(1, ncols, figsize=(width, 3.8), layout="constrained")[1]


def plot_filters(d, B_rounds, best_filter, best_c: float, ax=None):
    """Diagonals of ``B_t`` per round against the eigenvalue ``d_k``, and the best single fit."""
    ax = _axes(ax)
    d, B = _np(d), _np(B_rounds)
    for t, b in enumerate(B):
        ax.loglog(d, b, "o-", ms=3, color=plt.cm.viridis(t / max(len(B) - 1, 1)),
                  label=f"$B_{{{t}}}$" if t in (0, len(B) - 1) or len(B) <= 6 else None)
    ax.loglog(d, _np(best_filter), "k--", label=f"best single fit $A(c)$, $c$ = {best_c:.3g}")
    ax.set(xlabel="eigenvalue $d_k$", ylabel="filter entry")
    ax.legend(ncol=2)
    return ax


def plot_pair_ratios(ratio_over_q, lower, upper, ax=None):
    """``(B_t[k]/B_t[j]) / (d_k/d_j)`` over rounds with its bounds (thm-bt-ratio); below 1: no
    single fit."""
    ax = _axes(ax)
    t = np.arange(len(ratio_over_q))
    ax.semilogy(t, ratio_over_q, "o-", label="rounds: $B_t[k]/B_t[j]$ over $d_k/d_j$")
    ax.semilogy(t, upper, "C1--", label=r"upper bound $\varphi(c_0)^{t+1}$ over $d_k/d_j$")
    ax.semilogy(t, lower, "C2:", label=r"lower bound $(d_k/d_j)^{t}$")
    ax.axhline(1.0, color="C3", lw=1, label=r"any single fit lies above this line")
    ax.set(xlabel="round $t$", ylabel="ratio over $d_k/d_j$")
    ax.legend()
    return ax


def plot_residuals(best, matched, fraction_below, ax=None):
    """Left: relative distance of the best and the matched single fit per round; right: the
    fraction of eigenvalue pairs whose ratio fell below ``d_k/d_j``."""
    ax = _axes(ax, 2)
    t = np.arange(len(best))
    ax[0].semilogy(t, np.maximum(best, 1e-16), "o-", label="best single fit (any $c$)")
    ax[0].semilogy(t, np.maximum(matched, 1e-16), "s-", label="same training error ($\\epsilon'$)")
    ax[0].set(xlabel="round $t$", ylabel="relative distance to $f_t(X)$")
    ax[0].legend()
    ax[1].plot(t, fraction_below, "o-", color="C3")
    ax[1].set(xlabel="round $t$", ylabel="fraction of pairs below $d_k/d_j$", ylim=(-0.03, 1.03))
    return ax


def plot_equivalent_over_rounds(norm_sq, trace, bound, test_error, ax=None):
    """Left: ``‖f_t‖²_{H†}`` and ``tr G†_t``; right: the Rademacher bound and the test error."""
    ax = _axes(ax, 2)
    t = np.arange(len(norm_sq))
    ax[0].semilogy(t, trace, "o-", label=r"$\mathrm{tr}\,G^\dagger_t$")
    ax[0].semilogy(t, norm_sq, "s-", label=r"$\|f_t\|^2_{H^\dagger}$")
    ax[0].set(xlabel="round $t$")
    ax[0].legend()
    label = r"bound $\|f_t\|_{H^\dagger}\sqrt{\mathrm{tr}\,G^\dagger_t/K}$"
    ax[1].plot(t, bound, "o-", label=label)
    ax[1].plot(t, test_error, "s-", label=r"test error against $\sin 2\pi x$")
    ax[1].set(xlabel="round $t$")
    ax[1].legend()
    return ax


def plot_errors_over_rounds(curves: dict[str, tuple[np.ndarray, np.ndarray]], ax=None):
    """Test error (solid) and training error against ``y0`` (dotted) over rounds, per label."""
    ax = _axes(ax)
    for i, (label, (test, train)) in enumerate(curves.items()):
        t = np.arange(len(test))
        ax.plot(t, test, "o-", color=f"C{i}", label=f"{label}: test")
        ax.plot(t, train, "s:", color=f"C{i}", ms=3, label=f"{label}: training")
    ax.set(xlabel="round $t$", ylabel="mean squared error")
    ax.legend()
    return ax


def plot_error_grid(curves: dict[str, np.ndarray], ax=None):
    """Test error over rounds for several kernels and budgets, each scaled by its round 0."""
    ax = _axes(ax)
    for i, (label, test) in enumerate(curves.items()):
        ax.plot(np.arange(len(test)), np.asarray(test) / test[0], ms=3, label=label,
                marker=plot_style.MARKERS[i % len(plot_style.MARKERS)])
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set(xlabel="round $t$", ylabel="test error / test error of round 0")
    # below the axes: the curves leave the top of the axes at every round, somewhere
    plot_style.legend_below(ax, ncol=2)
    return ax
