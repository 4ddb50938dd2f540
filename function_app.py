"""The Functions app: one DFApp with every blueprint registered. Function bodies live in the packages."""

import azure.durable_functions as df
import azure.functions as func

from activities import discount, say_hello, settings
from clients import http_start, progress_api, progress_page, start_and_wait
from orchestrators import city_recommender, hello_sequence, reserve_ticket, set_status_test

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for module in (
    hello_sequence,
    city_recommender,
    reserve_ticket,
    set_status_test,
    say_hello,
    discount,
    settings,
    http_start,
    start_and_wait,
    progress_api,
    progress_page,
):
    app.register_functions(module.bp)
