"""A python-telegram-bot networking backend on aiohttp.

PTB's default backend (httpx) costs a few milliseconds of CPU per call in its connection
pool; under load on a 2-core machine that, not the answers, bounded throughput
(`calfcoach bench` showed the event loop ~90% busy inside httpcore). aiohttp's client does
the same work in a fraction of the time. PTB supports custom backends through
:class:`telegram.request.BaseRequest`; this is one, used for all Bot API calls.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

ODVInput = object  # PTB's "default value or float or None" marker type, kept loose here


class AiohttpRequest(BaseRequest):
    """Bot API requests over one shared ``aiohttp.ClientSession``."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _timeout(self, value: object, default: float | None) -> float | None:
        return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value  # type: ignore[return-value]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        data: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename or name, content_type=mimetype)
            data = form
        read = self._timeout(read_timeout, self._read_timeout)
        connect = self._timeout(connect_timeout, self._connect_timeout)
        write = self._timeout(write_timeout, self._media_write_timeout if files else None)
        total = None if read is None else read + (write or 0) + (connect or 0)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
