"""The library refuses what it cannot compute (issue 14 §7): each case raises ``ValueError`` naming
the parameter, its value or what is wrong with it, and the accepted range, before any work; none
returns NaN, drops an imaginary part, clips, or fails later with an unrelated error."""

from __future__ import annotations

import hashlib
import math
import pickle

import numpy as np
import pytest
import torch

from selfdistill.data.cifar import read_cifar
from selfdistill.dong2019 import sd_rules as noisy_targets
from selfdistill.mobahi2020 import greens_fit, hilbert, kernels, oracles, rounds, spectral
from selfdistill.zhang2020 import metrics, smoothing, targets

F64 = torch.float64
X = np.linspace(0.0, 1.0, 6)
Y = np.sin(3 * X)
KERNEL = kernels.ExponentialKernel(0.3)
G = hilbert.gram(KERNEL, torch.tensor(X))
BASIS = hilbert.eigenbasis(G)
YT = torch.tensor(Y)
LABELS = torch.tensor([0, 1])
NAN_LOGITS = torch.tensor([[0.0, math.nan], [1.0, 2.0]])
INF_LOGITS = torch.tensor([[0.0, math.inf], [1.0, 2.0]])


def _z_with_norm(sq: float) -> torch.Tensor:
    return BASIS.coords(YT * math.sqrt(sq / float(YT @ YT)))


CASES = {
    # --- the cases
    "self_distill complex y0": (lambda: rounds.self_distill(BASIS, YT + 1j, 0.01),
                                r"^y0 is complex; accepted: real numbers only"),
    "sd_target NaN teacher logits": (lambda: targets.sd_target(LABELS, NAN_LOGITS),
                                     r"^teacher_logits has 1 non-finite entries"),
    "soft_cross_entropy NaN logits": (
        lambda: targets.amortized_map_loss(NAN_LOGITS, LABELS, torch.ones(2, 2)),
        r"^logits has 1 non-finite entries"),
    "bin_index NaN": (lambda: metrics.bin_index(torch.tensor([0.5, math.nan]), 10),
                      r"^values has 1 entries outside \[0, 1\] .*nan; accepted: confidences"),
    "bin_index above 1": (lambda: metrics.bin_index(torch.tensor([1.5]), 10),
                          r"^values has 1 entries outside \[0, 1\] .*1\.5"),
    "bin_index below 0": (lambda: metrics.bin_index(torch.tensor([-0.25]), 10),
                          r"^values has 1 entries outside \[0, 1\] .*-0\.25"),
    "solve_c inconsistent y_sq_norm": (
        lambda: hilbert.solve_c(BASIS, _z_with_norm(5.0), 0.01, y_sq_norm=1e6),
        r"^y_sq_norm = 1000000\.0 is not ‖y‖² of these targets: ‖z‖² = 5; accepted: within"),
    "squared_norm NaN": (lambda: hilbert.squared_norm(np.array([1.0, np.nan])),
                         r"^y has 1 non-finite entries"),
    "squared_norm empty": (lambda: hilbert.squared_norm(np.array([])),
                           r"^y has shape \(0,\) with no entries; accepted: at least one"),
    "effective_count NaN": (lambda: rounds.effective_count(torch.tensor([1.0, math.nan])),
                            r"^b has 1 non-finite entries"),
    "effective_count empty": (lambda: rounds.effective_count(torch.tensor([])),
                              r"^b has shape \(0,\) with no weights; accepted: K ≥ 1"),
    "fit_greens y (K, 0)": (
        lambda: greens_fit.fit_greens(KERNEL, X, np.zeros((6, 0)), 0.01, device="cpu"),
        r"^y has shape \(6, 0\) with no columns; accepted: \(K,\) or \(K, n\) with n ≥ 1"),
    "eigenbasis empty": (lambda: hilbert.eigenbasis(torch.empty(0, 0, dtype=F64)),
                         r"^G has shape \(0, 0\); accepted: K × K with K ≥ 1"),
    "collapse_threshold empty": (lambda: hilbert.collapse_threshold(np.array([])),
                                 r"^y has shape \(0,\) with no entries"),
    "self_distill on G": (lambda: rounds.self_distill(G, YT, 0.01),
                          r"^basis = a tensor of shape \(6, 6\) is not an Eigenbasis; accepted: "
                          r"eigenbasis\(G\)"),
    "ExponentialKernel string": (lambda: kernels.ExponentialKernel("0.1"),
                                 r"^length = '0\.1' is a str, not a real number; accepted: a "
                                 r"real number in \(0, inf\)"),
    # --- more of the same kind
    "self_distill complex NumPy y0": (lambda: rounds.self_distill(BASIS, Y + 1j, 0.01),
                                      r"^y0 is complex"),
    "self_distill_fixed_c complex y0": (
        lambda: rounds.self_distill_fixed_c(BASIS, YT + 1j, 1.0, 3), r"^y0 is complex"),
    "self_distill_fixed_c on G": (lambda: rounds.self_distill_fixed_c(G, YT, 1.0, 3),
                                  r"^basis = a tensor of shape \(6, 6\) is not an Eigenbasis"),
    "self_distill y0 (K, 0)": (lambda: rounds.self_distill(BASIS, torch.zeros(6, 0, dtype=F64),
                                                           0.01),
                               r"^y0 has shape \(6, 0\) with no columns"),
    "refit_rounds complex G": (lambda: oracles.refit_rounds(G + 0j, YT, 0.01, rounds=2),
                               r"^G = a complex tensor is not accepted; accepted: a real"),
    "refit_rounds NumPy G": (lambda: oracles.refit_rounds(G.numpy(), YT, 0.01, rounds=2),
                             r"^G = ndarray is not accepted"),
    "refit_rounds complex y0": (lambda: oracles.refit_rounds(G, Y + 1j, 0.01, rounds=2),
                                r"^y0 is complex"),
    "fit_greens x (K, 0)": (
        lambda: greens_fit.fit_greens(kernels.GaussianKernel(0.3), np.zeros((6, 0)), Y, 0.01,
                                   device="cpu"),
        r"^x has shape \(6, 0\) with no columns"),
    "squared_norm complex": (lambda: hilbert.squared_norm(np.array([1 + 1j])),
                             r"^y is complex"),
    "squared_norm inf": (lambda: hilbert.squared_norm(torch.tensor([1.0, math.inf])),
                         r"^y has 1 non-finite entries"),
    "collapse_threshold 0-d": (lambda: hilbert.collapse_threshold(np.float64(3.0)),
                               r"^y has shape \(\) \(0 dimensions\)"),
    "collapse_threshold NaN": (lambda: hilbert.collapse_threshold(np.array([1.0, np.nan])),
                               r"^y has 1 non-finite entries"),
    "solve_c y_sq_norm 0 for non-zero z": (
        lambda: hilbert.solve_c(BASIS, BASIS.coords(YT), 0.01, y_sq_norm=0.0),
        r"^y_sq_norm = 0\.0 is not ‖y‖² of these targets"),
    "GaussianKernel bool": (lambda: kernels.GaussianKernel(True),
                            r"^width = True is a bool, not a real number"),
    "GaussianKernel string": (lambda: kernels.GaussianKernel("1"), r"^width = '1' is a str"),
    "Neumann lower string": (lambda: kernels.NeumannExponentialKernel(0.1, "0", 1.0),
                             r"^lower = '0' is a str"),
    "kernel_by_name string width": (lambda: kernels.kernel_by_name("gaussian", "0.3"),
                                    r"^width = '0\.3' is a str"),
    "bin_index inf": (lambda: metrics.bin_index(torch.tensor([math.inf]), 10),
                      r"^values has 1 entries outside \[0, 1\]"),
    "bin_index list": (lambda: metrics.bin_index([0.5], 10),
                       r"^values = list is not accepted; accepted: a real tensor in \[0, 1\]"),
    "effective_count inf": (lambda: rounds.effective_count(torch.tensor([1.0, math.inf])),
                            r"^b has 1 non-finite entries"),
    "effective_count (n, 0)": (lambda: rounds.effective_count(torch.zeros(3, 0)),
                               r"^b has shape \(3, 0\) with no weights"),
    "effective_count complex": (lambda: rounds.effective_count(torch.tensor([1 + 1j, 1.0])),
                                r"^b = a torch\.complex64 tensor is not accepted"),
    "sd_target inf teacher logits": (lambda: targets.sd_target(LABELS, INF_LOGITS),
                                     r"^teacher_logits has 1 non-finite entries"),
    "sd_loss NaN logits": (lambda: targets.sd_loss(NAN_LOGITS, LABELS, torch.zeros(2, 2)),
                           r"^logits has 1 non-finite entries"),
    "soft_cross_entropy NaN target": (
        lambda: targets.amortized_map_loss(torch.zeros(2, 2), LABELS,
                                           torch.tensor([[math.nan, 1.0], [1.5, 1.0]])),
        r"^gamma has 1 non-finite entries"),
    "label_smoothing_loss NaN logits": (
        lambda: targets.label_smoothing_loss(NAN_LOGITS, LABELS, 0.1),
        r"^logits has 1 non-finite entries"),
    "teacher_probs NaN logits": (lambda: targets.teacher_probs(NAN_LOGITS),
                                 r"^teacher_logits has 1 non-finite entries"),
    "beta_smoothing_amounts NaN": (
        lambda: smoothing.beta_smoothing_amounts(torch.tensor([0.2, math.nan, 0.5])),
        r"^confidence has 1 non-finite entries"),
    "noisy soft_target NaN": (
        lambda: noisy_targets.soft_target(torch.tensor([1.0, math.nan]), torch.zeros(2), 0.5),
        r"^noisy has 1 non-finite entries"),
    "noisy hard_labels NaN": (lambda: noisy_targets.hard_labels(torch.tensor([[math.nan, 1.0]])),
                              r"^p has 1 non-finite entries"),
    "noisy_accuracy NaN": (
        lambda: noisy_targets.noisy_accuracy(torch.tensor([math.nan, 1.0]), torch.ones(2)),
        r"^p has 1 non-finite entries"),
    "single_fit_filter NaN d": (
        lambda: spectral.single_fit_filter(torch.tensor([1.0, math.nan]), 1.0),
        r"^d has 1 non-finite entries"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_in_one_line_naming_the_parameter(case):
    call, pattern = CASES[case]
    with pytest.raises(ValueError, match=pattern) as info:
        call()
    assert "\n" not in str(info.value)


def test_solve_c_accepts_y_sq_norm_within_rounding_of_z():
    y = torch.tensor(Y)
    z = BASIS.coords(y)
    c = hilbert.solve_c(BASIS, z, 0.01, y_sq_norm=hilbert.squared_norm(y))
    assert c == hilbert.solve_c(BASIS, z, 0.01, y_sq_norm=hilbert.squared_norm(z))


def _cifar(root, images=4, labels=None, label=1, files=("data_batch_1", "test_batch"),
           width=3072, key=b"labels", label_dtype=int):
    folder = root / "c"
    folder.mkdir()
    table = {"folder": "c"}
    for file in files:
        entry = {b"data": np.zeros((images, width), np.uint8),
                 key: [label_dtype(label)] * (images if labels is None else labels)}
        (folder / file).write_bytes(pickle.dumps(entry))
        table[file] = hashlib.md5((folder / file).read_bytes()).hexdigest()  # noqa: S324
    return table


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(images=100, labels=95), r"data_batch_1 holds 100 images but 95 labels; they must match"),
    (dict(label=99), r"data_batch_1 holds labels in \[99, 99\]; accepted: integers in \[0, 9\]"),
    (dict(label=-1), r"holds labels in \[-1, -1\]; accepted: integers in \[0, 9\]"),
    (dict(label_dtype=float), r"holds labels of shape \(4,\) and dtype float64; accepted"),
    (dict(width=3000), r"holds images of shape \(4, 3000\) .*accepted: uint8 rows of 3072"),
    (dict(key=b"fine_labels"), r"is not a CIFAR batch: it needs a dict with keys b'data' and "
                               r"b'labels'"),
    (dict(files=("data_batch_1",)), r"^checksums: the table names no test file"),
])
def test_cifar_reader_refuses_inconsistent_files(tmp_path, kwargs, pattern):
    table = _cifar(tmp_path, **kwargs)
    with pytest.raises(ValueError, match=pattern):
        read_cifar("cifar10", tmp_path, table)


def test_cifar_reader_accepts_a_consistent_custom_table(tmp_path):
    x_tr, y_tr, x_te, y_te = read_cifar("cifar10", tmp_path, _cifar(tmp_path, label=9))
    assert x_tr.shape == (4, 3, 32, 32) and y_tr.tolist() == [9] * 4 and y_te.dtype == np.int64
