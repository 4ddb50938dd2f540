"""Which Azure Storage account the `azure` store uses, and what it names in it.

The account comes from the `AzureWebJobsStorage` app setting, read as `func start` reads it: the
environment wins over `local.settings.json` Values. `UseDevelopmentStorage=true` means Azurite with
its well-known development account on the default ports (10000 blob, 10001 queue, 10002 table), or on
the ports in AZURITE_BLOB_PORT / AZURITE_QUEUE_PORT / AZURITE_TABLE_PORT; any other value is a
connection string (account key or SAS, optional explicit endpoints).

devhost's own resources of a task hub (`HubNames`) are the Durable extension's names with `Devhost`
added, so they sit beside the real host's in Storage Explorer and can never be taken for them:
tables `<hub>InstancesDevhost`, `<hub>HistoryDevhost` and `<hub>EntitiesDevhost`, queue and blob container
`<hub lower>-devhost`. The real provider's own names (`ProviderNames`) are only ever read, by the
guard in azure_guard.py. Why they cannot meet: a task hub name is letters and digits; the provider's
table names end in `Instances`, `History` or `Partitions`, devhost's in `Devhost`; its queue and
container names are the lower-cased hub, one hyphen and a fixed suffix (`control-NN`, `workitems`,
`leases`, `applease`, `appleaseinfo`, `largemessages`), devhost's suffix is `devhost`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from ..config import app_setting
from ..errors import ConfigError

SETTING = "AzureWebJobsStorage"
# The documented, public key of Azurite's (and the old storage emulator's) development account.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_DEV_PORTS = {
    "Blob": ("AZURITE_BLOB_PORT", 10000),
    "Queue": ("AZURITE_QUEUE_PORT", 10001),
    "Table": ("AZURITE_TABLE_PORT", 10002),
}
# The provider's default partitionCount (its control queues); the most it allows is 16.
PROVIDER_PARTITIONS = 16

# Characters Azure Tables refuse in PartitionKey and RowKey.
_BAD_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
_ENCODED = "@~"  # no orchestration id starts with '@' (reserved for entities); marks an encoded key
_MAX_KEY = 256


@dataclass(frozen=True, slots=True)
class Account:
    """A parsed connection: the connection string the SDKs take, and what to show the user."""

    connection_string: str
    shown: str
    development: bool


def connection_setting(values: Mapping[str, str]) -> str:
    """The AzureWebJobsStorage value (environment first); ConfigError if it is not set."""
    value = app_setting(SETTING, values)
    if not value.strip():
        raise ConfigError(
            f"--store azure needs the {SETTING} setting: UseDevelopmentStorage=true for Azurite, or a "
            "storage account connection string, in local.settings.json Values or the environment."
        )
    return value.strip()


def parse_account(setting: str) -> Account:
    """Turn the setting into an `Account`; ConfigError if it is not a connection string."""
    parts: dict[str, str] = {}
    for piece in setting.split(";"):
        if not piece.strip():
            continue
        key, sep, value = piece.partition("=")
        if not sep:
            raise ConfigError(f"{SETTING} is not a connection string (no '=' in '{key.strip()[:40]}').")
        parts[key.strip().lower()] = value.strip()
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        endpoints = {
            kind: f"http://127.0.0.1:{app_setting(var) or port}/{DEV_ACCOUNT}"
            for kind, (var, port) in _DEV_PORTS.items()
        }
        text = f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};" + "".join(
            f"{kind}Endpoint={url};" for kind, url in endpoints.items()
        )
        return Account(text, f"Azurite, {endpoints['Table'].rsplit('/', 1)[0]}", True)
    name = parts.get("accountname")
    table = parts.get("tableendpoint")
    if not (name or table) or not ({"accountkey", "sharedaccesssignature"} & parts.keys()):
        raise ConfigError(
            f"{SETTING} must be UseDevelopmentStorage=true or a connection string with AccountName and "
            "AccountKey (or SharedAccessSignature)."
        )
    development = name == DEV_ACCOUNT
    shown = f"Azurite, {table.rsplit('/', 1)[0]}" if development and table else f"account {name or table}"
    return Account(setting, shown, development)


@dataclass(frozen=True, slots=True)
class HubNames:
    """devhost's own tables, queue and container of one task hub (the only ones it writes)."""

    hub: str

    @property
    def instances(self) -> str:
        return f"{self.hub}InstancesDevhost"

    @property
    def history(self) -> str:
        return f"{self.hub}HistoryDevhost"

    @property
    def entities(self) -> str:
        return f"{self.hub}EntitiesDevhost"

    @property
    def tables(self) -> list[str]:
        return [self.instances, self.history, self.entities]

    @property
    def hint_queue(self) -> str:
        return f"{self.hub.lower()}-devhost"

    @property
    def container(self) -> str:
        """Large values, under a folder per instance, and the layout marker at the top."""
        return f"{self.hub.lower()}-devhost"


@dataclass(frozen=True, slots=True)
class ProviderNames:
    """What the Durable extension's Azure Storage provider names a task hub (read, never written).

    Tables keep the hub's case (Azure compares table names case-insensitively); queues and
    containers take it lower-cased. Earlier devhost versions used the same names, in a layout of
    their own.
    """

    hub: str

    @property
    def tables(self) -> list[str]:
        return [f"{self.hub}Instances", f"{self.hub}History", f"{self.hub}Partitions"]

    @property
    def control_queues(self) -> list[str]:
        return [f"{self.hub.lower()}-control-{n:02d}" for n in range(PROVIDER_PARTITIONS)]

    @property
    def work_item_queue(self) -> str:
        return f"{self.hub.lower()}-workitems"

    @property
    def leases(self) -> str:
        """The container holding `taskhub.json` (the task hub description) and partition leases."""
        return f"{self.hub.lower()}-leases"

    @property
    def containers(self) -> list[str]:
        lower = self.hub.lower()
        return [self.leases, f"{lower}-applease", f"{lower}-appleaseinfo", f"{lower}-largemessages"]


def table_key(instance_id: str) -> str:
    """An instance id as a PartitionKey: itself when Azure allows it, else an encoded form.

    The management API refuses ids with / \\ # ? or control characters, but sub-orchestration ids
    come from user code; such an id, a very long one, or one that looks encoded is encoded, so two
    different ids never share a key. Rows also keep the id itself in an `InstanceId` property.
    """
    if (
        not _BAD_KEY.search(instance_id)
        and len(instance_id) <= _MAX_KEY
        and not instance_id.startswith(_ENCODED)
    ):
        return instance_id
    raw = instance_id.encode("utf-8", "surrogatepass")
    if len(raw) > 180:
        return _ENCODED + "sha256-" + hashlib.sha256(raw).hexdigest()
    return _ENCODED + base64.urlsafe_b64encode(raw).decode("ascii")


def blob_prefix(instance_id: str) -> str:
    """The folder of an instance's large payloads in the container."""
    quoted = quote(instance_id.encode("utf-8", "surrogatepass"), safe="")
    return quoted if len(quoted) <= 600 else "sha256-" + hashlib.sha256(quoted.encode()).hexdigest()
