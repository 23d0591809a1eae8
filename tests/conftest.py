"""Test configuration: nbval runs on golden notebooks whose inputs are re-synced from the text.

``tests/golden/<chapter>.ipynb`` holds the approved outputs of the cells tagged
``nbval-check-output`` (written by ``selfdistill golden``). Before collection, each is combined with
the current inputs of ``notebooks/<chapter>.md`` into ``tests/_nbval/`` (ignored by git), which
nbval then executes and compares (``--nbval-lax``: only the tagged cells). Claims written by these
runs go to a scratch folder, not to the book's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.combine import combine_inputs_with_outputs

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"
SYNCED = TESTS / "_nbval"

collect_ignore = ["golden"]


def sync_golden_notebooks() -> list[Path]:
    """Write golden outputs combined with current text inputs to ``tests/_nbval``."""
    shutil.rmtree(SYNCED, ignore_errors=True)
    SYNCED.mkdir()
    written = []
    for golden in sorted(GOLDEN.glob("*.ipynb")):
        source = REPO / "notebooks" / f"{golden.stem}.md"
        if not source.exists():
            continue  # tests/core/test_golden.py reports golden notebooks without a source
        combined = combine_inputs_with_outputs(
            jupytext.read(source), nbformat.read(golden, as_version=4), fmt="md:myst"
        )
        target = SYNCED / golden.name
        nbformat.write(combined, target)
        written.append(target)
    return written


if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # several test workers share the cores: one thread each for torch and BLAS (here and in the
    # nbval kernels, which inherit the environment), or their thread pools oversubscribe the
    # machine; set before torch is imported
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, "1")
os.environ["SELFDISTILL_CLAIMS_DIR"] = tempfile.mkdtemp(prefix="selfdistill-nbval-claims-")
os.environ.pop("SELFDISTILL_CLAIMS_FILE", None)
sync_golden_notebooks()


@pytest.fixture(scope="session")
def digits():
    """192 digits as flat vectors, seed 0: the data of the training-protocol tests."""
    import torch

    from selfdistill.data.classification import load_dataset

    return load_dataset("digits-vec", torch.device("cpu"), seed=0, train_size=192)


@pytest.fixture
def one_thread():
    """One intra-op torch thread for tests of many tiny products: on a shared 2-core machine,
    oversubscribed OpenMP threads ran them 30-50x slower than one thread."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def pytest_collection_modifyitems(config, items):
    """The golden notebooks (nbval) run whole chapters: they are ``slow``, like the tests marked so
    by hand, so ``pytest -m "not slow"`` runs the unit tests alone."""
    for item in items:
        if SYNCED.name in item.nodeid.split("/") or item.nodeid.startswith("tests/_nbval"):
            item.add_marker(pytest.mark.slow)
