"""The test harness, also behind tools/demo.py: real servers
(servers.py: MariaDB, spawn-fcgi + promptpix, nginx; apache.py;
galera.py: a Galera cluster of MariaDBs), the
promptpix config they run (config.py), clients of HTTP (httpclient.py,
rawhttp.py) and of the FastCGI wire (fcgi.py), the fal.ai stand-in
(falstub.py) and the per-test session (env.py)."""

import os

# The checkout: the shipped conf/, nginx/, apache/ and sql/ are what runs.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
