"""The Table service operations of the `azure` store, as plain HTTP requests on one aiohttp session.

The azure-data-tables SDK spends about a millisecond of CPU on each request in its pipeline and
model (de)serialization, more than Azurite takes to answer it; every work item makes a few requests,
so that was most of the store's cost. These requests are built and signed as the SDK builds and signs
them (keys quoted the same way, SharedKey over the same path, or the connection string's SAS), and
fail with the same azure.core exceptions: ResourceNotFoundError (404), ResourceExistsError (409),
ResourceModifiedError (412), HttpResponseError otherwise, ServiceRequestError when no answer came.
A request that got no answer or a 408/429/5xx is tried again, up to three times.

Entities and filter values are coded in azure_table_values.py.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from yarl import URL

from .azure_table_values import Row, bind, decode, encode

VERSION = "2019-02-02"
_JSON = "application/json"
_ACCEPT = "application/json;odata=minimalmetadata"
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_RETRIES = 3
_BACKOFF_SECONDS = 0.2
_STATUS_LINE = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)
_ETAG_LINE = re.compile(rb"^ETag: (.+?)\r?$", re.MULTILINE | re.IGNORECASE)
_BOUNDARY = uuid.uuid4().hex
_SERIAL = itertools.count()
_METHODS = {"upsert": "PUT", "replace": "PUT", "merge": "MERGE", "delete": "DELETE"}
_PART = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
_PART_HEADERS = f"x-ms-version: {VERSION}\r\nDataServiceVersion: 3.0\r\nAccept: {_ACCEPT}\r\n"
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_ERRORS: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    403: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
    412: ResourceModifiedError,
}

# (kind, entity, etag): "insert" fails if the row exists, "upsert" replaces or inserts, "replace"
# and "merge" need the row (etag None: any version), "delete" likewise.
Operation = tuple[Literal["insert", "upsert", "replace", "merge", "delete"], Mapping[str, Any], str | None]


@functools.lru_cache(maxsize=8192)
def _key(value: str) -> str:
    return quote(value.replace("'", "''"), safe="")


def _error(status: int, body: bytes, what: str) -> HttpResponseError:
    try:
        detail = json.loads(body)["odata.error"]
        message = str(detail["message"]["value"]).splitlines()[0]
        code = str(detail.get("code", ""))
    except (ValueError, KeyError, TypeError):
        message, code = body.decode("utf-8", "replace")[:300] or "no details", ""
    exc = _ERRORS.get(status, HttpResponseError)(
        message=f"{what}: {status} {code} {message}".replace("  ", " ")
    )
    exc.status_code = status
    # In a failed transaction the message starts with the failing operation's position: "1:...".
    position = re.match(r"(\d+):", message)
    exc.index = int(position.group(1)) if position else None  # type: ignore[attr-defined]
    return exc


class TableService:
    """One account's Table service: a connection pool and the credentials to sign requests with."""

    def __init__(
        self,
        endpoint: str,
        credential: object,
        *,
        connection_timeout: float = 10.0,
        read_timeout: float = 60.0,
        connections: int = 64,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._key: bytes | None = None
        self._account = ""
        self._sas = ""
        if isinstance(credential, AzureNamedKeyCredential):
            self._account = credential.named_key.name
            self._key = base64.b64decode(credential.named_key.key)
        elif isinstance(credential, AzureSasCredential):
            self._sas = credential.signature.lstrip("?")
        elif credential is not None:
            raise TypeError("the azure store signs with an account key or a SAS, not with a token")
        self._timeout = aiohttp.ClientTimeout(sock_connect=connection_timeout, sock_read=read_timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._date = (0, "")
        # When (time.monotonic) the latest request the service answered was sent: an answer of any
        # status but a transient one shows the service is there (store/outage.py reads it).
        self.answered_sent = float("-inf")

    def table(self, name: str) -> Table:
        return Table(self, name)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_table(self, name: str) -> None:
        """Create a table; ResourceExistsError if it exists."""
        await self.request(
            "POST", "/Tables", json.dumps({"TableName": name}).encode(), f"create table {name}"
        )

    # -- requests -------------------------------------------------------------------------------

    def url(self, path: str, query: Mapping[str, str] | None = None) -> URL:
        url = URL(self.endpoint + path)
        if self._sas:
            url = URL(f"{url}?{self._sas}", encoded=True)
        return url.update_query(query) if query else url

    def _now(self) -> str:
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, formatdate(second, usegmt=True))
        return self._date[1]

    def _headers(self, method: str, url: URL, content_type: str, extra: Mapping[str, str]) -> dict[str, str]:
        date = self._now()
        headers = {
            "x-ms-version": VERSION,
            "x-ms-date": date,
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "Accept": _ACCEPT,
            **extra,
        }
        if content_type:
            headers["Content-Type"] = content_type
        if self._key is not None:
            # SharedKey as the SDK signs it: the path as sent, no query (this store never uses comp=).
            text = f"{method}\n\n{content_type}\n{date}\n/{self._account}{url.raw_path}"
            digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()
            headers["Authorization"] = f"SharedKey {self._account}:{base64.b64encode(digest).decode()}"
        return headers

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        what: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str = _JSON,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send one request (tried again on no answer or a transient status); raise for an error status."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections), timeout=self._timeout
            )
        url = self.url(path, query)
        sent_type = content_type if body is not None else ""
        for attempt in range(_RETRIES + 1):
            last = attempt == _RETRIES
            sent = time.monotonic()
            try:
                async with self._session.request(
                    method, url, data=body, headers=self._headers(method, url, sent_type, headers or {})
                ) as resp:
                    data = await resp.read()
                    status, reply = resp.status, resp.headers
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if last:
                    raise ServiceRequestError(f"{what}: no answer from {self.endpoint}: {exc!r}") from exc
            else:
                if status not in _RETRY_STATUS:
                    self.answered_sent = max(self.answered_sent, sent)
                if status < 300:
                    return status, reply, data
                if last or status not in _RETRY_STATUS:
                    raise _error(status, data, what)
            await asyncio.sleep(_BACKOFF_SECONDS * 2**attempt)
        raise AssertionError("unreachable")


class Table:
    """Entity operations on one table."""

    def __init__(self, service: TableService, name: str) -> None:
        self.service = service
        self.name = name

    def _path(self, pk: str, rk: str) -> str:
        return f"/{self.name}(PartitionKey='{_key(pk)}',RowKey='{_key(rk)}')"

    async def get(self, pk: str, rk: str, select: Sequence[str] | None = None) -> Row:
        """The entity (with its ETag); ResourceNotFoundError if there is none."""
        query = {"$select": ",".join(select)} if select else None
        _, headers, data = await self.service.request(
            "GET", self._path(pk, rk), None, f"read {self.name}", query=query
        )
        row = decode(json.loads(data))
        row.etag = headers.get("ETag", row.etag)
        return row

    async def upsert(self, entity: Mapping[str, Any]) -> str:
        """Insert or replace the entity; its new ETag."""
        return await self._send("PUT", entity, "write", None)

    async def replace(self, entity: Mapping[str, Any], etag: str | None = None) -> str:
        """Replace the entity if it is still the version `etag` (None: any); its new ETag."""
        return await self._send("PUT", entity, "update", etag or "*")

    async def merge(self, entity: Mapping[str, Any], etag: str | None = None) -> str:
        """Set some properties of an existing entity; its new ETag."""
        return await self._send("MERGE", entity, "update", etag or "*")

    async def _send(self, method: str, entity: Mapping[str, Any], what: str, if_match: str | None) -> str:
        _, headers, _ = await self.service.request(
            method,
            self._path(entity["PartitionKey"], entity["RowKey"]),
            _dumps(encode(entity)).encode(),
            f"{what} {self.name}",
            headers={"If-Match": if_match} if if_match else None,
        )
        return headers.get("ETag", "")

    async def delete(self, pk: str, rk: str, etag: str | None = None) -> None:
        """Delete the entity; ResourceNotFoundError if there is none."""
        await self.service.request(
            "DELETE", self._path(pk, rk), None, f"delete from {self.name}", headers={"If-Match": etag or "*"}
        )

    async def query(
        self,
        where: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        select: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Row]:
        """The matching entities in key order, page by page as the service returns them."""
        query: dict[str, str] = {}
        if where:
            query["$filter"] = bind(where, parameters or {})
        if select:
            query["$select"] = ",".join(select)
        if page_size:
            query["$top"] = str(min(page_size, 1000))
        while True:
            _, headers, data = await self.service.request(
                "GET", f"/{self.name}()", None, f"query {self.name}", query=query
            )
            for body in json.loads(data).get("value", []):
                yield decode(body)
            next_pk = headers.get("x-ms-continuation-NextPartitionKey")
            if not next_pk:
                return
            query["NextPartitionKey"] = next_pk
            next_rk = headers.get("x-ms-continuation-NextRowKey")
            if next_rk:
                query["NextRowKey"] = next_rk
            else:
                query.pop("NextRowKey", None)

    async def transact(self, operations: Sequence[Operation]) -> list[str]:
        """One entity group transaction (one partition, at most 100 operations): all or nothing.

        The new ETag of each operation ("" for a delete). If one operation fails, nothing is written
        and its error is raised with `index` set to the operation's position.
        """
        # Boundaries only need to be absent from the body: a random prefix and a counter.
        mark = f"{_BOUNDARY}_{next(_SERIAL)}"
        batch, changeset = f"batch_{mark}", f"changeset_{mark}"
        base, name = self.service.endpoint, self.name
        parts: list[bytes] = []
        for n, (kind, entity, etag) in enumerate(operations):
            if kind == "insert":
                request = f"POST {base}/{name} HTTP/1.1\r\nPrefer: return-no-content\r\n"
            else:
                key = self._path(entity["PartitionKey"], entity["RowKey"])
                request = f"{_METHODS[kind]} {base}{key} HTTP/1.1\r\n"
                if kind != "upsert":
                    request += f"If-Match: {etag or '*'}\r\n"
            head = f"--{changeset}\r\n{_PART}Content-ID: {n}\r\n\r\n{request}{_PART_HEADERS}"
            if kind == "delete":
                parts.append(f"{head}\r\n\r\n".encode())
            else:
                body = _dumps(encode(entity))  # ASCII: its length is its size in bytes
                parts.append(
                    f"{head}Content-Type: {_JSON}\r\nContent-Length: {len(body)}\r\n\r\n{body}\r\n".encode()
                )
        payload = (
            f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n".encode()
            + b"".join(parts)
            + f"--{changeset}--\r\n\r\n--{batch}--\r\n".encode()
        )
        _, _, data = await self.service.request(
            "POST",
            "/$batch",
            payload,
            f"transaction on {self.name}",
            content_type=f"multipart/mixed; boundary={batch}",
        )
        statuses = [int(s) for s in _STATUS_LINE.findall(data)]
        if not statuses:
            raise HttpResponseError(message=f"transaction on {self.name}: unreadable answer")
        failed = next((s for s in statuses if s >= 300), None)
        if failed is not None:
            detail = data[data.find(b"{") : data.rfind(b"}") + 1]
            raise _error(failed, detail, f"transaction on {self.name}")
        etags: list[str] = []
        for chunk in data.split(b"--changesetresponse_")[1:]:
            if _STATUS_LINE.search(chunk):
                tag = _ETAG_LINE.search(chunk)
                etags.append(tag.group(1).decode() if tag else "")
        return etags
