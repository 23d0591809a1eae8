"""The one provenance record (its schema and its check) and the one atomic write."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from selfdistill.core.provenance import (
    FIELDS,
    ProvenanceError,
    atomic_path,
    check_provenance,
    mark_finished,
    provenance,
    write_json_atomic,
    write_text_atomic,
)


def test_a_fresh_record_has_exactly_the_schema_and_passes_its_check():
    record = provenance(command="selfdistill run tiny")
    assert list(record) == list(FIELDS)
    assert check_provenance(record) is record
    assert record["command"] == "selfdistill run tiny" and record["finished"] is None
    assert record["versions"]["selfdistill"] and record["device"] is None
    done = mark_finished(record)
    assert done["finished"] >= done["started"] and record["finished"] is None  # a copy


def test_a_cpu_record_of_a_torch_free_process_imports_no_torch():
    code = ("import sys; from selfdistill.core.provenance import provenance, check_provenance; "
            "r = check_provenance(provenance('cpu')); "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert r['device'] == 'cpu' and r['threads'] is None, r")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_torch_settings_are_recorded_once_torch_is_loaded():
    torch = pytest.importorskip("torch")
    record = provenance("cpu")
    assert record["threads"] == torch.get_num_threads()
    assert record["deterministic"] is torch.are_deterministic_algorithms_enabled()
    assert record["versions"]["torch"] == torch.__version__


def test_the_command_comes_from_the_runner_else_from_argv(monkeypatch):
    monkeypatch.setenv("SELFDISTILL_COMMAND", "selfdistill run sd-rounds -p eps 0.02")
    assert provenance()["command"] == "selfdistill run sd-rounds -p eps 0.02"
    monkeypatch.delenv("SELFDISTILL_COMMAND")
    monkeypatch.setattr(sys, "argv", ["bench/bench_rounds.py", "--sizes", "512"])
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert provenance()["command"] == "bench/bench_rounds.py --sizes 512"
    with pytest.raises(TypeError, match="command"):
        provenance(command=3)


def _changed(**change):
    record = {**provenance(), "device": "cpu", "device_name": "x86_64"}
    for key, value in change.items():
        if value is KeyError:
            del record[key]
        else:
            record[key] = value
    return record


@pytest.mark.parametrize("record, message", [
    (_changed(started=KeyError), "lacks started"),
    (_changed(date="2026-12-07T03:05:06+00:00"), "outside the provenance schema: date"),
    (_changed(deterministic_algorithms=False), "deterministic_algorithms"),
    (_changed(torch="2.13.0"), "outside the provenance schema: torch"),
    (_changed(threads="2"), "threads = '2' is a str; accepted: int or None"),
    (_changed(threads=True), "threads = 'True' is a bool"),
    (_changed(deterministic=1), "deterministic = '1' is a int; accepted: bool or None"),
    (_changed(versions={"torch": "2.13.0"}), "versions lacks selfdistill"),
    (_changed(versions={"selfdistill": 1}), "versions = "),
    (_changed(started="yesterday"), "started = 'yesterday' is not an ISO 8601 time"),
    (_changed(started="2026-12-07T03:05:06"), "has no time zone"),
    (_changed(started="2026-12-07T03:05:06+00:00", finished="2026-12-07T03:05:05+00:00"),
     "finished = '2026-12-07T03:05:05\\+00:00' is before started"),
    (_changed(device_name=None), "must be given together"),
    ([1, 2], "is a list, not a provenance record"),
])
def test_records_that_drift_from_the_schema_are_refused(record, message):
    with pytest.raises(ProvenanceError, match=message):
        check_provenance(record)


def test_atomic_write_replaces_whole_files_and_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert target.stat().st_mode & 0o777 == 0o644
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})  # not JSON: the old file stays
    assert json.loads(target.read_text()) == {"a": 1}
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("a writer died")
    assert json.loads(target.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["out.json"]  # no temporary left behind
    write_text_atomic(tmp_path / "t.txt", "a\r\nb")
    assert (tmp_path / "t.txt").read_bytes() == b"a\r\nb"  # the bytes given


def test_two_writers_never_share_a_temporary_file(tmp_path):
    with atomic_path(tmp_path / "f") as one, atomic_path(tmp_path / "f") as two:
        assert one != two and one.parent == two.parent == tmp_path
        one.write_text("1")
        two.write_text("2")
    assert (tmp_path / "f").read_text() == "1"  # the last rename wins, whole
