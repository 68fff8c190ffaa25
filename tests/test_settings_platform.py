"""Settings from the environment, and platform detection (no server needed)."""

import pytest

from lab import platform, settings
from lab.core.errors import LabError


def test_defaults_are_the_workshops(monkeypatch, tmp_path):
    for name in ("LAB_MASTER_PORT", "LAB_REPLICA_PORT", "LAB_SLOW_DB_DELAY", "LAB_CACHE_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    s = settings.load()
    assert (s.master_port, s.replica_port, s.slow_db_delay, s.cache_ttl) == (6380, 6381, 2.0, 60)
    assert s.home == tmp_path.resolve()


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.setenv("LAB_MASTER_PORT", "7100")
    monkeypatch.setenv("LAB_REPLICA_PORT", "7101")
    monkeypatch.setenv("LAB_SLOW_DB_DELAY", "0.5")
    s = settings.load()
    assert (s.master_port, s.replica_port, s.slow_db_delay) == (7100, 7101, 0.5)


@pytest.mark.parametrize("value", ["abc", "80", "70000", "-1", "6380.5"])
def test_bad_port_is_one_sentence(monkeypatch, tmp_path, value):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.setenv("LAB_MASTER_PORT", value)
    with pytest.raises(LabError, match="LAB_MASTER_PORT"):
        settings.load()


def test_same_port_twice_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.setenv("LAB_MASTER_PORT", "7200")
    monkeypatch.setenv("LAB_REPLICA_PORT", "7200")
    with pytest.raises(LabError, match="two different ports"):
        settings.load()


def test_remembered_ports_are_used(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.delenv("LAB_MASTER_PORT", raising=False)
    monkeypatch.delenv("LAB_REPLICA_PORT", raising=False)
    settings.remember_ports(tmp_path, 7300, 7301)
    assert (settings.load().master_port, settings.load().replica_port) == (7300, 7301)
    settings.forget_ports(tmp_path)
    assert settings.load().master_port == 6380


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@...) #1 SMP", 2),
        ("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0)", 1),
        ("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)", None),
    ],
)
def test_wsl_version_from_proc_version(text, expected):
    assert platform.wsl_version(text) == expected


def test_detect_reads_proc_version(tmp_path):
    fake = tmp_path / "version"
    fake.write_text("Linux version 5.15.153.1-microsoft-standard-WSL2")
    detected = platform.detect(str(fake))
    assert detected.name == "WSL2"
    assert "apt" in detected.install_command and "service redis-server start" in detected.start_hint
