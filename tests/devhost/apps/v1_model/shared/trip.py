"""Custom classes that cross the durable boundary: the SDK serializes them with to_json/from_json."""

from __future__ import annotations

import json


class Trip:
    """The cities to visit, in order."""

    def __init__(self, traveller: str, cities: list[str]) -> None:
        self.traveller = traveller
        self.cities = cities

    @staticmethod
    def to_json(obj: Trip) -> str:
        return json.dumps({"traveller": obj.traveller, "cities": obj.cities})

    @staticmethod
    def from_json(text: str) -> Trip:
        data = json.loads(text)
        return Trip(data["traveller"], data["cities"])


class Leg:
    """One city of a trip, as an activity's input and output."""

    def __init__(self, city: str, greeting: str = "") -> None:
        self.city = city
        self.greeting = greeting

    @staticmethod
    def to_json(obj: Leg) -> str:
        return json.dumps([obj.city, obj.greeting])

    @staticmethod
    def from_json(text: str) -> Leg:
        city, greeting = json.loads(text)
        return Leg(city, greeting)


class Summary:
    """The greetings, as the input of the sub-orchestration."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    @staticmethod
    def to_json(obj: Summary) -> str:
        return json.dumps(obj.lines)

    @staticmethod
    def from_json(text: str) -> Summary:
        return Summary(json.loads(text))
