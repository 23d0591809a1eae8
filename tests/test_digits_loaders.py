"""One digits loader across packages: dong2019's two-class split is ``data.digits.binary_split``
bit for bit, so the lead can switch ``dong2019.digits_sd.digits_binary`` to it without changing a
golden output (issue 15)."""

from __future__ import annotations

import pytest
import torch

from selfdistill.data.digits import binary_split
from selfdistill.dong2019.digits_sd import digits_binary


@pytest.mark.parametrize(("n_train", "seed", "n_test"), [(50, 0, None), (600, 7, 400),
                                                         (1500, 2**32 - 1, 297)])
def test_dong2019_split_is_binary_split(n_train, seed, n_test):
    ours, theirs = binary_split(n_train, seed, n_test=n_test), digits_binary(n_train, seed,
                                                                            n_test=n_test)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(ours, key), getattr(theirs, key)), key
