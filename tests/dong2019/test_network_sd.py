"""Finite-width teacher and student (selfdistill.dong2019.network_sd)."""

from __future__ import annotations

import pytest
import torch

from selfdistill.dong2019.network_sd import student_teacher_gap


def _data(n=12, m=6, d=3):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n + m, d, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    return x[:n], torch.sign(x[:n, 0]), x[n:]


def test_seeds_is_a_count_and_the_gap_shrinks_with_width():
    X, y, Xt = _data()
    gaps = student_teacher_gap(X, y, Xt, [16, 4096], 2, 0.5, 20, 400)
    assert gaps.shape == (2, 2)
    assert (gaps[:, 1] < gaps[:, 0]).all()  # O(1/√m): 16× narrower spread at 256× the width


@pytest.mark.parametrize("kwargs,name", [(dict(seeds=[0, 1]), "seeds"), (dict(seeds=0), "seeds"),
                                         (dict(lr=0.0), "lr"), (dict(teacher_steps=0),
                                                                "teacher_steps")])
def test_bad_arguments_name_the_parameter(kwargs, name):
    X, y, Xt = _data()
    args = dict(seeds=1, lr=0.5, teacher_steps=5, student_steps=5) | kwargs
    with pytest.raises(ValueError, match=name):
        student_teacher_gap(X, y, Xt, [16], **args)
