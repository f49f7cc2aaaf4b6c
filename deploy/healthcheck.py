"""The image's HEALTHCHECK: is the webhook server answering? (stdlib only, ~50 ms)

In webhook mode (``WEBHOOK_URL`` set) it asks ``GET /healthz`` on ``WEBHOOK_PORT``. In polling
mode, or for ``chat``, there is no server to ask and the process's own life is its health:
it reports healthy.

The webhook server (``bot/telegram/webhook.py``) answers ``/healthz`` with 200 when the
store answers and the index is loaded, 503 otherwise. ``ACCEPT_ANY_HTTP_ANSWER`` is for a
server without that route (python-telegram-bot's built-in one answers 404 or 405, which then
proves only that it is up): off, since ours serves it.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

HEALTH_PATH = "/healthz"
ACCEPT_ANY_HTTP_ANSWER = False


def check(port: int, timeout: float = 3.0) -> tuple[bool, str]:
    """Whether the webhook server on ``port`` is healthy, and what it answered."""
    url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{url}: {response.status}"
    except urllib.error.HTTPError as error:
        no_route = error.code in (404, 405)
        return ACCEPT_ANY_HTTP_ANSWER and no_route, f"{url}: {error.code}"
    except OSError as error:
        return False, f"{url}: {error}"


def main() -> int:
    if not os.environ.get("WEBHOOK_URL"):
        return 0
    healthy, said = check(int(os.environ.get("WEBHOOK_PORT") or 8443))
    print(said)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
