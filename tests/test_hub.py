"""A class on one host, as the README's admin sets it up: a shared environment built once from the system's
Python (root's, read-only for students), the workbook published as a git bundle, two real Unix students who
clone it and run a quick report at the same time on the default ports (the second lab moves by itself), and a
kernel started the way a hub starts one — without `./workbook` — that imports `lab` and starts its lab."""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab import ports

from .conftest import REPO, need

SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]


@pytest.fixture(scope="module")
def shared_env():
    """`WORKBOOK_VENV=/opt/... /usr/bin/python3 ./workbook setup --hub`, as the admin runs it once."""
    need(os.geteuid() == 0 and shutil.which("useradd"), "root and useradd (to create students)")
    need(subprocess.run([SYSTEM_PYTHON, "-c", "import ensurepip, venv"]).returncode == 0,
         "the system's python3 with venv (apt-get install python3-venv)")  # fmt: skip
    venv = Path(f"/opt/wbtest-{secrets.token_hex(3)}")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "WORKBOOK_VENV": str(venv)}
    done = subprocess.run([SYSTEM_PYTHON, str(REPO / "workbook"), "setup", "--hub"], env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    subprocess.run(["chmod", "-R", "go-w", str(venv)], check=True)  # read-only for the students
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The workbook as the admin publishes it: a git bundle (a file: no repository ownership for git to doubt)."""
    folder = Path(f"/tmp/wbtest-src-{secrets.token_hex(3)}")
    folder.mkdir(mode=0o755)
    path = folder / "redis-workbook.bundle"
    subprocess.run(["git", "-C", str(REPO), "bundle", "create", str(path), "HEAD", "--branches"], check=True,
                   capture_output=True)  # fmt: skip
    path.chmod(0o644)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def students(tmp_path_factory):
    """Two Unix students, one test at a time: the first lab on the host takes 6380/6381, so two tests with students
    must never overlap (an xdist group alone did not keep them apart: a lock held across workers does)."""
    with open(tmp_path_factory.getbasetemp().parent / "hub-students.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _students()


def _students():
    names = [f"wbstu{secrets.token_hex(4)}{n}" for n in range(2)]
    homes = {}
    for name in names:
        home = Path(f"/tmp/home-{name}")
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", name], check=True)
        home.chmod(0o700)
        homes[name] = home
    try:
        yield homes
    finally:
        for name, home in homes.items():
            for _ in range(20):  # their servers, kernels, hub processes: gone before the user is
                subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
                if subprocess.run(["userdel", "--remove", name], capture_output=True).returncode in (0, 6):
                    break
                time.sleep(0.25)
            shutil.rmtree(home, ignore_errors=True)


def _as(name: str, home: Path, command: str, venv: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """A student's shell command, with the environment a hub gives them (no root PATH, no PYTHONPATH)."""
    env = {"HOME": str(home), "USER": name, "PATH": f"{venv}/bin:/usr/bin:/bin", "WORKBOOK_VENV": str(venv),
           "LANG": "C.UTF-8"}  # fmt: skip
    return subprocess.run(["sh", "-c", command], user=name, env=env, cwd=home, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


HUB_KERNEL = """
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(cwd="{notebooks}")
try:
    reply = []
    kc.execute_interactive("import lab; rows = lab.up(); print('UP', rows[0].state, rows[1].link_status, lab.__file__)",
                           output_hook=lambda m: reply.append(m["content"].get("text", "")), timeout=120)
    print("".join(reply))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
"""


def test_a_class_on_one_host(shared_env, bundle, students):
    held = [f"{p} ({subprocess.run(['ss', '-ltnp', f'sport = :{p}'], capture_output=True, text=True).stdout.strip()})"
            for p in (6380, 6381) if ports.port_taken(p)]  # fmt: skip
    need(not held, f"the default ports 6380/6381 free (held: {held})")
    for name, home in students.items():
        cloned = _as(name, home, f"git clone --quiet {bundle} redis-cache-workbook", shared_env)
        assert cloned.returncode == 0, cloned.stderr
    results: dict[str, subprocess.CompletedProcess] = {}
    started = time.monotonic()

    def report(name: str, home: Path) -> None:
        results[name] = _as(name, home, "cd redis-cache-workbook && ./workbook report --quick", shared_env)

    workers = [threading.Thread(target=report, args=item) for item in students.items()]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.monotonic() - started
    try:
        chosen = {}
        for name, home in students.items():
            result = results[name]
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            assert "Traceback" not in result.stderr and "all chapters passed" in result.stdout
            clone = home / "redis-cache-workbook"
            out = clone / "report"
            assert (
                stat.S_IMODE(out.stat().st_mode) == 0o700
                and stat.S_IMODE((out / "handin.html").stat().st_mode) == 0o600
            )
            status = _as(name, home, "cd redis-cache-workbook && ./workbook status", shared_env)
            chosen[name] = [
                line.split()[2] for line in status.stdout.splitlines() if line.startswith(("master", "replica"))
            ]
        assert len({tuple(p) for p in chosen.values()}) == 2, chosen  # the second lab moved to free ports
        if ["6380", "6381"] not in chosen.values():  # the first lab keeps the defaults: say what each lab said
            said = "\n\n".join(f"{name} on {chosen[name]}:\n{r.stdout[:1500]}" for name, r in results.items())
            pytest.fail(f"no lab kept 6380/6381:\n{said}")
        first, home = next(iter(students.items()))
        notebooks = home / "redis-cache-workbook" / "notebooks"
        script = home / "hub_kernel.py"
        script.write_text(HUB_KERNEL.format(notebooks=notebooks))
        shutil.chown(script, first)
        kernel = _as(first, home, f"{shared_env}/bin/python {script}", shared_env)
        assert "UP up up" in kernel.stdout and str(home / "redis-cache-workbook" / "lab") in kernel.stdout, (
            kernel.stdout + kernel.stderr
        )
        print(f"two students' quick reports at once: {wall:.0f} s")
    finally:
        for name, home in students.items():
            _as(name, home, "cd redis-cache-workbook && ./workbook down", shared_env, timeout=120)


def test_a_shared_environment_from_a_private_python_is_one_sentence(tmp_path):
    """Built from a Python under a private folder (root's pyenv under /root, 0700), it would break every
    student: the bootstrap refuses it in one sentence, with the command to use instead."""
    need(os.path.exists(SYSTEM_PYTHON), "a system python3")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    python = private / "python3"
    shutil.copy2(os.path.realpath(SYSTEM_PYTHON), python)  # (its standard library is found where it was built)
    done = subprocess.run([str(python), str(REPO / "workbook"), "setup"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "WORKBOOK_VENV": str(tmp_path / "shared")}, timeout=60)  # fmt: skip
    assert done.returncode == 1 and "which other users cannot run" in done.stderr, done.stderr
    assert "/usr/bin/python3 ./workbook setup" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "shared").exists()


HUB_CONFIG = """
c = get_config()  # noqa: F821
load_subconfig({example!r})  # noqa: F821 - the README's example, as an admin uses it; then what a test changes
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = {folder!r} + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + {folder!r} + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = {folder!r} + "/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = set({users!r})
c.Spawner.cmd = [{venv!r} + "/bin/redis-workbook-singleuser"]
c.Spawner.environment.update({{"PATH": {venv!r} + "/bin:/usr/local/bin:/usr/bin:/bin", "WORKBOOK_VENV": {venv!r},
                              "WORKBOOK_SOURCE": {bundle!r}}})
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.services = [{{"name": "grader", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "grader", "services": ["grader"],
                             "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"]}}]
"""


def _proxy_command() -> str | None:
    found = shutil.which("configurable-http-proxy")
    return found or next((str(p) for p in Path("/usr/lib/node_modules").glob("configurable-http-proxy/bin/*")), None)


def _api(url: str, token: str, method: str = "GET", body: bytes | None = None, timeout: float = 30):
    import json
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text.strip().startswith(("{", "[")) else text)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:  # not listening yet
        return 0, str(exc)


async def _execute(ws_url: str, token: str, code: str, timeout: float = 120) -> str:
    """Run `code` in a kernel over the Jupyter server's websocket (as JupyterLab does); what it printed."""
    import asyncio
    import json
    import uuid

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    socket = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    socket.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "grader", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))  # fmt: skip
    printed = []
    deadline = asyncio.get_event_loop().time() + timeout
    while asyncio.get_event_loop().time() < deadline:
        raw = await asyncio.wait_for(socket.read_message(), timeout)
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        if message["msg_type"] == "error":
            printed.append(f"{message['content']['ename']}: {message['content']['evalue']}")
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    socket.close()
    return "".join(printed)


def test_a_real_jupyterhub_spawns_a_student_whose_kernel_imports_lab(shared_env, bundle, students, tmp_path):
    """JupyterHub itself (LocalProcessSpawner, configurable-http-proxy, the README's example config): a student's
    server starts from the shared environment and clones the workbook; a kernel imports `lab` and starts the
    student's lab; the cache form answers at /user/<name>/cache-form/ for them, and not for a classmate."""
    import asyncio
    import json

    proxy = _proxy_command()
    need(proxy is not None, "configurable-http-proxy (npm install -g configurable-http-proxy)")
    (first, first_home), (second, _) = list(students.items())
    folder = tmp_path / "hub"
    folder.mkdir()
    port, hub_port, api_port = ports.free_ports(3)
    token, password = secrets.token_hex(16), secrets.token_urlsafe(12)
    config = folder / "jupyterhub_config.py"
    config.write_text(HUB_CONFIG.format(example=str(REPO / "hub" / "jupyterhub_config.py"), port=port,
                                        hub_port=hub_port, proxy=proxy, api_port=api_port, folder=str(folder),
                                        password=password, users=[first, second], venv=str(shared_env),
                                        bundle=str(bundle), token=token))  # fmt: skip
    log = open(folder / "hub.log", "w")
    hub = subprocess.Popen([f"{shared_env}/bin/jupyterhub", "-f", str(config)], cwd=folder, stdout=log,
                           stderr=subprocess.STDOUT, env={"PATH": f"{shared_env}/bin:/usr/local/bin:/usr/bin:/bin"},
                           start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _api(f"{base}/hub/api/", token)[0] != 200:
            assert hub.poll() is None, (folder / "hub.log").read_text()[-3000:]
            time.sleep(0.5)
        for name in (first, second):
            assert _api(f"{base}/hub/api/users/{name}", token, "POST", b"{}")[0] in (201, 409)
        assert _api(f"{base}/hub/api/users/{first}/server", token, "POST", b"{}")[0] in (201, 202)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            status, user = _api(f"{base}/hub/api/users/{first}", token)
            if status == 200 and user.get("servers", {}).get("", {}).get("ready"):
                break
            time.sleep(1)
        else:
            pytest.fail("the student's server did not start: " + (folder / "hub.log").read_text()[-3000:])
        assert (first_home / "redis-cache-workbook" / "workbook").exists(), "it cloned the workbook for them"
        assert stat.S_IMODE((first_home / "redis-cache-workbook").stat().st_mode) == 0o700
        status, kernel = _api(
            f"{base}/user/{first}/api/kernels", token, "POST", json.dumps({"name": "python3"}).encode()
        )
        assert status == 201, kernel
        code = "import lab; rows = lab.up(); print('UP', rows[0].state, rows[1].link_status, lab.__file__)"
        printed = asyncio.run(_execute(f"ws://127.0.0.1:{port}/user/{first}/api/kernels/{kernel['id']}/channels",
                                       token, code))  # fmt: skip
        assert f"UP up up {first_home}/redis-cache-workbook/lab" in printed, printed
        status, page = _api(f"{base}/user/{first}/cache-form/", token, timeout=180)
        assert status == 200 and "cache-aside" in page, (status, str(page)[:500])
        _, other = _api(
            f"{base}/hub/api/users/{second}/tokens", token, "POST", json.dumps({"expires_in": 600}).encode()
        )
        status, _ = _api(f"{base}/user/{first}/cache-form/", other["token"])
        assert status in (403, 404), status  # a classmate's token opens nothing of theirs
    finally:
        os.killpg(hub.pid, 15)
        try:
            hub.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, 9)
        log.close()
        _as(first, first_home, "cd redis-cache-workbook && ./workbook down", shared_env, timeout=120)
