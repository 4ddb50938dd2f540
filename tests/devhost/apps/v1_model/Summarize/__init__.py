"""A sub-orchestration with a custom class instance as its input."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    summary = context.get_input()
    context.set_custom_status("summarizing")
    return [f"{i + 1}. {line}" for i, line in enumerate(summary.lines)]
    yield  # an orchestrator is a generator, even one that schedules nothing


main = df.Orchestrator.create(orchestrator_function)
