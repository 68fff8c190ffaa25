"""The command line and the shell exports, as a student types them."""

import os
import shutil
import subprocess

import pytest

from .conftest import REPO, run_lab


def test_unknown_verb_prints_usage_and_exits_2():
    result = run_lab("frobnicate")
    assert result.returncode == 2 and "usage:" in result.stderr


def test_unknown_flag_exits_2():
    assert run_lab("status", "--frobnicate").returncode == 2


@pytest.mark.parametrize("value", ["abc", "99999"])
def test_bad_port_is_one_sentence_without_traceback(value, lab_home):
    result = run_lab("up", env={"LAB_MASTER_PORT": value})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "LAB_MASTER_PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unwritable_lab_home_is_explained(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result = run_lab("up", env={"LAB_HOME": str(blocked / "lab")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "LAB_HOME" in result.stderr


def test_env_makes_the_workshops_commands_work(pair):
    exports = run_lab("env")
    assert exports.returncode == 0
    cli = shutil.which("redis-cli", path=str(pair.home / "bin"))
    assert cli, "lab up links the chosen redis-cli into STATE/bin"
    script = (
        f'eval "$({exports.args[0]} -m lab env)"\n'
        f'redis-cli -p {pair.master_port} set projet "redis cool"\n'
        f"redis-cli -p {pair.replica_port} get projet\n"
    )
    # the replica needs a moment: retry the get a few times as a student would
    script += f"for i in 1 2 3 4 5; do sleep 0.1; redis-cli -p {pair.replica_port} get projet; done\n"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert done.stdout.splitlines()[0] == "OK"
    assert "redis cool" in done.stdout.splitlines()[1:]
    assert "NOAUTH" not in done.stdout + done.stderr


def test_doctor_is_green_on_a_running_lab(pair):
    result = run_lab("doctor")
    assert "❌" not in result.stdout.replace("❌ fail Python and venv", ""), result.stdout
    assert "✅ pass Replication" in result.stdout and "✅ pass Password required" in result.stdout


def test_doctor_gives_the_fix_when_down(lab_home):
    result = run_lab("doctor")
    assert result.returncode == 1
    assert "❌ fail master server" in result.stdout and "fix: ./workbook up" in result.stdout
