"""Run the CalfCoach image and its compose stack against the local Bot API emulator.

Driven by ``scripts/image-check.sh`` (``make image-check``); each check prints one line and a
failure ends the run with exit code 1 and what was seen.

    container_check.py smoke IMAGE             the image alone (host network, loopback only)
    container_check.py stack IMAGE PG NGINX    the compose stack: PostgreSQL, 2 replicas, nginx
    container_check.py stack-driver            inside the stack (the "checker" service)

``stack`` runs on the host and orchestrates (podman-compose, stopping and starting a replica,
reading nginx's log of which replica served each update); ``stack-driver`` runs in a
container on the stack's network, because the replicas must reach the emulator and the
emulator must reach nginx. The two take turns through files in a shared folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # see emulator()
    from bot.telegram.emulator import BotApiEmulator, Call

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-TOKEN"  # the emulator's default token
USER = 1001
QUESTION = "how do I fix a weak soleus?"
QUESTIONS = (
    QUESTION,
    "what is the soleus?",
    "how many sets a week for calves?",
    "why are my calves weak?",
    "what's the difference between the gastrocnemius and the soleus?",
    "what exercises help after an ankle sprain?",
    "how do I know if I have gastrocnemius dominance?",
    "what is the tibialis posterior?",
    "how fast should I lower in a calf raise?",
)
PROJECT = "calfcoach-check"
EMULATOR_PORT = 8081  # inside the stack, on the checker container
HANDSHAKE_IN_CONTAINER = Path("/handshake")


class CheckFailed(RuntimeError):
    """A check saw something other than what the image must do."""


def emulator(**kwargs: Any) -> BotApiEmulator:
    """The local Bot API emulator: the one place these checks name where it lives (the
    repository's tooling package, or bot.telegram before it moved there), imported from
    the checkout (ROOT), not from the image, which does not ship it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from tooling.emulator import BotApiEmulator
    except ImportError:
        from bot.telegram.emulator import BotApiEmulator

    return BotApiEmulator(TOKEN, **kwargs)


def passed(what: str) -> None:
    print(f"    ok  {what}", flush=True)


def run(*args: str, check: bool = True, input: str | None = None, timeout: float = 300) -> str:
    """Run a command, returning its stdout; a failure raises with its output."""
    result = subprocess.run(
        args, input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise CheckFailed(
            f"`{shlex.join(args)}` exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- talking to the bot through the emulator -------------------------------------------------


def sent_to(user: int, *needles: str) -> Callable[[Call], bool]:
    def match(call: Call) -> bool:
        return (
            call.method in {"sendMessage", "editMessageText"}
            and call.chat_id == user
            and all(n in call.text for n in needles)
        )

    return match


async def delivered(bot: BotApiEmulator, send: Callable[[], int], redeliveries: list[int]) -> None:
    """Send an update by webhook and redeliver it while the post fails, as Telegram does.

    Telegram retries a webhook post that did not get a 2xx; the emulator posts once. Behind
    nginx a post can fail for a moment while a replica stops (seen here once: podman's DNS
    server, reloading, let nginx's lookups of "bot" time out: 502s for over 12 s), so each
    failed post is recorded in ``redeliveries`` and retried with backoff for up to 60 s.
    """
    posted = len(bot.webhook_statuses)
    update_id = send()
    for backoff in (1, 2, 4, 8, 15, 30, None):
        deadline = time.monotonic() + 30
        while len(bot.webhook_statuses) <= posted:
            if time.monotonic() > deadline:
                raise CheckFailed(f"update {update_id} was never posted to the webhook")
            await asyncio.sleep(0.05)
        status = bot.webhook_statuses[posted]
        posted += 1
        if 200 <= status < 300:
            return
        redeliveries.append(status)
        if backoff is None:
            break
        await asyncio.sleep(backoff)
        bot.redeliver(update_id)
    raise CheckFailed(f"update {update_id} not delivered in 60 s of retries: {redeliveries}")


async def say(
    bot: BotApiEmulator,
    text: str,
    *expect: str,
    timeout: float = 45,
    redeliveries: list[int] | None = None,
) -> Call:
    """The user sends ``text``; the bot's reply containing every one of ``expect``.

    With ``redeliveries`` (webhook mode behind a proxy) a failed post is redelivered."""
    mark = len(bot.calls)
    if redeliveries is None:
        bot.message(USER, text)
    else:
        await delivered(bot, lambda: bot.message(USER, text), redeliveries)
    return await bot.wait_for(sent_to(USER, *expect), after=mark, timeout=timeout)


async def press(
    bot: BotApiEmulator, call: Call, data: str, *expect: str, redeliveries: list[int]
) -> Call:
    """The user taps the button ``data`` under ``call``; the reply containing ``expect``."""
    mark = len(bot.calls)
    await delivered(bot, lambda: bot.press(USER, call, data), redeliveries)
    return await bot.wait_for(sent_to(USER, *expect), after=mark, timeout=45)


# -- the image alone ------------------------------------------------------------------------


def container_state(name: str) -> dict[str, Any]:
    return dict(json.loads(run("podman", "inspect", "--format", "{{json .State}}", name)))


async def stop_promptly(name: str) -> None:
    """`podman stop` must end the bot on SIGTERM at once (dumb-init as PID 1), exit 0.

    Asynchronous, because the emulator on this event loop must answer the bot's last calls
    while it shuts down."""
    started = time.monotonic()
    stop = await asyncio.create_subprocess_exec(
        "podman", "stop", "-t", "10", name, stdout=subprocess.DEVNULL
    )
    await stop.wait()
    took = time.monotonic() - started
    code = container_state(name)["ExitCode"]
    run("podman", "rm", "-f", name, check=False)
    if took > 5 or code != 0:
        raise CheckFailed(f"{name}: stop took {took:.1f} s with exit code {code} (want < 5 s, 0)")
    passed(f"SIGTERM stops it in {took:.1f} s, exit code 0")


async def smoke_bot(image: str, *, webhook: bool) -> None:
    name = f"calfcoach-check-{'webhook' if webhook else 'polling'}"
    run("podman", "rm", "-f", name, check=False)
    async with emulator() as bot:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": bot.url, "LOG_LEVEL": "INFO"}
        port = free_port()
        secret = secrets.token_hex(16)
        if webhook:
            env |= {
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
                "WEBHOOK_LISTEN": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
                "WEBHOOK_SECRET": secret,
            }
        args = [f"--env={k}={v}" for k, v in env.items()]
        run("podman", "run", "-d", "--name", name, "--network=host", *args, image, "telegram")
        try:
            mode = "webhook" if webhook else "polling"
            try:
                if webhook:  # an update sent before setWebhook would wait for getUpdates
                    await bot.wait_for(lambda c: c.method == "setWebhook", timeout=90)
                reply = await say(bot, QUESTION, "Section:", timeout=90)
            except TimeoutError as error:
                logs = run("podman", "logs", name, check=False)
                raise CheckFailed(f"{mode}: no answer: {error}\n{logs[-3000:]}") from error
            if "seated calf raise" not in reply.text.lower():
                raise CheckFailed(f"{mode}: unexpected answer {reply.text[:300]!r}")
            passed(f"{mode}: a question is answered with its section")
            if webhook:
                await check_webhook_secret(bot, port, secret)
                health = subprocess.run(
                    ["podman", "healthcheck", "run", name], capture_output=True, text=True
                )
                if health.returncode != 0:
                    raise CheckFailed(f"webhook: health check failed: {health.stdout}")
                passed("webhook: the image's HEALTHCHECK reports healthy")
            await stop_promptly(name)
        finally:
            run("podman", "rm", "-f", name, check=False)


async def check_webhook_secret(bot: BotApiEmulator, port: int, secret: str) -> None:
    from aiohttp import ClientSession

    url = f"http://127.0.0.1:{port}/telegram"
    update = {"update_id": 999_999, "message": {"message_id": 1, "date": 0, "text": "hi"}}
    async with ClientSession() as client:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            async with client.post(url, json=update, headers=headers) as response:
                if response.status != 403:
                    raise CheckFailed(f"webhook: {headers or 'no secret'} got {response.status}")
    passed("webhook: a wrong or missing secret gets 403")


def smoke(image: str) -> None:
    """No token -> exit 2 with the BotFather hint; chat answers; polling and webhook reply."""
    result = subprocess.run(
        ["podman", "run", "--rm", "--no-healthcheck", image, "telegram"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 2 or "@BotFather" not in result.stderr:
        raise CheckFailed(f"no token: exit {result.returncode}, stderr {result.stderr[-500:]!r}")
    passed("no token: exit code 2 with the @BotFather hint")

    chat = run(
        "podman", "run", "-i", "--rm", "--no-healthcheck", image, "chat",
        input=f"{QUESTION}\n/quit\n",
    )  # fmt: skip
    if "Section: Imbalance 1" not in chat or "seated calf raise" not in chat:
        raise CheckFailed(f"chat: no answer with its section in:\n{chat[-1500:]}")
    passed("chat: a question is answered with its section")

    asyncio.run(smoke_bot(image, webhook=False))
    asyncio.run(smoke_bot(image, webhook=True))


# -- the compose stack: host side ------------------------------------------------------------


class Stack:
    """The compose stack under test, with podman-compose, and what nginx logged."""

    def __init__(self, image: str, postgres: str, nginx: str, work: Path) -> None:
        self.work = work
        self.handshake = work / "handshake"
        compose = os.environ.get("PODMAN_COMPOSE", "podman-compose")
        self.compose = [
            *shlex.split(compose),
            "-p",
            PROJECT,
            "-f",
            str(ROOT / "docker-compose.yml"),
            "-f",
            str(ROOT / "deploy" / "compose.check.yml"),
        ]
        self.env = os.environ | {
            "CALFCOACH_IMAGE": image,
            "POSTGRES_IMAGE": postgres,
            "NGINX_IMAGE": nginx,
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "WEBHOOK_URL": "http://proxy:8443/telegram",
            "PROXY_PORT": str(free_port()),
            "BOT_REPLICAS": "2",
            "CHECK_DIR": str(work),
            "CHECK_SOURCE": str(ROOT),
            "EMULATOR_URL": f"http://checker:{EMULATOR_PORT}",
        }

    def compose_run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [*self.compose, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise CheckFailed(f"podman-compose {' '.join(args)}:\n{result.stdout}{result.stderr}")
        return result.stdout

    def prepare(self) -> None:
        self.down()
        secrets_dir = self.work / "secrets"
        secrets_dir.mkdir(parents=True, exist_ok=True)
        self.handshake.mkdir(parents=True, exist_ok=True)
        for old in self.handshake.iterdir():
            old.unlink()
        os.chmod(self.handshake, 0o777)  # the checker runs as the image's uid 10001
        for name, value in (
            ("telegram_bot_token", TOKEN),
            ("webhook_secret", secrets.token_hex(16)),
        ):
            path = secrets_dir / name
            path.write_text(value)
            os.chown(path, 10001, 10001)  # as the README says: the image's user owns them
            os.chmod(path, 0o400)

    def down(self) -> None:
        subprocess.run(
            [*self.compose, "down", "-v", "-t", "5"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            timeout=300,
            check=False,
        )

    def container(self, service: str, number: int = 1) -> str:
        return f"{PROJECT}_{service}_{number}"

    def wait_healthy(self, name: str, timeout: float = 120) -> float:
        """Run the container's health check until it passes (podman 4.3 runs health checks
        from systemd timers, absent here, so nothing else runs them)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            state = container_state(name)
            if state.get("Status") == "exited":
                logs = run("podman", "logs", name, check=False)
                raise CheckFailed(f"{name} exited ({state.get('ExitCode')}):\n{logs[-3000:]}")
            health = subprocess.run(
                ["podman", "healthcheck", "run", name], capture_output=True, text=True
            )
            if health.returncode == 0:
                return time.monotonic() - started
            time.sleep(1)
        logs = run("podman", "logs", name, check=False)
        raise CheckFailed(f"{name} not healthy after {timeout:.0f} s:\n{logs[-3000:]}")

    def ip_of(self, name: str) -> str:
        networks = json.loads(
            run("podman", "inspect", "--format", "{{json .NetworkSettings.Networks}}", name)
        )
        return str(next(iter(networks.values()))["IPAddress"])

    def served(self) -> list[tuple[str, str]]:
        """(final upstream address, status) of every update nginx passed on, in order."""
        log = run("podman", "logs", self.container("proxy"), check=False)
        served = []
        for line in log.splitlines():
            # upstream=10.89.0.5:8443, 10.89.0.6:8443 when the first try failed
            match = re.search(r'"POST /telegram [^"]*" (\d+) upstream=(.*?) upstream_status=', line)
            if match:
                final = match.group(2).split(",")[-1].strip()
                served.append((final.rsplit(":", 1)[0], match.group(1)))
        return served

    def signal(self, name: str) -> None:
        (self.handshake / name).write_text("go")

    def wait_for_phase(self, name: str, timeout: float = 300) -> dict[str, Any]:
        path = self.handshake / f"{name}.json"
        checker = self.container("checker")
        started = time.monotonic()
        while not path.exists():
            if container_state(checker).get("Status") == "exited" or (
                time.monotonic() - started > timeout
            ):
                logs = run("podman", "logs", checker, check=False)
                raise CheckFailed(f"the stack driver did not finish {name}:\n{logs[-4000:]}")
            time.sleep(0.5)
        return dict(json.loads(path.read_text()))


def stack(image: str, postgres: str, nginx: str, work: Path) -> None:
    """PostgreSQL, two replicas and nginx carry one conversation across both replicas and
    survive one replica being stopped and started."""
    stack = Stack(image, postgres, nginx, work)
    stack.prepare()
    keep = os.environ.get("IMAGE_CHECK_KEEP") == "1"
    try:
        _stack_checks(stack)
    except BaseException:
        for service, number in (("bot", 1), ("bot", 2), ("proxy", 1), ("checker", 1)):
            logs = run("podman", "logs", stack.container(service, number), check=False)
            print(f"--- {service}_{number} (last lines)\n{logs[-2500:]}", file=sys.stderr)
        raise
    finally:
        if not keep:
            stack.down()


def redelivered(phase: dict[str, Any]) -> str:
    """What the driver had to redeliver, as Telegram would have (see ``delivered``)."""
    statuses = phase.get("redeliveries") or []
    return f" ({len(statuses)} post(s) redelivered after {statuses})" if statuses else ""


def _stack_checks(stack: Stack) -> None:
    bots = [stack.container("bot", 1), stack.container("bot", 2)]
    # podman-compose on podman < 4.6 ignores `condition: service_healthy`; start in the
    # order the conditions ask for, waiting on each health check as compose would.
    stack.compose_run("up", "-d", "--no-build", "postgres")
    took = stack.wait_healthy(stack.container("postgres"))
    passed(f"postgres healthy (pg_isready over TCP) after {took:.0f} s")
    stack.compose_run("up", "-d", "--no-build", "--no-deps", "checker")
    stack.compose_run("up", "-d", "--no-build", "--no-deps", "bot")
    for name in bots:
        took = stack.wait_healthy(name)
        passed(f"{name} healthy after {took:.0f} s")
    stack.compose_run("up", "-d", "--no-build", "--no-deps", "proxy")
    stack.wait_healthy(stack.container("proxy"))
    passed("proxy healthy")
    address = {stack.ip_of(name): name for name in bots}

    def replicas_in(entries: list[tuple[str, str]]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for upstream, status in entries:
            if status != "200":
                continue  # not delivered: the driver redelivers it, and says so
            name = address.get(upstream, upstream)
            counts[name] = counts.get(name, 0) + 1
        return counts

    stack.signal("go")
    phase = stack.wait_for_phase("a")
    served_a = stack.served()
    counts = replicas_in(served_a)
    if len(counts) != 2:
        raise CheckFailed(f"one conversation should use both replicas; served by {counts}")
    passed(
        f"one conversation ({phase['updates']} updates: the self-test to its program, "
        f"a question) carried across both replicas {counts}{redelivered(phase)}"
    )

    stopped = bots[0]
    started = time.monotonic()
    run("podman", "stop", "-t", "10", stopped)
    passed(f"{stopped} stopped in {time.monotonic() - started:.1f} s")
    stack.signal("stopped")
    phase = stack.wait_for_phase("b")
    counts = replicas_in(stack.served()[len(served_a) :])
    if stopped in counts:
        raise CheckFailed(f"updates reached the stopped replica: {counts}")
    served_b = stack.served()
    passed(
        f"with {stopped} stopped, {phase['updates']} updates all answered by {counts}"
        f"{redelivered(phase)}"
    )

    run("podman", "start", stopped)
    stack.wait_healthy(stopped)
    address[stack.ip_of(stopped)] = stopped
    time.sleep(6)  # nginx re-resolves "bot" every 5 s
    stack.signal("started")
    phase = stack.wait_for_phase("c")
    counts = replicas_in(stack.served()[len(served_b) :])
    if len(counts) != 2:
        raise CheckFailed(f"the restarted replica should serve again; served by {counts}")
    passed(
        f"{stopped} restarted: {phase['updates']} updates answered, by both again {counts}"
        f"{redelivered(phase)}"
    )

    for name in bots:
        logs = run("podman", "logs", name, check=False)
        if "Traceback" in logs:
            raise CheckFailed(f"{name} logged a traceback:\n{logs[-3000:]}")
    passed("no tracebacks in the replicas' logs")


# -- the compose stack: the driver inside it -------------------------------------------------


async def wait_for_file(path: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise CheckFailed(f"no {path.name} from the host after {timeout:.0f} s")
        await asyncio.sleep(0.3)


async def stack_driver(handshake: Path) -> None:
    async with emulator(host="0.0.0.0", port=EMULATOR_PORT) as bot:
        print(f"emulator listening on :{EMULATOR_PORT}", flush=True)
        await wait_for_file(handshake / "go")
        await bot.wait_for(lambda c: c.method == "setWebhook", timeout=120)

        redeliveries: list[int] = []

        async def phase(name: str, steps: Callable[[], Awaitable[None]]) -> None:
            first = bot._next_update
            redeliveries.clear()
            await steps()
            result = {"updates": bot._next_update - first, "redeliveries": list(redeliveries)}
            (handshake / f"{name}.json").write_text(json.dumps(result))
            print(f"phase {name}: {result}", flush=True)

        async def talk(text: str, *expect: str) -> Call:
            return await say(bot, text, *expect, redeliveries=redeliveries)

        async def tap(call: Call, data: str, *expect: str) -> Call:
            return await press(bot, call, data, *expect, redeliveries=redeliveries)

        async def assessment() -> None:
            start = await talk("/start", "I'm CalfCoach")
            safety = await tap(start, "a:start", "Step 1 of 9")
            await tap(safety, "a:safety:no", "Step 2 of 9")
            for number, step in [("22", "Step 3"), ("20", "Step 4"), ("9", "Step 5")]:
                await talk(number, step)
            for number, step in [("15", "Step 6"), ("12", "Step 7"), ("30", "Step 8 of 9")]:
                heel = await talk(number, step)
            history = await tap(heel, "a:heel:left", "Step 9 of 9")
            toggled = await tap(history, "a:hist:ankle_sprain", "Selected: ankle sprain")
            await tap(toggled, "a:hist:done", "Your weekly program")
            await talk(QUESTION, "Section:")

        async def questions() -> None:
            # nginx picks a replica at random from the addresses "bot" resolves to: with 10
            # updates, the chance that one replica gets them all is 2 in 1,024.
            await talk("/program", "Your weekly program")  # the state lives in PostgreSQL
            for question in QUESTIONS:
                # Any reply: what matters here is that every update is answered; how an
                # answer reads (with its section, or an answer card) the smoke tests check.
                await talk(question)

        await phase("a", assessment)
        await wait_for_file(handshake / "stopped")
        await phase("b", questions)
        await wait_for_file(handshake / "started")
        await phase("c", questions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    smoke_parser = sub.add_parser("smoke")
    smoke_parser.add_argument("image")
    stack_parser = sub.add_parser("stack")
    stack_parser.add_argument("image")
    stack_parser.add_argument("postgres_image")
    stack_parser.add_argument("nginx_image")
    stack_parser.add_argument("--work", type=Path, default=ROOT / "var" / "image-check")
    sub.add_parser("stack-driver")
    args = parser.parse_args(argv)
    try:
        if args.command == "smoke":
            smoke(args.image)
        elif args.command == "stack":
            stack(args.image, args.postgres_image, args.nginx_image, args.work.resolve())
        else:
            asyncio.run(stack_driver(HANDSHAKE_IN_CONTAINER))
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
