"""The request log of `-v`: one line per HTTP request, with every key taken out.

    "GET /runtime/webhooks/durabletask/instances/abc?code=*** HTTP/1.1" 200 412 bytes 0.0021s

Keys are never logged (see docs/reliability.md, Security): a `code=` query value is masked whatever it
holds, and any of the host's keys appearing elsewhere in the line (a path segment) is masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

log = logging.getLogger("devhost.http.requests")
MASK = "***"
_CODE_VALUE = re.compile(r"(?i)([?&]code=)[^&#\s\"]*")


def request_logger(secrets: Iterable[str] = ()) -> type[AbstractAccessLogger]:
    """An aiohttp access-logger class that masks `secrets` and `code=` values."""
    hidden = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    class RequestLogger(AbstractAccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            version = f"{request.version.major}.{request.version.minor}"
            target = _CODE_VALUE.sub(lambda m: m.group(1) + MASK, request.path_qs)
            for secret in hidden:
                target = target.replace(secret, MASK)
            self.logger.info(
                '"%s %s HTTP/%s" %s %s bytes %.4fs',
                request.method,
                target,
                version,
                response.status,
                response.body_length,
                time,
            )

    return RequestLogger
