"""Data: nothing here downloads.

* :mod:`~selfdistill.data.toy` — mobahi2020's 1-D noisy sine and seeded variants;
* :mod:`~selfdistill.data.digits` — scikit-learn's digits: the one loader and the one ±1 label
  convention (:func:`~selfdistill.data.digits.signed_labels`);
* :mod:`~selfdistill.data.sphere` — points and digits on the unit sphere (dong2019);
* :mod:`~selfdistill.data.classification` — embedded classification sets on the device;
* :mod:`~selfdistill.data.cifar` — CIFAR-10/100 from a local folder, checked against checksums;
* :mod:`~selfdistill.data.noise` — label-noise models with seeds.
"""

from __future__ import annotations

from selfdistill.data import (
    cifar,
    classification,
    digits,
    noise,
    sphere,
    toy,
)
from selfdistill.data.cifar import (
    CIFAR_CHECKSUMS,
    cifar_arrays,
    read_cifar,
)
from selfdistill.data.classification import (
    DATASETS,
    Dataset,
    augment,
    load_dataset,
)
from selfdistill.data.digits import (
    LOW_DIGITS,
    N_DIGITS,
    DigitsSplit,
    binary_split,
    load_digits_arrays,
    signed_labels,
)
from selfdistill.data.noise import (
    NoisyLabels,
    binary_flip,
    binomial_interval,
    convert_symmetric_rate,
    empirical_transition,
    pair_flip,
    pair_transition,
    symmetric_noise,
    symmetric_transition,
)
from selfdistill.data.sphere import (
    clusterable_sphere,
    digits_sphere,
    labels_to_targets,
)
from selfdistill.data.toy import (
    jittered_sine,
    noisy_sine,
    toy_sine,
)

__all__ = [
    "cifar", "classification", "digits", "noise", "sphere", "toy", "CIFAR_CHECKSUMS",
    "DATASETS", "Dataset", "DigitsSplit", "LOW_DIGITS", "N_DIGITS", "NoisyLabels", "augment",
    "binary_flip", "binary_split", "binomial_interval", "cifar_arrays", "clusterable_sphere",
    "convert_symmetric_rate", "digits_sphere", "empirical_transition", "jittered_sine",
    "labels_to_targets", "load_dataset", "load_digits_arrays", "noisy_sine", "pair_flip",
    "pair_transition", "read_cifar", "signed_labels", "symmetric_noise", "symmetric_transition",
    "toy_sine",
]
