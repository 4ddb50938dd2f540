"""Large payloads of the `azure` store: whatever a table property cannot hold goes to a blob.

An Azure Table string property holds at most 64 KiB of UTF-16 and an entity 1 MiB. As in the Durable
extension's provider, a value over 60 KiB is written to a blob (in the hub's `<hub lower>-devhost`
container, where the provider has `-largemessages`) and the entity keeps only its name in
`<Property>BlobName`. Blobs live under a folder per instance (`<quoted id>/...`: a name with a
slash, so never the layout marker at the top of the container), so purging an instance deletes them
with it; a blob name is random, so a write that is retried never clobbers a blob that a committed
row already refers to.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Collection, Iterable
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from ..json_text import utf16_size
from .azure_account import blob_prefix
from .recent import Recent

MAX_PROPERTY_BYTES = 60 * 1024  # UTF-16 bytes; leaves room below the 64 KiB limit
BLOB_SUFFIX = "BlobName"


class Payloads:
    """Reads and writes entity properties that may have spilled into blobs."""

    def __init__(self, container: ContainerClient) -> None:
        self.container = container
        # Blobs of instance rows by content: an unchanged large input or output that the next
        # version of the row keeps is referred to again, not uploaded again.
        self._known: Recent[tuple[str, str], str] = Recent(4096)

    async def put(
        self, entity: dict[str, Any], name: str, value: str | None, instance_id: str, *, reuse: bool = False
    ) -> None:
        """Set `entity[name]` to `value`, or to a blob reference if the value is too large.

        `reuse`: the entity replaces one read with `get(..., reuse=True)`, whose blob may be kept.
        """
        if value is None:
            return
        if utf16_size(value) <= MAX_PROPERTY_BYTES:
            entity[name] = value
            return
        key = (blob_prefix(instance_id), hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest())
        blob = self._known.get(key) if reuse else None
        if blob is None:
            blob = f"{key[0]}/{name.lower()}-{uuid.uuid4().hex}.json"
            await self.container.upload_blob(blob, value.encode("utf-8", "surrogatepass"), overwrite=True)
            if reuse:
                self._remember(key, blob)
        entity[name + BLOB_SUFFIX] = blob

    async def get(self, entity: dict[str, Any], name: str, *, reuse: bool = False) -> str | None:
        """The property's value, read from its blob if it spilled (ResourceNotFoundError if gone)."""
        blob = entity.get(name + BLOB_SUFFIX)
        if blob:
            stream = await self.container.download_blob(blob)
            data: bytes = await stream.readall()
            if reuse:
                self._remember((blob.split("/", 1)[0], hashlib.sha256(data).hexdigest()), str(blob))
            return data.decode("utf-8", "surrogatepass")
        value = entity.get(name)
        return None if value is None else str(value)

    def _remember(self, key: tuple[str, str], blob: str) -> None:
        self._known.remember(key, blob)

    def forget(self, blobs: Iterable[str]) -> None:
        """Blobs about to be deleted are never referred to again."""
        gone = set(blobs)
        for key in [k for k, b in self._known.items() if b in gone]:
            del self._known[key]

    async def delete(self, names: Iterable[str]) -> None:
        names = set(names)
        self.forget(names)
        for name in names:
            with contextlib.suppress(ResourceNotFoundError):
                await self.container.delete_blob(name)

    async def delete_instance(self, instance_id: str, keep: Collection[str] = ()) -> None:
        """Delete an instance's blobs, except those in `keep`."""
        prefix = blob_prefix(instance_id) + "/"
        for key in [k for k in self._known if k[0] + "/" == prefix]:
            del self._known[key]
        names = [b async for b in self.container.list_blob_names(name_starts_with=prefix)]
        await self.delete(n for n in names if n not in keep)


def blob_refs(entity: dict[str, Any]) -> set[str]:
    """The blobs an entity refers to."""
    return {str(v) for k, v in entity.items() if k.endswith(BLOB_SUFFIX) and v}
