"""A run's configuration: every field's constraint declared once and walked with bad values."""

from __future__ import annotations

import dataclasses

import pytest

from selfdistill.core.validate import SEED_MAX
from selfdistill.training.config import TrainConfig

FIELDS = [f.name for f in dataclasses.fields(TrainConfig)]


def test_every_field_but_augment_has_a_constraint():
    assert set(TrainConfig.CONSTRAINTS) == set(FIELDS) - {"augment"}
    assert list(TrainConfig.CONSTRAINTS) == [f for f in FIELDS if f != "augment"]  # field order


@pytest.mark.parametrize(("name", "bad"), [(name, bad) for name, c in
                                           TrainConfig.CONSTRAINTS.items()
                                           for bad in c.bad_values()])
def test_check_refuses_each_bad_value_naming_the_field(name, bad):
    config = dataclasses.replace(TrainConfig(), **{name: bad})
    with pytest.raises(ValueError, match=rf"^{name} = "):
        config.check()


def test_the_largest_seed_leaves_room_for_the_generator_seed():
    assert TrainConfig(seed=SEED_MAX - 1).check().seed == SEED_MAX - 1
    with pytest.raises(ValueError, match=r"^seed = 4294967295 is outside the accepted range "
                                         r"\[0, 4294967294\]"):
        TrainConfig(seed=SEED_MAX).check()
