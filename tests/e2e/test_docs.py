"""Every example of the manual runs: each INI block loads with the
real configuration parser (promptpix -t), each request example gives
the status it shows against a test host, and every shell block of an
install guide says which test runs it, or why none does."""

import os
import re
import subprocess

from tests.lib import config, docs, servers
from tests.lib.servers import DB_PASSWORD


def test_ini_blocks_load(env):
    """Each ```ini block, laid over a test host's config (its database
    and store), passes the self-check's parser: the only refusals
    allowed are the database's, never the file's (file:line: ...).
    Files a block names for secrets are made, with a fitting secret."""
    f = env.front()
    n = 0
    for page in docs.pages():
        for b in docs.blocks(page):
            if b.lang != "ini":
                continue
            n += 1
            d = os.path.join(f.dir, "ini%d" % n)
            os.makedirs(d)
            text = b.text
            for path in set(re.findall(r"(?m)^\w*_file = (/\S+)", text)):
                mine = os.path.join(d, os.path.basename(path))
                config.write_secret(mine, "s" * 48)
                text = text.replace(path, mine)
            text = re.sub(r"(?m)^dir = (/\S+)$", "dir = " + f.store, text)
            text = on_test_bucket(env, text)
            conf = os.path.join(d, "promptpix.conf")
            with open(f.conf) as base, open(conf, "w") as out:
                out.write(base.read() + "\n" + text)
            p = subprocess.run([env.binary, "-t", "-c", conf], capture_output=True, text=True,
                               env=dict(os.environ, PROMPTPIX_DB_PASSWORD=DB_PASSWORD,
                                        FAL_KEY="k:s"), timeout=60)
            bad = [l for l in p.stderr.splitlines() if l.startswith("promptpix: " + conf)
                   and "cannot connect" not in l and "configuration ok" not in l]
            assert not bad, (b.where(), bad, b.text)
            assert p.returncode == 0 or "database" in p.stderr, (b.where(), p.stderr)
    assert n >= 4, n


def on_test_bucket(env, text):
    """A block with [store] mode = s3 pointed at a bucket of the harness's
    S3 server (its endpoint, region and credentials, path-style), so that
    the self-check's probe runs against a real store; its other settings
    stay the block's."""
    if not re.search(r"(?m)^mode = s3$", text):
        return text
    s = env.swift
    creds = re.search(r"(?m)^s3_credentials_file = (\S+)$", text)
    assert creds, text
    s.credentials(creds.group(1))
    text = re.sub(r"(?m)^s3_(endpoint|bucket|region|path_style) = .*\n", "", text)
    return text.replace("mode = s3\n", "mode = s3\ns3_endpoint = %s\ns3_bucket = %s\n"
                        "s3_region = %s\ns3_path_style = true\n"
                        % (s.endpoint, s.new_bucket(), s.region), 1)


def request_examples():
    """(block, line) of each request example: a curl line of a ```sh
    block ending in "# NNN" outside the install guides (those run in
    test_deploy)."""
    for page in docs.pages():
        if page.endswith(docs.GUIDES):
            continue
        for b in docs.blocks(page):
            if b.lang == "sh":
                for line in b.text.split("\n"):
                    if line.startswith("curl ") and re.search(r"# [1-5]\d\d\s*$", line):
                        yield b, line


def test_request_examples_give_their_status(env):
    """Each request example, sent to a test host (nginx, the shipped
    site) instead of pix.example.org, answers the status it shows."""
    examples = list(request_examples())
    assert len(examples) >= 5, examples
    with env.front(processes=1) as f:
        for b, line in examples:
            line = line.replace("https://pix.example.org/", "http://127.0.0.1:%d/" % f.port)
            script = docs.with_status_checks(line)
            p = subprocess.run(["sh", "-ec", script], capture_output=True, text=True,
                               timeout=120)
            assert p.returncode == 0, (b.where(), line, p.stderr)


def test_guides_say_who_runs_each_block(env):
    """Every shell block of the install guides is marked: a test that
    runs it (and that test exists), or why none does."""
    runners = {"vps-make", "deb", "upgrade"}
    for g in docs.GUIDES:
        for b in docs.blocks(os.path.join(docs.ROOT, "docs", g)):
            if b.lang != "sh":
                continue
            assert b.mark in ("test", "not run") and b.arg, (b.where(), "unmarked")
            if b.mark == "test":
                assert set(b.arg.split()) <= runners, (b.where(), b.arg)
