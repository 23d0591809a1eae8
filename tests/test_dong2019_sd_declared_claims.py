"""Guard: the distillation and noisy-label chapters keep their claims (a deleted claim cell fails).

nbval syncs golden inputs from the sources, so a claim cell deleted from a source is silently
dropped from the comparison; this test pins the claim ids each chapter declares.
"""

from __future__ import annotations

import pytest

from selfdistill.claims import declared_claims
from selfdistill.paths import repository_root

EXPECTED = {
    "distillation-early-stopping": [
        "dong2019.kernel-gd-closed-form",
        "dong2019.converged-student-equals-teacher",
        "dong2019.rounds-multiply-filters",
        "dong2019.wide-student-gap-slope",
        "dong2019.wide-student-gap",
    ],
    "noisy-label-self-distillation": [
        "dong2019.soft-sd-rescaled-clock",
        "dong2019.early-stopping-cluster-averages",
        "dong2019.early-stopping-margin",
        "dong2019.hard-sd-reaches-truth",
        "dong2019.hard-sd-margin",
        "dong2019.digits-hard-sd-beats-plain",
        "dong2019.digits-memorisation",
        "dong2019.digits-targets-corrected",
    ],
}


@pytest.mark.parametrize("chapter", sorted(EXPECTED))
def test_chapter_declares_its_claims(chapter):
    source = (repository_root() / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    assert declared_claims(source) == EXPECTED[chapter]
