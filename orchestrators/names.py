"""Every name the app registers or exchanges: functions, external events and app settings.

Orchestrators, activities and clients refer to each other only through these constants, so a
rename happens in one place and a typo is an import error instead of a runtime "function not found".
The function names follow the reference article so its curl commands and client code carry over.
"""

from __future__ import annotations

# Orchestrators.
HELLO_SEQUENCE = "E1_HelloSequence"
CITY_RECOMMENDER = "CityRecommender"
RESERVE_TICKET = "ReserveTicket"
SET_STATUS_TEST = "SetStatusTest"

ORCHESTRATORS: tuple[str, ...] = (HELLO_SEQUENCE, CITY_RECOMMENDER, RESERVE_TICKET, SET_STATUS_TEST)

# Activities.
SAY_HELLO = "E1_SayHello"
CALCULATE_DISCOUNT = "CalculateDiscount"
GET_DEADLINE_SECONDS = "GetDeadlineSeconds"

# HTTP clients.
HTTP_START = "HttpStart"
HTTP_START_AND_WAIT = "HttpStartAndWait"

# The progress page: the page and its files, and the routes its script calls.
PROGRESS_PAGE = "ProgressPage"
PROGRESS_ASSET = "ProgressAsset"
PROGRESS_STATUS = "ProgressStatus"
PROGRESS_START = "ProgressStart"
PROGRESS_EVENT = "ProgressEvent"

# External events the orchestrators wait for.
CITY_SELECTED = "CitySelected"
BOOKING_CONFIRMED = "BookingConfirmed"
PROCEED = "Proceed"

# App settings holding deadlines, read by the GetDeadlineSeconds activity.
RESERVATION_DEADLINE_SETTING = "RESERVATION_DEADLINE_SECONDS"
CITY_SELECTION_DEADLINE_SETTING = "CITY_SELECTION_DEADLINE_SECONDS"
