"""Every cause a student can meet is one sentence with its fix, never a traceback: endpoint URLs redis-py
cannot use, a database replaced by a folder, a full disk, a server killed mid-lesson, a checkpoint bundle a
cell made up, settings a student changed by hand (and `up` puts back), absurd sample counts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import nbformat
import pytest

from lab import cache_lessons, checkpoints, clients, context, report, servers
from lab.cache.slowdb import SlowDB
from lab.core.errors import LabError

from .conftest import need, one_binary, run_lab

BAD_URLS = ["redis://127.0.0.1:99999/0", "redis://[::1", "redis://127.0.0.1:6379/0?db=x", "junk",
            "redis://:pw@127.0.0.1:1/notanumber"]  # fmt: skip


@pytest.mark.parametrize("url", BAD_URLS)
def test_an_endpoint_url_redis_py_cannot_use_is_one_sentence(lab_home, url):
    for verb in ("status", "fetch test-key", "up", "doctor"):
        result = run_lab(*verb.split(), env={"LAB_REDIS_URL": url})
        assert result.returncode != 0 and "Traceback" not in result.stderr, (verb, result.stderr)
        assert "not a Redis URL" in result.stderr and "unset LAB_REDIS_URL" in result.stderr, result.stderr
        assert ":pw@" not in result.stderr


def test_a_saved_endpoint_that_broke_can_still_be_cleared(lab_home):
    lab_home.mkdir(parents=True, exist_ok=True)
    (lab_home / "endpoint.url").write_text("redis://[::1\n")
    assert "endpoint clear" in run_lab("status").stderr
    assert run_lab("endpoint", "clear").returncode == 0 and run_lab("status").returncode == 0
    refused = run_lab("endpoint", "set", "redis://127.0.0.1:99999/0")
    assert refused.returncode == 1 and "port out of range" in refused.stderr and "Traceback" not in refused.stderr


@one_binary
def test_a_database_replaced_by_a_folder_is_one_sentence(lab):
    path = lab.path("slowdb.sqlite3")
    path.unlink(missing_ok=True)
    path.mkdir()
    result = run_lab("fetch", "test-key")
    assert result.returncode == 1 and "rm -r" in result.stderr and "Traceback" not in result.stderr
    path.rmdir()


@one_binary
def test_a_full_disk_is_named_by_doctor_and_in_one_sentence(tmp_path, redis_server, monkeypatch):
    need(os.geteuid() == 0 and shutil.which("mount"), "root, to mount a small disk for the test")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True)
    need(mounted.returncode == 0, f"a tmpfs mount ({mounted.stderr.decode().strip()})")
    try:
        from lab import ports

        master, replica = ports.free_port_pair()
        monkeypatch.setenv("LAB_HOME", str(disk / "lab"))
        monkeypatch.setenv("LAB_MASTER_PORT", str(master))
        monkeypatch.setenv("LAB_REPLICA_PORT", str(replica))
        monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
        servers.up()
        with open(disk / "filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        clients.client("master").set("cache:fill", "x" * 200_000)  # Redis meets the full disk writing its AOF
        doctor = run_lab("doctor")
        assert "❌ fail Disk space" in doctor.stdout and "Traceback" not in doctor.stderr, doctor.stdout
        for verb in ("bench --hit-samples 50 --miss-samples 2 --new-client-samples 5", "fetch sku-0009"):
            result = run_lab(*verb.split())
            assert "Traceback" not in result.stderr, (verb, result.stderr)
        (disk / "filler").unlink()
    finally:
        servers.down()
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


@one_binary
def test_a_master_killed_mid_chapter_03_is_one_sentence(lab):
    db = SlowDB(lab.path("db.sqlite3"), delay=0)
    servers.kill("master")
    with pytest.raises(LabError, match="did not answer during the jitter lesson"):
        cache_lessons.jitter(context(), db, db.keys(5), 60)
    half = cache_lessons.Stampede(())  # a measurement the dead master left without rows
    broken = checkpoints.marks(half)
    assert len(broken) == 1 and not broken[0].ok and "lab.up()" in broken[0].hint and broken[0].id == "03.stampede"


def test_a_made_up_checkpoint_bundle_fails_its_row_not_the_report(tmp_path, lab_home, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    forged = ("from IPython.display import display\n"
              "display({'application/vnd.redis-workbook.mark+json': {'id': 1, 'status': 'yes'},"
              " 'text/plain': 'forged'}, raw=True)\n"
              "display({'application/vnd.redis-workbook.mark+json': {'id': '07.same_slot', 'kind': 'exercise',"
              " 'status': 'pass', 'title': 'from another chapter'}, 'text/plain': 'forged'}, raw=True)")  # fmt: skip
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from lab.grading.checkpoints import checkpoint\n"
                                          "checkpoint('00.fine', 'fine', True)"),
                nbformat.v4.new_code_cell(forged)]  # fmt: skip
    nbformat.write(nb, folder / "00_forged.ipynb")
    monkeypatch.setattr(report.run.settings, "NOTEBOOKS_DIR", folder)
    out = tmp_path / "out"
    assert report.build(quick=True, out=str(out)) == 1
    index = (out / "index.html").read_text()
    assert "a cell displayed a malformed mark" in index and "a mark of another chapter or exercise" in index


@one_binary
def test_settings_changed_by_hand_are_named_by_doctor_and_put_back_by_up(lab):
    admin = clients.client("master")
    admin.config_set("maxmemory", "2mb")
    admin.config_set("maxmemory-policy", "noeviction")
    admin.execute_command("ACL", "SETUSER", "app", "+flushall")
    doctor = run_lab("doctor")
    assert "❌ fail Settings as conf/ gives them" in doctor.stdout and "noeviction" in doctor.stdout
    assert "❌ fail ACL users as the lab made them" in doctor.stdout and "app" in doctor.stdout
    rows = servers.up()
    assert any("put back" in note and "maxmemory" in note for note in rows.notes), rows.notes
    assert admin.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert "❌" not in run_lab("doctor").stdout.replace("❌ fail Python and venv", "")


def test_absurd_sample_counts_are_refused_with_the_range(lab_home):
    result = run_lab("bench", "--hit-samples", "1000000000000")
    assert result.returncode == 1 and "from 1 to 200 000" in result.stderr and "Traceback" not in result.stderr


def test_a_password_that_could_become_a_directive_is_refused(lab_home):
    lab_home.mkdir(parents=True)
    (lab_home / "credentials.json").write_text(json.dumps(
        {"admin": "a" * 40, "app": "b" * 40, "replication": "c" * 40, "sentinel": "x\nbind 0.0.0.0\n#", "sentinels": "d" * 40}))  # fmt: skip
    result = run_lab("up")
    assert (
        result.returncode == 1 and "not a password the lab makes" in result.stderr and "Traceback" not in result.stderr
    )


@pytest.mark.parametrize("content", ["[1e999]", "[99999, 7041, 7042]", "[7040, 7040, 7040]", '"junk"'])
def test_damaged_remembered_group_ports_are_chosen_again(lab_home, content):
    lab_home.mkdir(parents=True)
    (lab_home / "sentinel-ports.json").write_text(content)
    result = run_lab("status")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    from lab import sentinel

    chosen = sentinel.ports()
    assert len(set(chosen)) == 3 and all(1024 <= p <= 65535 for p in chosen)


def test_an_endpoint_option_redis_py_would_refuse_is_refused_when_set(lab_home):
    result = run_lab("endpoint", "set", "redis://127.0.0.1:7045/0?socket_timeout=abc")
    assert result.returncode == 1 and "not a Redis URL" in result.stderr and "Traceback" not in result.stderr


def test_a_notebook_git_cannot_read_is_one_failed_chapter(tmp_path, lab_home, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "09_conflict.ipynb").write_text('<<<<<<< HEAD\n{"cells": []}\n=======\n{}\n>>>>>>> theirs\n')
    monkeypatch.setattr(report.run.settings, "NOTEBOOKS_DIR", folder)
    out = tmp_path / "out"
    assert report.build(quick=True, out=str(out)) == 1
    assert "is not a notebook Jupyter can read" in (out / "index.html").read_text()


@one_binary
def test_a_cached_value_that_is_not_text_is_one_sentence(lab):
    clients.client("master", decode_responses=False).set("cache:projet", b"\xff\xfe\x00bad")
    result = run_lab("fetch", "projet")
    assert result.returncode == 0 and "not UTF-8 text" in result.stderr and "Traceback" not in result.stderr
    clients.client("master").set("cache:projet", "\x1b]0;pwned\x07\x1b[2Jfake", ex=60)
    shown = run_lab("fetch", "projet")
    assert "\x1b" not in shown.stdout and "\\x1b" in shown.stdout  # shown, not obeyed by the terminal
