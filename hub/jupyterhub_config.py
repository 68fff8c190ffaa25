# An example JupyterHub configuration for a class on one host (the README's "For instructors" section).
# Every student is a Unix user; the hub starts each one's own server from the shared environment, which clones
# the workbook for them on their first login (from /srv/redis-workbook.bundle) and keeps it theirs alone.
#
#   sudo jupyterhub -f /etc/jupyterhub/jupyterhub_config.py      (after the README's steps 1-4)

c = get_config()  # noqa: F821 - JupyterHub provides it

VENV = "/opt/redis-workbook"  # the shared environment: `WORKBOOK_VENV=/opt/redis-workbook ./workbook setup --hub`

c.JupyterHub.bind_url = "http://:8000"  # put a TLS proxy (nginx, Caddy) in front of it, or set ssl_cert/ssl_key
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Authenticator.allow_all = True  # every Unix user of the host (PAM); or list them: c.Authenticator.allowed_users

c.Spawner.cmd = [f"{VENV}/bin/redis-workbook-singleuser"]  # clones the workbook on first login, then starts
c.Spawner.notebook_dir = "~/redis-cache-workbook/notebooks"
c.Spawner.default_url = "/lab/tree/00_install_and_verify.ipynb"
# Not root's PATH: the shared environment first, then the system's. (The hub passes PATH on unless told.)
c.Spawner.env_keep = ["LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "TZ"]
c.Spawner.environment = {
    "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
    "WORKBOOK_VENV": VENV,
    # Each student's lab chooses free Redis ports by itself when the default ones (6380/6381) are a classmate's,
    # and remembers them; nothing to configure per student.
}
