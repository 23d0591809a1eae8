"""dong2019's deep-network arms under label noise (selfdistill.dong2019.deep)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import TINY_TRAINING

from selfdistill.dong2019.deep import noisy_label_arms


@pytest.mark.slow
def test_noisy_label_arms_rows(digits):
    rows = noisy_label_arms(replace(TINY_TRAINING, epochs=3), digits, "pair", 0.4, 1,
                                        warmup=1, ramp=1)
    assert [r["arm"] for r in rows] == ["ce", "distil", "sd-A", "sd-B", "sd-C"]
    assert all(len(r["test"]) == 3 and len(r["corrupt"]) == 3 for r in rows)
    assert abs(rows[0]["realised_rate"] - 0.4) < 0.15
    with pytest.raises(ValueError, match="noise"):
        noisy_label_arms(TINY_TRAINING, digits, "uniform", 0.4, 1)


def test_noisy_label_arms_converged_teacher(digits):
    rows = noisy_label_arms(replace(TINY_TRAINING, epochs=3), digits, "symmetric",
                                        0.4, 1, warmup=1, ramp=1, rules=("B",),
                                        teachers=("best", "last"))
    assert [r["arm"] for r in rows] == ["ce", "distil", "distil-last", "sd-B"]
    with pytest.raises(ValueError, match="teachers"):
        noisy_label_arms(TINY_TRAINING, digits, "pair", 0.4, 1, teachers=("first",))
    with pytest.raises(ValueError, match="rules"):
        noisy_label_arms(TINY_TRAINING, digits, "pair", 0.4, 1, rules=("D",))
