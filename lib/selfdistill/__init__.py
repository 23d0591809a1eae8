"""selfdistill: the library behind the self-distillation paper companion.

Papers: mobahi2020 (self-distillation in Hilbert space), zhang2020 (instance-specific label
smoothing), dong2019 (distillation and early stopping). The library is grouped by concern; the
book's API reference (``book/api/``) documents each package on its own page.

* :mod:`selfdistill.core` — the book machinery: argument checks (:mod:`~selfdistill.core.checks`)
  and the contract that declares them as data (:mod:`~selfdistill.core.validate`), paths, device
  (``"auto"``) and seeding, the claim ledger and its statistics, the registry of the papers'
  statements, chapters and their ``parameters`` cells, atomic chapter runs, golden notebooks,
  sweeps and their reports, the book build and the Sphinx extensions. Importing it imports no torch.
* :mod:`selfdistill.data` — toy data, points and digits on the sphere, classification sets, CIFAR
  from a local folder with checksums, label noise. Nothing downloads.
* :mod:`selfdistill.training` — models, objectives (the one soft cross-entropy), the training
  loop, checkpoints and the experiment protocol of the deep-network chapters.
* :mod:`selfdistill.mobahi2020`, :mod:`selfdistill.zhang2020`, :mod:`selfdistill.dong2019` —
  each paper's mathematics, studies and deep experiments, and its ``oracles``: the independent
  routes that check the solvers without calling them. Each package re-exports the public names
  of its modules, so a chapter imports in a few lines.
* :mod:`selfdistill.plots` — one figure style, one module per paper, one for training and one for
  a sweep's figure.

The command line, :mod:`selfdistill.cli`, sits above them all.

Dependency rules, held by ``tests/test_layout.py``: the graph between packages has no cycle;
``core`` imports no other package of the library; ``data`` imports only ``core``; ``training``
imports ``core`` and ``data``; a paper package imports ``core``, ``data`` and ``training``, never
another paper; ``plots`` imports only ``core`` (argument checks; no mathematics: arrays and result
records in, axes out); ``selfdistill.cli`` may import anything. ``selfdistill list`` and
``selfdistill claims`` stay torch-free.
"""

__version__ = "0.1.0"
