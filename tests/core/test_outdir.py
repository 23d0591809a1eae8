"""Which output folders a command may write (issue 14 §1), the marker, and the clean-up of staging
folders left by killed runs (§4): unit tests, no chapter runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from selfdistill.core.chapters import Parameter, ParameterError, parse_parameters, shorten
from selfdistill.core.outdir import (
    MARKER,
    OWNER,
    check_out_folder,
    clean_stale_staging,
    write_marker,
    write_owner,
)
from selfdistill.core.runner import check_out


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def test_new_and_empty_folders_are_accepted(tmp_path):
    assert check_out(tmp_path / "a" / "b", "tiny") == tmp_path / "a" / "b"
    (tmp_path / "empty").mkdir()
    assert check_out(tmp_path / "empty", "tiny") == tmp_path / "empty"
    assert not (tmp_path / "a").exists(), "checking writes nothing"


def test_a_marked_folder_of_the_same_kind_and_chapter_is_accepted(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "tiny.ipynb").write_text("{}")
    write_marker(folder, "run", "tiny")
    assert json.loads((folder / MARKER).read_text()) == {
        "tool": "selfdistill", "schema": 1, "kind": "run", "chapter": "tiny"}
    assert check_out(folder, "tiny") == folder
    with pytest.raises(ParameterError, match="holds a run of chapter 'tiny', not a run of 'other'"):
        check_out(folder, "other")
    with pytest.raises(ParameterError, match="holds a run of chapter 'tiny', not a sweep"):
        check_out_folder(folder, "sweep", "tiny")


@pytest.mark.parametrize("files", [
    {"thesis-analysis.ipynb": '{"my":"analysis"}', "other.ipynb": "{}"},  # issue 14 §1, case d
    {"claims.json": "{}", "notes.txt": "precious", "data/x": "1"},  # issue 14 §1, case e
    {"claims.json": '{"chapter": "tiny"}', "tiny.ipynb": "{}", "notes.txt": "mine"},
    {"claims.json": '{"chapter": "other"}', "tiny.ipynb": "{}"},
    {"claims.json": "[1, 2]"},
    {"tiny.ipynb": "{}"},
    {".hidden": "mine"},
    {MARKER: "not json"},
    {MARKER: '{"tool": "selfdistill", "kind": "bogus", "chapter": "tiny", "schema": 1}'},
    {MARKER: '["a list"]'},
])
def test_folders_this_tool_did_not_write_are_refused_untouched(tmp_path, files):
    folder = tmp_path / "d"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    before = _tree(folder)
    with pytest.raises(ParameterError, match="^--out 'd'|--out '.*/d'"):
        check_out(folder, "tiny")
    assert _tree(folder) == before


def test_a_legacy_run_folder_of_the_chapter_is_accepted(tmp_path):
    """Run folders written before the marker existed: the notebook and/or the ledger only."""
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "claims.json").write_text(json.dumps({"chapter": "tiny", "claims": []}))
    assert check_out(folder, "tiny") == folder
    (folder / "tiny.ipynb").write_text("{}")
    assert check_out(folder, "tiny") == folder


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("  ", "is empty"),
    (".", "is the working folder"),
    ("..", "is the working folder"),
    ("/", "names no folder"),
    ("a\x00b", "NUL"),
    ("x" * 300, "has 300 bytes"),
    ("x" * 300 + "/run", "has 300 bytes"),
    ("x" * 250, "has 250 bytes"),  # fits alone, not with the staging suffix
])
def test_unusable_names_are_refused(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=message) as info:
        check_out(text, "tiny")
    assert len(str(info.value)) < 400, "the echoed value is cut"
    assert list(tmp_path.iterdir()) == []


def test_the_working_folder_is_refused_even_when_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match="working folder"):
        check_out(tmp_path, "tiny")
    assert check_out_folder(".", "sweep", "tiny") == tmp_path  # a sweep writes into it


def test_a_symlink_is_followed_and_a_dangling_one_refused(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to("target")
    assert check_out(tmp_path / "link", "tiny") == tmp_path / "target"
    (tmp_path / "dangling").symlink_to("nowhere")
    with pytest.raises(ParameterError, match="does not exist"):
        check_out(tmp_path / "dangling", "tiny")
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(ParameterError):
        check_out(tmp_path / "loop", "tiny")


def test_a_symlink_to_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "notes.txt").write_text("mine")
    (tmp_path / "link").symlink_to("target")
    with pytest.raises(ParameterError, match="holds files other than a run's"):
        check_out(tmp_path / "link", "tiny")


def test_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("keep")
    for kind in ("run", "sweep", "report"):
        with pytest.raises(ParameterError, match="is a file"):
            check_out_folder(tmp_path / "f", kind, "tiny")
    assert (tmp_path / "f").read_text() == "keep"


# ---------------------------------------------------------------- staging clean-up


def _staging(parent: Path, name: str, owner: dict | None) -> Path:
    folder = parent / f".{name}.partial-{len(list(parent.iterdir())):08d}"
    folder.mkdir()
    (folder / "claims.json").write_text("{}")
    if owner is not None:
        (folder / OWNER).write_text(json.dumps(owner))
    return folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_staging_of_gone_owners_is_cleaned(tmp_path):
    write_owner(tmp_path)
    mine = json.loads((tmp_path / OWNER).read_text())
    (tmp_path / OWNER).unlink()
    assert mine["pid"] == os.getpid() and mine["host"] == socket.gethostname()
    alive = _staging(tmp_path, "a", mine)
    dead = _staging(tmp_path, "b", {**mine, "pid": _dead_pid()})
    rebooted = _staging(tmp_path, "c", {**mine, "boot": "another-boot"})
    reused = _staging(tmp_path, "d", {**mine, "start": "1"})  # same pid, another process
    foreign_host = _staging(tmp_path, "e", {**mine, "pid": _dead_pid(), "host": "elsewhere"})
    no_owner = _staging(tmp_path, "f", None)
    bad_owner = _staging(tmp_path, "g", {"pid": "x"})
    result = tmp_path / "result"
    result.mkdir()  # not a staging folder: never touched
    removed = clean_stale_staging(tmp_path)
    if not mine["boot"]:
        pytest.skip("no boot id on this system")
    assert sorted(removed) == sorted([dead, rebooted, reused])
    for kept in (alive, foreign_host, no_owner, bad_owner, result):
        assert kept.exists(), kept
    for gone in (dead, rebooted, reused):
        assert not gone.exists(), gone


# ---------------------------------------------------------------- parameters (issue 14 §6)


def test_integer_ranges_print_as_integers():
    params = parse_parameters("seed = 0  # in [0, 4294967295]: random seed\n"
                              "x = 0.5  # in [0, 1e10]: a float\n"
                              "n = 3  # in [1, inf): a count\n")
    assert params["seed"].accepted() == "integers in [0, 4294967295]"
    assert params["x"].accepted() == "numbers in [0, 1e+10]"
    assert params["n"].accepted() == "integers in [1, inf)"


@pytest.mark.parametrize("text", ["1+" * 50000 + "1", "1" * 100000, "(" * 5000 + ")" * 5000,
                                  "[" * 200 + "]" * 200])
def test_pathological_values_are_refused_in_one_short_line(text):
    param = Parameter(name="eps", default=0.05, meaning="", lower=0.0, upper=1.0)
    with pytest.raises(ParameterError, match="parameter 'eps' = ") as info:
        param.convert(text)
    assert len(str(info.value)) < 300 and "\n" not in str(info.value)


def test_shorten_keeps_short_text_and_says_the_length_of_long_text():
    assert shorten("abc") == "abc"
    cut = shorten("a" * 1000)
    assert len(cut) < 100 and "(1000 characters)" in cut
    text = "".join(map(str, range(100)))
    smallest = shorten(text, 16)  # the least limit: no start, an ellipsis, the end, the length
    assert smallest == f"…{text[-6:]} ({len(text)} characters)"
    with pytest.raises(ValueError, match=r"^limit = 2 is outside the accepted range \[16, inf\)"):
        shorten(text, 2)  # it used to return the whole text after a stray start and an ellipsis


def test_values_longer_than_the_limit_are_not_parsed_and_deep_ones_not_either(monkeypatch):
    import selfdistill.core.chapters as chapters

    param = Parameter(name="eps", default=0.05, meaning="", lower=0.0, upper=1.0)
    with pytest.raises(ParameterError, match="is longer than 1000 characters"):
        param.convert("0." + "1" * 999)
    monkeypatch.setattr(chapters, "MAX_VALUE_CHARS", 10**6)  # the second line of defence
    with pytest.raises(ParameterError, match="is not a float"):
        param.convert("1+" * 5000 + "1")  # RecursionError inside ast.literal_eval


def test_a_lookup_the_file_system_refuses_is_one_line(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    try:
        with pytest.raises(ParameterError, match="cannot be"):
            check_out(locked / "run", "tiny")
    finally:
        locked.chmod(0o700)
