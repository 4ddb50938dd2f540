"""Generated host keys can be passed on a command line as they are."""

from __future__ import annotations

from unittest import mock

from devhost.api import auth


def test_a_key_never_starts_with_a_dash() -> None:
    drawn = iter(["-leading", "-again", "plain-key"])
    with mock.patch.object(auth.secrets, "token_urlsafe", lambda n: next(drawn)):
        assert auth._new_key() == "plain-key"
