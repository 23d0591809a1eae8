"""The one soft cross-entropy of the library and its reductions over the batch."""

from __future__ import annotations

import pytest
import torch

from selfdistill.training.objectives import soft_cross_entropy


def test_reductions_are_the_rows_summed_or_averaged():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 5, dtype=torch.float64, generator=gen)
    targets = torch.softmax(torch.randn(7, 5, dtype=torch.float64, generator=gen), 1)
    by_hand = torch.stack([-(t * torch.log(torch.softmax(s, 0))).sum()
                           for s, t in zip(logits, targets, strict=True)])
    rows = soft_cross_entropy(logits, targets, "none")
    assert rows.shape == (7,)
    torch.testing.assert_close(rows, by_hand, rtol=1e-13, atol=0)
    assert torch.equal(soft_cross_entropy(logits, targets, "sum"), rows.sum())
    assert torch.equal(soft_cross_entropy(logits, targets), rows.mean())


def test_an_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="^reduction = 'total'"):
        soft_cross_entropy(torch.zeros(2, 3), torch.full((2, 3), 1 / 3), "total")
