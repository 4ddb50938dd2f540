"""Greets each city of a Trip (custom class in, custom class to and from the activity), reporting its
progress as custom status, then has the Summarize sub-orchestration put the greetings together."""

import azure.durable_functions as df

from ..shared.trip import Leg, Summary, Trip  # a relative import: the function is the module __app__.PlanTrip


def orchestrator_function(context: df.DurableOrchestrationContext):
    trip = context.get_input()
    if isinstance(trip, list):  # plain JSON cities, from the generic starters
        trip = Trip("guest", trip)
    greetings = []
    for city in trip.cities:
        leg = yield context.call_activity("Greet", Leg(city))
        greetings.append(leg.greeting)
        context.set_custom_status(
            {"traveller": trip.traveller, "visited": len(greetings), "of": len(trip.cities)}
        )
    lines = yield context.call_sub_orchestrator(
        "Summarize", Summary(greetings), f"{context.instance_id}:summary"
    )
    return {"traveller": trip.traveller, "summary": lines}


main = df.Orchestrator.create(orchestrator_function)
