"""The filter a purge by filter really applies on Azure, and the warnings devhost logs about it.

Sources: azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs
(HandleDeleteHistoryWithFiltersRequestAsync reads createdTimeFrom, createdTimeTo and runtimeStatus,
never instanceIdPrefix) and DurableTask.AzureStorage, src/DurableTask.AzureStorage/Tracking/
AzureTableTrackingStore.cs (PurgeInstanceHistoryAsync keeps only Completed, Terminated, Canceled and
Failed of runtimeStatus; an empty list means no status filter, so running instances are deleted too).
"""

from __future__ import annotations

import logging

from ..store import InstanceQuery, RuntimeStatus

log = logging.getLogger("devhost.api")


def purge_query(requested: InstanceQuery) -> InstanceQuery:
    """`requested` as Azure applies it to a purge, with a warning for each part it drops."""
    if requested.id_prefix:
        log.warning(
            "Purge by filter: instanceIdPrefix=%r is ignored, as on Azure; instances of every id in "
            "the time range are purged.",
            requested.id_prefix,
        )
    terminal = tuple(s for s in requested.statuses if s.is_terminal)
    if not terminal:
        dropped = [s.value for s in requested.statuses]
        because = (
            f"runtimeStatus={','.join(dropped)} holds no finished status, so Azure Storage drops it"
            if dropped
            else "no runtimeStatus was given"
        )
        log.warning(
            "Purge by filter: %s and purges instances of EVERY status in the time range, running ones "
            "included, as on Azure. Name finished statuses (runtimeStatus=Completed,Failed,Terminated) "
            "to keep running instances.",
            because,
        )
        terminal = tuple(RuntimeStatus)
    elif len(terminal) < len(requested.statuses):
        log.warning(
            "Purge by filter: %s ignored, as on Azure (only finished statuses are purged).",
            ", ".join(s.value for s in requested.statuses if not s.is_terminal),
        )
    return InstanceQuery(requested.created_from, requested.created_to, terminal, None)
