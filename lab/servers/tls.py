"""Mutual TLS for the lab's cluster: on a shared host, a classmate's node could otherwise `CLUSTER MEET` a
student's cluster over its bus (which has no password), take slots, and receive the student's AUTH. With TLS
on the bus and on the nodes' port (`tls-cluster`, `tls-replication`, `tls-auth-clients yes`), only a peer that
shows a certificate signed by this lab's own CA gets in, and the lab's clients talk only to nodes that show one.

The CA and one certificate (server and client alike, for 127.0.0.1 and ::1) are made once per state directory
with `openssl`, 0600 in a 0700 folder. A Redis built without TLS (the embedded 6.2), or a machine without
`openssl`, cannot protect its bus: `cluster up` says so, and `cluster status` names any node that is not this
lab's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _
from ..state import binaries
from ..state.private import UMASK, private_dir, write_private

FOLDER = "tls"
DAYS = "3650"


@dataclass(frozen=True)
class Files:
    """The lab's CA and its one certificate (with its key)."""

    ca: Path
    cert: Path
    key: Path


def supported(server: binaries.Binary) -> bool:
    """Whether this redis-server was built with TLS (its TLS directives exist only in such builds)."""
    try:
        with open(os.path.realpath(server.path), "rb") as f:
            return b"tls-cert-file" in f.read()
    except OSError:
        return False


def why_not(server: binaries.Binary) -> str | None:
    """None when the cluster can be protected here; else the sentence a student reads."""
    if not supported(server):
        return _("This Redis ({binary}) is built without TLS, so the cluster's bus has no protection: on a shared "
                 "host a classmate's node could join this cluster. `cluster status` names any node that is not this "
                 "lab's. Debian's and Ubuntu's redis-server (apt) support TLS.").format(
                     binary=server.describe())  # fmt: skip
    if shutil.which("openssl") is None:
        return _(
            "`openssl` is not installed, so the lab cannot make the certificates that protect the cluster's "
            "bus (`sudo apt install openssl`); `cluster status` names any node that is not this lab's."
        )
    return None


def files(home: Path) -> Files:
    """The CA and the certificate, made now if they do not exist yet."""
    folder = private_dir(home / FOLDER)
    made = Files(folder / "ca.crt", folder / "lab.crt", folder / "lab.key")
    if not (made.ca.exists() and made.cert.exists() and made.key.exists()):
        _make(folder, made)
    return made


def _make(folder: Path, made: Files) -> None:
    ca_key, request, extensions = folder / "ca.key", folder / "lab.csr", folder / "lab.ext"
    write_private(extensions, "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["openssl", "req", "-x509", *curve, "-days", DAYS, "-subj", "/CN=Redis Cache Workbook lab CA",
         "-keyout", str(ca_key), "-out", str(made.ca)],
        ["openssl", "req", *curve, "-subj", "/CN=Redis Cache Workbook lab", "-keyout", str(made.key),
         "-out", str(request)],
        ["openssl", "x509", "-req", "-in", str(request), "-CA", str(made.ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", DAYS, "-extfile", str(extensions), "-out", str(made.cert)],
    ]  # fmt: skip
    for step in steps:
        try:  # umask 077: every key and certificate is 0600 from its first byte
            done = subprocess.run(step, capture_output=True, text=True, timeout=60, umask=UMASK)
        except (OSError, subprocess.SubprocessError) as exc:
            raise LabError(
                _("openssl could not make the cluster's certificates ({error}).").format(error=exc)
            ) from None
        if done.returncode != 0:
            said = _("openssl could not make the cluster's certificates: {error}.")
            raise LabError(said.format(error=done.stderr.strip()[-200:]))
    request.unlink(missing_ok=True)


def server_lines(made: Files, port: int) -> list[str]:
    """A node's runtime lines: TLS on its port (plain TCP off), on the bus and on replication; clients must show
    a certificate of this lab's CA."""
    quote = '"{}"'.format
    return ["port 0", f"tls-port {port}", "tls-cluster yes", "tls-replication yes", "tls-auth-clients yes",
            f"tls-cert-file {quote(made.cert)}", f"tls-key-file {quote(made.key)}",
            f"tls-ca-cert-file {quote(made.ca)}"]  # fmt: skip


def client_options(made: Files) -> dict:
    """redis-py's options for a client of the TLS cluster (it checks the node's certificate, shows its own)."""
    return {"ssl": True, "ssl_ca_certs": str(made.ca), "ssl_certfile": str(made.cert), "ssl_keyfile": str(made.key),
            "ssl_cert_reqs": "required", "ssl_check_hostname": False}  # fmt: skip


def cli_args(made: Files) -> list[str]:
    """redis-cli's flags for the same."""
    return ["--tls", "--cacert", str(made.ca), "--cert", str(made.cert), "--key", str(made.key)]
