"""An activity taking and returning a custom class; `context` is the worker's invocation context."""

import azure.functions as func
from shared.trip import Leg


def main(leg: Leg, context: func.Context) -> Leg:
    return Leg(leg.city, f"Hello {leg.city} from {context.function_name}")
