"""A durable entity (function.json folder): every operation adds one to its state."""

import azure.durable_functions as df


def entity_function(context: df.DurableEntityContext):
    context.set_state((context.get_state(lambda: 0) or 0) + 1)


main = df.Entity.create(entity_function)
