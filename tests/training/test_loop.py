"""The trainer: one step against a hand-written SGD step, resume after interruption equals an
uninterrupted run exactly (CPU), bad input refused before anything is written, frozen teachers,
objectives, results with provenance."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from selfdistill.core.provenance import check_provenance
from selfdistill.data.classification import load_dataset
from selfdistill.training.checkpoint import write_results
from selfdistill.training.loop import TrainConfig, generations, train
from selfdistill.training.models import build_model
from selfdistill.training.objectives import MSE, CrossEntropy, EpochTargets

CPU = torch.device("cpu")
torch.set_num_threads(1)  # tiny models: one thread is faster and sums in a fixed order


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits-vec", CPU, seed=0, train_size=256)


@pytest.fixture(scope="module")
def images():
    return load_dataset("digits", CPU, seed=0, train_size=128)


SMALL = TrainConfig(model="mlp", dataset="digits-vec", epochs=4, batch_size=32, width=16)


class Interrupt(Exception):
    pass


def _stop_at(k):
    def callback(epoch, record):
        if epoch == k:
            raise Interrupt
    return callback


def test_one_step_equals_hand_written_sgd(digits):
    cfg = replace(SMALL, epochs=1, batch_size=256, momentum=0.0, weight_decay=0.0,
                  schedule="constant", lr=0.3)
    result = train(cfg, digits)
    torch.manual_seed(cfg.seed)  # the same initial weights, stepped by hand
    model = build_model("mlp", (64,), 10, 16, 2)
    perm = torch.randperm(256, generator=torch.Generator().manual_seed(cfg.seed + 1))
    loss = F.cross_entropy(model(digits.x_train[perm]), digits.y_train[perm])
    grads = torch.autograd.grad(loss, list(model.parameters()))
    for p, g, q in zip(model.parameters(), grads, result.model.parameters(), strict=True):
        torch.testing.assert_close(q, p - 0.3 * g, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["mlp", "cnn-augment-epoch-targets"])
def test_resume_after_interruption_is_exact(tmp_path, digits, images, case):
    if case == "mlp":
        cfg, data, make = SMALL, digits, CrossEntropy
    else:
        cfg = TrainConfig(model="cnn", dataset="digits", epochs=4, batch_size=32, width=4,
                          augment=True, padding=1)
        data = images

        def make():
            return EpochTargets(lambda y, p, prev, e: 0.5 * prev + 0.5 * p, data.y_train, 10,
                                "soft-sd", warmup=1)
    whole = train(cfg, data, make())
    path = tmp_path / "run.pt"
    with pytest.raises(Interrupt):
        train(cfg, data, make(), checkpoint=path, callback=_stop_at(2))
    resumed = train(cfg, data, make(), checkpoint=path)
    assert resumed.resumed_from == 2
    assert resumed.history == whole.history
    assert resumed.best_epoch == whole.best_epoch
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    again = train(cfg, data, make(), checkpoint=path)  # a finished checkpoint: nothing to do
    assert again.resumed_from == cfg.epochs and again.history == whole.history


def test_checkpoint_of_another_configuration_is_refused_untouched(tmp_path, digits):
    path = tmp_path / "run.pt"
    train(replace(SMALL, epochs=1), digits, checkpoint=path)
    before = path.read_bytes()
    for cfg, objective in [(replace(SMALL, epochs=1, lr=0.01), None),
                           (replace(SMALL, epochs=1), MSE())]:
        with pytest.raises(ValueError, match="another configuration"):
            train(cfg, digits, objective, checkpoint=path)
    assert path.read_bytes() == before
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        train(replace(SMALL, epochs=1), digits, checkpoint=path)


def test_checkpoint_fingerprint_covers_the_inputs(tmp_path, digits):
    # training on x_train * 2 (same labels, sizes, configuration) must not resume the old run
    path = tmp_path / "run.pt"
    train(replace(SMALL, epochs=1), digits, checkpoint=path)
    before = path.read_bytes()
    doubled = replace(digits, x_train=digits.x_train * 2)
    with pytest.raises(ValueError, match=r"another configuration \(differs in \['inputs'\]\)"):
        train(replace(SMALL, epochs=1), doubled, checkpoint=path)
    other_val = replace(digits, x_val=digits.x_val + 1)
    with pytest.raises(ValueError, match=r"differs in \['validation'\]"):
        train(replace(SMALL, epochs=1), other_val, checkpoint=path)
    assert path.read_bytes() == before


class _Payload:
    """Pickles to a call that writes a file: what a crafted checkpoint could run on loading."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "pwned"))


def test_checkpoint_with_code_is_refused_and_runs_nothing(tmp_path, digits):
    path, marker = tmp_path / "run.pt", tmp_path / "pwned.txt"
    torch.save({"fingerprint": {}, "state": {"model": _Payload(marker)}}, path)
    assert not marker.exists()
    with pytest.raises(ValueError, match=r"^checkpoint = '.*run\.pt' cannot be read as a "
                                         r"checkpoint of tensors and plain containers"):
        train(replace(SMALL, epochs=1), digits, checkpoint=path)
    assert not marker.exists()


@pytest.mark.parametrize("key", ["optimizer", "model", "generator", "epoch", "best_model"])
def test_checkpoint_missing_a_key_names_the_file_and_the_key(tmp_path, digits, key):
    path = tmp_path / "run.pt"
    train(replace(SMALL, epochs=1), digits, checkpoint=path)
    saved = torch.load(path, weights_only=True)
    del saved["state"][key]
    torch.save(saved, path)
    with pytest.raises(ValueError, match=rf"^checkpoint = '.*run\.pt' lacks the key '{key}'"):
        train(replace(SMALL, epochs=1), digits, checkpoint=path)


@pytest.mark.parametrize("saved,match", [
    ([1, 2, 3], "holds a list, not a checkpoint"),
    ({"state": {}}, "lacks the key 'fingerprint'"),
    ({"fingerprint": {}, "state": 3}, "lacks the key 'state'")])
def test_checkpoint_of_the_wrong_layout_is_refused(tmp_path, digits, saved, match):
    path = tmp_path / "run.pt"
    torch.save(saved, path)
    with pytest.raises(ValueError, match=match):
        train(replace(SMALL, epochs=1), digits, checkpoint=path)


def test_checkpoint_with_a_bad_value_is_refused_before_training(tmp_path, digits):
    path = tmp_path / "run.pt"
    train(replace(SMALL, epochs=1), digits, checkpoint=path)
    saved = torch.load(path, weights_only=True)
    saved["state"]["optimizer"] = {"state": 3}
    torch.save(saved, path)
    with pytest.raises(ValueError, match=r"holds a state this run cannot resume"):
        train(replace(SMALL, epochs=1), digits, checkpoint=path)


def test_unwritable_checkpoint_path_fails_before_the_first_epoch(tmp_path, digits):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    epochs = []
    for path, match in [(blocker / "sub" / "run.pt", "is not a folder"),
                        (tmp_path, "is a folder")]:
        with pytest.raises(ValueError, match=match):
            train(replace(SMALL, epochs=2), digits, checkpoint=path,
                  callback=lambda e, r: epochs.append(e))
    assert epochs == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # no probe left behind


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="needs /proc")
def test_checkpoint_on_a_filesystem_that_refuses_files(digits):
    epochs = []
    with pytest.raises(ValueError, match=r"^checkpoint = '/proc/run\.pt' cannot be written"):
        train(replace(SMALL, epochs=2), digits, checkpoint="/proc/run.pt",
              callback=lambda e, r: epochs.append(e))
    assert epochs == []


@pytest.mark.parametrize("change,match", [
    (dict(batch_size=257), "batch_size = 257 is larger than the 256"),
    (dict(model="resnet50"), "model"), (dict(dataset="mnist"), "dataset"),
    (dict(epochs=0), "epochs"), (dict(lr=-1.0), "lr"), (dict(augment=True), "augment"),
    (dict(dataset="digits"), "config.dataset")])
def test_bad_input_raises_before_writing(tmp_path, digits, change, match):
    path = tmp_path / "sub" / "run.pt"
    with pytest.raises(ValueError, match=match):
        train(replace(SMALL, **change), digits, checkpoint=path)
    assert not path.parent.exists()


def test_teacher_needed_and_frozen(digits):
    with pytest.raises(ValueError, match="needs a teacher"):
        sd = CrossEntropy()
        sd.needs_teacher = True
        train(SMALL, digits, sd)
    rounds = generations(replace(SMALL, epochs=2), digits, lambda g: MSE(), 3, "last")
    teacher_logits = rounds[0].model(digits.x_train)
    assert rounds[1].extra["objective"]["name"] == "mse"
    # round 1 regressed on round 0's outputs: its outputs are closer to them than to one-hot labels
    out = rounds[1].model(digits.x_train)
    onehot = F.one_hot(digits.y_train, 10).float()
    assert F.mse_loss(out, teacher_logits) < F.mse_loss(out, onehot)
    assert torch.equal(rounds[0].model(digits.x_train), teacher_logits)  # teacher unchanged


def test_mse_objective_matches_formula():
    logits, y = torch.randn(5, 3), torch.tensor([0, 2, 1, 1, 0])
    from selfdistill.training.objectives import Batch

    batch = Batch(logits, y, torch.arange(5), None, 0, 0, 3)
    expected = ((logits - torch.eye(3)[y]) ** 2).sum() / 15
    torch.testing.assert_close(MSE().loss(logits, batch), expected)
    teacher = torch.randn(5, 3)  # with a teacher, the targets are its outputs (mobahi2020 rounds)
    batch = Batch(logits, y, torch.arange(5), teacher, 0, 0, 3)
    torch.testing.assert_close(MSE().loss(logits, batch), ((logits - teacher) ** 2).sum() / 15)


def test_same_seed_same_run_and_best_epoch_reported(digits):
    a, b = train(SMALL, digits), train(SMALL, digits)
    assert a.history == b.history
    assert a.best["val_acc"] == max(a.curve("val_acc"))
    assert a.last == a.history[-1] and len(a.history) == SMALL.epochs


def test_best_epoch_is_the_best_validation_epoch_not_the_last(digits):
    # a constant, too large learning rate: validation accuracy peaks early, then collapses
    result = train(replace(SMALL, epochs=6, schedule="constant", lr=0.5), digits)
    curve = result.curve("val_acc")
    assert result.best_epoch == 1 + curve.index(max(curve)) < 6
    best = (result.best_model(digits.x_val).argmax(1) == digits.y_val).float().mean()
    assert float(best) == result.best["val_acc"] != result.last["val_acc"]


def test_schedules():
    cfg = replace(SMALL, schedule="step", lr=0.1)
    assert [cfg.lr_at(s, 90) for s in (0, 29, 30, 59, 60, 89)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    cos = replace(SMALL, schedule="cosine", lr=0.1)
    assert cos.lr_at(0, 10) == 0.1 and cos.lr_at(5, 10) == pytest.approx(0.05)


def test_results_json_with_provenance(tmp_path):
    path = tmp_path / "r.json"
    write_results(path, {"acc": 0.5}, CPU, seeds=2, seed=3)
    payload = json.loads(path.read_text())
    prov = check_provenance(payload["provenance"])  # the one schema: no drifting keys
    assert prov["device"] == "cpu" and prov["finished"] and prov["versions"]["torch"]
    assert payload["seeds"] == [3, 4]  # seeds is a count (the vocabulary), the record lists them
    assert payload["precision"]["dtype"] == "float32" and payload["results"] == {"acc": 0.5}
    with pytest.raises(ValueError, match=r"^seeds = \[0, 1\] is not an integer"):
        write_results(tmp_path / "s.json", {}, CPU, [0, 1])
    assert not (tmp_path / "s.json").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_channels_last_runs():
    data = load_dataset("digits", torch.device("cuda"), seed=0, train_size=128)
    cfg = TrainConfig(model="cnn", dataset="digits", epochs=2, batch_size=32, width=8,
                      augment=True, padding=1)
    result = train(cfg, data)
    assert result.last["test_acc"] > 0.2
