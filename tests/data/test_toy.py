"""The embedded toy data, pinned against literal values typed here (not read from data.py)."""

from __future__ import annotations

import numpy as np

from selfdistill.data.toy import toy_sine

# mobahi2020 §7's 11 noisy samples of sin(2πx), as listed in shared/papers/mobahi2020.md §7
PINNED_Y = [
    0.38476636465198066, 1.2333967683416893, 1.33232242218057, 0.6920159488889518,
    -0.29756145531871736, -0.24189291901377769, -0.7964485769175675, -0.9616480167034174,
    -0.49672509509916934, -0.3469066003991437, 0.5589512650600734,
]


def test_toy_sine_is_pinned():
    x, y = toy_sine()
    assert x.dtype == y.dtype == np.float64 and x.shape == y.shape == (11,)
    # exact equality: any change to a stored value, however small, fails here
    assert x.tolist() == [k / 10 for k in range(11)] or np.array_equal(x, np.linspace(0, 1, 11))
    assert y.tolist() == PINNED_Y
    # the noise around sin(2πx) has the documented scale (σ = 0.5): not a different data set
    assert 0.2 < float(np.std(y - np.sin(2 * np.pi * x))) < 0.8


def test_toy_sine_returns_fresh_arrays():
    x, y = toy_sine()
    y[0] = 99.0
    assert toy_sine()[1][0] == PINNED_Y[0]
