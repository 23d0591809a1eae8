"""Data sets: seeded splits, the CIFAR reader on generated files (checksums, missing files) and the
batched augmentation against a per-image loop."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest
import torch

from selfdistill.data.cifar import read_cifar
from selfdistill.data.classification import augment, load_dataset

CPU = torch.device("cpu")


def test_digits_shapes_and_seeded_split():
    a = load_dataset("digits", CPU, seed=1)
    b = load_dataset("digits", CPU, seed=1)
    c = load_dataset("digits", CPU, seed=2)
    assert a.shape == (1, 8, 8) and a.num_classes == 10
    assert torch.equal(a.x_val, b.x_val) and not torch.equal(a.y_val, c.y_val)
    assert torch.equal(a.x_test, c.x_test)  # the test split does not depend on the seed
    n = a.x_train.shape[0] + a.x_val.shape[0] + a.x_test.shape[0]
    assert n == 1797
    vec = load_dataset("digits-vec", CPU, seed=1)
    assert torch.equal(vec.x_train, a.x_train.reshape(-1, 64))


def test_validation_and_training_parts_are_disjoint():
    d = load_dataset("blobs", CPU, seed=3, val_fraction=0.2)
    rows = {tuple(r.tolist()) for r in d.x_train}
    assert not rows & {tuple(r.tolist()) for r in d.x_val}
    assert d.x_val.shape[0] == round(0.2 * (d.x_train.shape[0] + d.x_val.shape[0]))


@pytest.mark.parametrize("kwargs,match", [(dict(name="mnist"), "name"),
                                          (dict(name="digits", seed=-1), "seed"),
                                          (dict(name="digits", val_fraction=0.5), "val_fraction"),
                                          (dict(name="digits", train_size=10**6), "train_size")])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(device=CPU, **kwargs)


def _write_cifar(root, name: str, n: int = 4) -> dict[str, str]:
    rng = np.random.default_rng(0)
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        folder, key = root / "cifar-10-batches-py", b"labels"
    else:
        folder, files, key = root / "cifar-100-python", ["train", "test"], b"fine_labels"
    folder.mkdir(parents=True)
    table = {"folder": folder.name}
    for file in files:
        entry = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 key: rng.integers(0, 10, n).tolist()}
        (folder / file).write_bytes(pickle.dumps(entry))
        table[file] = hashlib.md5((folder / file).read_bytes()).hexdigest()  # noqa: S324
    return table


@pytest.mark.parametrize("name,n_train", [("cifar10", 20), ("cifar100", 4)])
def test_cifar_reader_on_generated_files(tmp_path, name, n_train):
    table = _write_cifar(tmp_path, name)
    x_tr, y_tr, x_te, y_te = read_cifar(name, tmp_path, table)
    assert x_tr.shape == (n_train, 3, 32, 32) and x_tr.dtype == np.uint8
    assert x_te.shape == (4, 3, 32, 32) and y_tr.shape == (n_train,)
    d = load_dataset(name, CPU, root=tmp_path, checksums=table, val_fraction=0.25)
    assert d.shape == (3, 32, 32) and d.num_classes == (10 if name == "cifar10" else 100)


def test_cifar_official_checksums_refuse_generated_files(tmp_path):
    _write_cifar(tmp_path, "cifar10")
    with pytest.raises(ValueError, match="wrong md5"):
        read_cifar("cifar10", tmp_path)


def test_cifar_corrupted_file_and_missing_files(tmp_path, monkeypatch):
    table = _write_cifar(tmp_path, "cifar10")
    (tmp_path / table["folder"] / "test_batch").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="test_batch has a wrong md5"):
        read_cifar("cifar10", tmp_path, table)
    (tmp_path / table["folder"] / "data_batch_3").unlink()
    with pytest.raises(ValueError, match="data_batch_3 is missing"):
        read_cifar("cifar10", tmp_path, table)
    with pytest.raises(ValueError, match="no folder"):
        read_cifar("cifar100", tmp_path)
    monkeypatch.delenv("SELFDISTILL_DATA", raising=False)
    with pytest.raises(ValueError, match="SELFDISTILL_DATA"):
        load_dataset("cifar10", CPU)
    monkeypatch.setenv("SELFDISTILL_DATA", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="no folder"):
        load_dataset("cifar10", CPU)


@pytest.mark.parametrize("padding", [0, 1, 4])
def test_augment_matches_per_image_crop_and_flip(padding):
    x = torch.randn(16, 3, 8, 8)
    out = augment(x, torch.Generator().manual_seed(5), padding)
    g = torch.Generator().manual_seed(5)  # replay the same draws, one image at a time
    dy = torch.randint(0, 2 * padding + 1, (16, 1), generator=g) if padding else None
    dx = torch.randint(0, 2 * padding + 1, (16, 1), generator=g) if padding else None
    flip = torch.rand(16, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    for i in range(16):
        a, b = (int(dy[i]), int(dx[i])) if padding else (0, 0)
        img = padded[i, :, a:a + 8, b:b + 8]
        expected = img.flip(2) if flip[i] else img
        assert torch.equal(out[i], expected)
    assert torch.equal(out, augment(x, torch.Generator().manual_seed(5), padding))


def test_augment_rejects_vectors():
    with pytest.raises(ValueError, match=r"^x has shape \(4, 64\) \(2 dimensions\); accepted "
                                         r"numbers of dimensions: \[4\]"):
        augment(torch.randn(4, 64), torch.Generator())


def test_with_train_labels_checks_through_check_labels():
    data = load_dataset("blobs", CPU, seed=0, train_size=8)
    swapped = data.with_train_labels(np.arange(8) % 4)  # NumPy integers are converted
    assert swapped.y_train.dtype == torch.int64 and swapped.y_train.tolist() == [0, 1, 2, 3] * 2
    assert swapped.x_train is data.x_train
    with pytest.raises(ValueError, match=r"^y has dtype torch.float32; accepted: a tensor of "
                                         r"integer class indices"):
        data.with_train_labels(torch.zeros(8))  # was silently truncated to integers
    with pytest.raises(ValueError, match=r"^y has 7 entries; accepted: 8, one per row"):
        data.with_train_labels(torch.zeros(7, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^y ranges over \[0, 4\]; accepted: \[0, 3\]"):
        data.with_train_labels(torch.tensor([0, 1, 2, 3, 4, 0, 1, 2]))
