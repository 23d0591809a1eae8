"""Guard: the dong2019 chapters of dong1 keep their claims (a deleted claim cell fails here).

nbval syncs golden inputs from the sources, so a claim cell deleted from a source is silently
dropped from the comparison; this test pins the claim ids each chapter declares.
"""

from __future__ import annotations

import pytest

from selfdistill.claims import declared_claims
from selfdistill.paths import repository_root

EXPECTED = {
    "neural-tangent-kernel": [
        "dong2019.ntk-closed-form-matches-quadrature",
        "dong2019.ntk-structured-equals-generic",
        "dong2019.ntk-error-rate-half",
    ],
    "anisotropic-information-retrieval": [
        "dong2019.air-two-eigensolvers-agree",
        "dong2019.air-labels-in-top-directions",
        "dong2019.air-gaussian-noise-flat",
        "dong2019.air-flip-mean-shift",
        "dong2019.air-flip-fluctuation-flat",
    ],
    "residual-dynamics": [
        "dong2019.residual-decay-per-direction",
        "dong2019.residual-deviation-shrinks-with-width",
        "dong2019.risk-formula-matches-monte-carlo",
        "dong2019.risk-network-matches-linear",
        "dong2019.optimal-stopping-step-network",
        "dong2019.optimal-stopping-interior",
    ],
}


@pytest.mark.parametrize("chapter", sorted(EXPECTED))
def test_chapter_declares_its_claims(chapter):
    source = (repository_root() / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    assert declared_claims(source) == EXPECTED[chapter]
