"""Shared fixtures of the byteshelf Python suite.

The reference packages (roxxel 0.9.14, mapbuffer 1.2.0, roboto 0.62.0, buffer 0.2.1) are imported where a test
compares against them. Without them those tests are skipped, unless BYTESHELF_REQUIRE_REFERENCES=1 (set by
`cargo xtask ci`), where a missing reference is an error.
"""

import contextlib
import importlib
import io
import os

import pytest
from hypothesis import HealthCheck, settings

# No example database: nothing is written into the source tree, and every run is independent.
settings.register_profile(
    "ci",
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    database=None,
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("BYTESHELF_HYPOTHESIS", "ci"))


def reference(module):
    """Imports a reference module, or skips (fails under BYTESHELF_REQUIRE_REFERENCES=1)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(module)
    except Exception as err:  # noqa: BLE001 - jax & co. may fail in many ways
        if os.environ.get("BYTESHELF_REQUIRE_REFERENCES") == "1":
            raise
        pytest.skip(f"reference {module} not importable: {err}")


@contextlib.contextmanager
def quiet():
    """roxxel prints progress lines; keep them out of the test output."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


# ---------------------------------------------------------------------------------------------------------------
# Real servers on loopback for the remote tests (test_remote.py): nginx (HTTP with ranges) and moto (S3), the same
# programs at the same places as the Rust remote tests use. `cargo xtask servers` installs them (`cargo xtask ci`
# and `cargo xtask python` run it first); a missing one FAILS the test with that pointer, it is never skipped.

import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import http.client

HOW_TO_INSTALL = "run `cargo xtask servers` (which `cargo xtask ci` and `cargo xtask python` run first)"
REPO = pathlib.Path(__file__).resolve().parents[3]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn_listening(what, spawn):
    """Starts a server on a free port (retrying on another port when it exits early); returns (process, port)."""
    for _ in range(5):
        port = _free_port()
        process = spawn(port)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                time.sleep(0.02)
                continue
            time.sleep(0.05)
            if process.poll() is None:
                return process, port
        process.kill()
        process.wait()
    pytest.fail(f"{what} could not listen on a free loopback port in 5 attempts")


class Nginx:
    """nginx serving `root` (a temporary directory) on a free port."""

    def __init__(self):
        binary = pathlib.Path(os.environ.get("BYTESHELF_NGINX", "/usr/sbin/nginx"))
        if not binary.is_file():
            pytest.fail(f"nginx is missing at {binary} (or set BYTESHELF_NGINX): {HOW_TO_INSTALL}")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="byteshelf-nginx-"))
        self.root = self.dir / "www"
        self.root.mkdir()
        conf = self.dir / "nginx.conf"

        def spawn(port):
            d = self.dir
            conf.write_text(
                f"daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n"
                "events { worker_connections 256; }\n"
                f"http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n"
                f"  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n"
                f"  server {{ listen 127.0.0.1:{port}; root {self.root}; }}\n}}\n"
            )
            return subprocess.Popen([str(binary), "-p", str(d), "-c", str(conf)], stdin=subprocess.DEVNULL)

        self.process, self.port = _spawn_listening("nginx", spawn)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Moto:
    """moto's S3 server on a free port, with the bucket `byteshelf`."""

    bucket = "byteshelf"

    def __init__(self):
        default = REPO / "target" / "remote" / "venv" / "bin" / "moto_server"
        binary = pathlib.Path(os.environ.get("BYTESHELF_MOTO_SERVER", default))
        if not binary.is_file():
            pytest.fail(f"moto_server is missing at {binary} (or set BYTESHELF_MOTO_SERVER): {HOW_TO_INSTALL}")
        self.process, self.port = _spawn_listening(
            "moto_server",
            lambda port: subprocess.Popen(
                [str(binary), "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._put(f"/{self.bucket}", b"")

    def _put(self, path, body):
        # moto does not check signatures, but refuses to overwrite an object without one: a dummy header does.
        # (Not urllib: its default form Content-Type makes moto parse the body.)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(
                "PUT",
                path,
                body=body,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
                    "SignedHeaders=host, Signature=0",
                },
            )
            answer = connection.getresponse()
            assert answer.status == 200, (answer.status, answer.read())
            answer.read()
        finally:
            connection.close()

    def put(self, key, body):
        """Stores `body` as the object `key` of the bucket."""
        self._put(f"/{self.bucket}/{key}", bytes(body))

    def env(self, monkeypatch):
        """The AWS_* variables that point object_store's S3 store at this server."""
        for name, value in {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }.items():
            monkeypatch.setenv(name, value)

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def nginx():
    server = Nginx()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def moto():
    server = Moto()
    yield server
    server.stop()
