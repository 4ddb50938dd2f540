"""Activity CalculateDiscount: the discount offered to a user by the ReserveTicket orchestrator."""

from __future__ import annotations

import hashlib

import azure.durable_functions as df

from orchestrators.names import CALCULATE_DISCOUNT

bp = df.Blueprint()

# Offered discounts, in percent. A user always gets the same one, so the demo is reproducible.
DISCOUNT_STEPS: tuple[int, ...] = (5, 10, 15, 20, 25, 30)


@bp.function_name(CALCULATE_DISCOUNT)
@bp.activity_trigger(input_name="user_id")
def calculate_discount(user_id: str) -> int:
    """Return the discount percent for `user_id`, derived from a hash of the id.

    A stable hash (not Python's salted hash()) keeps the answer identical across processes and
    restarts; there is no randomness, so a retried activity offers the same discount.
    """
    digest = hashlib.sha256(str(user_id).encode("utf-8")).digest()
    return DISCOUNT_STEPS[digest[0] % len(DISCOUNT_STEPS)]
