"""A Redis the student did not start: the lab starts nothing, chapters that need no servers run on it, the
others are skipped cleanly."""

import json
import os
import re

import pytest

from lab import endpoint, exercises, ports, servers
from lab.core.errors import LabError

from .conftest import lab_processes, one_binary, run_lab
from .stress import DelayProxy, throwaway_redis


@pytest.fixture
def external(tmp_path, redis_server, lab_home, monkeypatch):
    """A plain redis-server with a password, started by the test as a managed Redis would be: not the lab's."""
    with throwaway_redis(redis_server, tmp_path / "external") as (port, password):
        url = f"redis://default:{password}@127.0.0.1:{port}/0"
        monkeypatch.setenv("LAB_REDIS_URL", url)
        yield url, password


def test_up_starts_nothing_and_reports_the_endpoint(external, lab_home):
    url, password = external
    rows = servers.up()
    assert rows[0].state == "up" and lab_processes(lab_home) == []
    assert password not in rows[0].binary and "***" in rows[0].binary
    assert servers.down() == []


@pytest.mark.slow
@one_binary
def test_every_chapter_runs_or_skips_on_an_endpoint_one_hop_away(external, tmp_path, monkeypatch):
    """Through a proxy adding ~0.5 ms each way (a managed Redis in the same region): 03 and 04 pass every
    checkpoint and their solved exercises (checked through the endpoint), the chapters that start or kill
    servers are skipped in one sentence, nothing fails."""
    url, password = external
    proxy = DelayProxy(int(url.rsplit(":", 1)[1].split("/")[0]))
    monkeypatch.setenv("LAB_REDIS_URL", url.replace(url.rsplit(":", 1)[1].split("/")[0], str(proxy.port)))
    out = tmp_path / "report"
    try:
        result = run_lab("report", "--quick", "--solutions", "--out", str(out), timeout=600)
    finally:
        proxy.close()
    assert result.returncode == 0, result.stdout + result.stderr
    for chapter in ("00", "01", "02", "05", "06", "07"):
        assert re.search(rf"{chapter}_\w+ \.\.\. ⏭️ skipped", result.stdout), result.stdout
    assert re.search(r"03_cache_aside \.\.\. ✅", result.stdout) and re.search(r"04_latency \.\.\. ✅", result.stdout)
    index = (out / "index.html").read_text()
    assert index.count(">skipped</span>") >= 12 and ">fail</span>" not in index and index.count(">pass</span>") >= 8
    marks = json.loads((out / "summary.json").read_text())["marks"]
    solved = [m["id"] for m in marks if m["kind"] == "exercise" and m["status"] == "pass"]
    expected = sorted(e for e in exercises.EXERCISES if e[:2] in ("03", "04"))  # the chapters that ran, solved
    assert sorted(solved) == sorted(m["id"] for m in marks if m["kind"] == "exercise") == expected, marks
    for page in out.glob("*.html"):
        assert password not in page.read_text()


def test_endpoint_file_is_private_and_redacted(lab_home, monkeypatch):
    monkeypatch.delenv("LAB_REDIS_URL", raising=False)
    shown = run_lab("endpoint", "set", "rediss://student:s3cret@redis.example.test:6380/0")
    assert shown.returncode == 0 and "s3cret" not in shown.stdout and "***" in shown.stdout
    assert oct((lab_home / endpoint.FILE).stat().st_mode & 0o777) == "0o600"
    assert "s3cret" not in run_lab("endpoint", "show").stdout
    assert run_lab("endpoint", "clear").returncode == 0 and not (lab_home / endpoint.FILE).exists()
    assert run_lab("endpoint", "set", "http://nope").returncode == 1


def test_unreachable_endpoint_is_one_sentence(lab_home, monkeypatch):
    port = ports.free_ports(1)[0]
    monkeypatch.setenv("LAB_REDIS_URL", f"redis://:pw@127.0.0.1:{port}/0")
    with pytest.raises(LabError, match="does not answer"):
        servers.up()
    result = run_lab("up")
    assert result.returncode == 1 and "Traceback" not in result.stderr and "pw@" not in result.stderr


def test_local_only_chapters_refuse_in_one_sentence(external):
    with pytest.raises(endpoint.ChapterSkipped, match="LAB_REDIS_URL"):
        endpoint.require_local_lab("it kills servers")
    os.environ.pop("LAB_REDIS_URL")
    endpoint.require_local_lab("it kills servers")  # no endpoint: nothing to say
