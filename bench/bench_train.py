"""Benchmark: the training engine's throughput against the bare forward-backward step.

* engine: :func:`selfdistill.training.loop.train` for E epochs (seeded shuffling, batch indexing on
  the device, augmentation where asked, the objective, lr schedule, per-epoch evaluation of the
  validation and test sets, best-model copy; no checkpoint file);
* bare: the same model, optimiser, batch size and number of steps on pre-sliced batches of the
  same device tensors: ``opt.zero_grad(); loss = CE(model(x), y); loss.backward(); opt.step()``.

Both count training images per second; the overhead is engine time / bare time − 1 (goal ≤ 10 %).
Bare and engine runs alternate ``--repeats`` times; the fastest of each is kept. Usage:
``python bench/bench_train.py [--device auto] [--epochs 5] [--repeats 3] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from selfdistill.core.device import resolve_device
from selfdistill.core.provenance import mark_finished, provenance, write_json_atomic
from selfdistill.data.classification import Dataset, load_dataset
from selfdistill.training.loop import TrainConfig, _autocast, train
from selfdistill.training.models import build_model


def synthetic_cifar(device: torch.device, n: int) -> Dataset:
    """Random 3×32×32 images with 10 classes in a :class:`Dataset` (no download needed)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    k = max(n // 10, 1)
    return Dataset("cifar10", x, y, x[:k], y[:k], x[:k], y[:k], 10)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare(cfg: TrainConfig, data: Dataset) -> float:
    torch.manual_seed(cfg.seed)
    device = data.x_train.device
    model = build_model(cfg.model, data.shape, data.num_classes, cfg.width, cfg.depth).to(device)
    fmt = torch.channels_last if (device.type == "cuda" and data.x_train.ndim == 4) else None
    if fmt:
        model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    n, bs = data.x_train.shape[0], cfg.batch_size
    batches = [(data.x_train[i:i + bs], data.y_train[i:i + bs])
               for i in range(0, n - bs + 1, bs)]
    if fmt:
        batches = [(x.contiguous(memory_format=fmt), y) for x, y in batches]
    model.train()
    sync(device)
    start = time.perf_counter()
    for _ in range(cfg.epochs):
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            with _autocast(device):
                loss = F.cross_entropy(model(x).float(), y)
            loss.backward()
            opt.step()
    sync(device)
    return time.perf_counter() - start


def engine(cfg: TrainConfig, data: Dataset) -> tuple[float, float]:
    """Wall time of the whole run, and of the run without its per-epoch evaluations."""
    sync(data.x_train.device)
    start = time.perf_counter()
    result = train(cfg, data, progress=False)
    sync(data.x_train.device)
    total = time.perf_counter() - start
    return total, total - result.extra["eval_seconds"]


def cases(device: torch.device, epochs: int):
    digits = load_dataset("digits-vec", device, seed=0)
    images = load_dataset("digits", device, seed=0)
    yield "mlp digits", TrainConfig(epochs=epochs, batch_size=128), digits
    yield "cnn digits", TrainConfig(model="cnn", dataset="digits", epochs=epochs,
                                    batch_size=128, width=16), images
    if device.type == "cuda":
        yield "resnet18 cifar-size +aug", TrainConfig(
            model="resnet18", dataset="cifar10", epochs=epochs, batch_size=512,
            augment=True), synthetic_cifar(device, 50_000)
    else:
        yield "resnet18/16 cifar-size +aug", TrainConfig(
            model="resnet18", dataset="cifar10", epochs=1, batch_size=64, width=16,
            augment=True), synthetic_cifar(device, 512)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (shared machine)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs; min kept")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    record = provenance(device)
    rows = []
    print(f"{'case':28s} {'bare img/s':>11s} {'engine img/s':>13s} {'overhead':>9s} "
          f"{'w/o eval':>9s}")
    for name, cfg, data in cases(device, args.epochs):
        engine(replace(cfg, epochs=1), data)  # warm-up (allocator, cuDNN autotune)
        steps = (data.x_train.shape[0] // cfg.batch_size) * cfg.epochs
        images = steps * cfg.batch_size
        bares, engines = [], []
        for _ in range(args.repeats):  # interleaved, so drifting machine load hits both alike
            bares.append(bare(cfg, data))
            engines.append(engine(cfg, data))
        t_bare = min(bares)
        t_engine, t_train = min(engines)
        row = {"case": name, "images": images, "bare_s": t_bare, "engine_s": t_engine,
               "bare_ips": images / t_bare, "engine_ips": images / t_engine,
               "overhead": t_engine / t_bare - 1, "overhead_without_eval": t_train / t_bare - 1}
        rows.append(row)
        print(f"{name:28s} {row['bare_ips']:11.0f} {row['engine_ips']:13.0f} "
              f"{100 * row['overhead']:8.1f}% {100 * row['overhead_without_eval']:8.1f}%")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        write_json_atomic(args.json, {"provenance": mark_finished(record),
                                      "settings": settings,
                                      "rows": rows})


if __name__ == "__main__":
    main()
