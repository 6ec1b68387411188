"""The login throttle per account name and client address, on the real API and database.

Every request of these tests comes from 127.0.0.1, a trusted proxy by default: the address
that counts is the one its X-Forwarded-For names, as when the dashboard or a reverse proxy
logs a person in (docs/api.md, "Logging in").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from stayactive import db
from stayactive.auth._login import client_key
from stayactive.settings import Settings
from tests.api.conftest import PASSWORD, World, build_world

WRONG = "wrong wrong wrong"


def _login(world: World, username: str, password: str, client: str | None) -> httpx.Response:
    headers = {"X-Forwarded-For": client} if client else {}
    with httpx.Client(base_url=world.api.url, timeout=30, headers=headers) as c:
        return c.post("/api/v1/auth/token", data={"username": username, "password": password})


def _rows(world: World, username: str) -> list[tuple[str, str, int]]:
    with world.connect() as conn:
        rows = conn.execute(
            """SELECT scope, client, failures FROM login_throttle
               WHERE username = %s OR scope = 'client' ORDER BY scope, client""",
            (username,),
        ).fetchall()
    return [(str(s), str(c), int(f)) for s, c, f in rows]


def test_failing_from_one_address_locks_nobody_out_elsewhere(api_world: World) -> None:
    """Five failures lock the name from that address only: the person at another address
    logs in; a successful login forgets the name-and-address row (and the address in it)."""
    attacker, nurse = "192.0.2.10", "198.51.100.7"
    for _ in range(5):
        assert _login(api_world, "tenant-a-care", WRONG, attacker).status_code == 401
    locked = _login(api_world, "tenant-a-care", PASSWORD, attacker)
    assert locked.status_code == 429, locked.text
    assert locked.json()["type"].endswith("account-locked")
    assert "for this account" in locked.json()["detail"]
    assert _login(api_world, "tenant-a-care", PASSWORD, nurse).status_code == 200
    # The name's count over every address was reset by the nurse's login; the attacker's
    # address keeps its own rows (a valid login elsewhere must not reset a guesser).
    assert _rows(api_world, "tenant-a-care") == [
        ("account", "", 0),
        ("account_client", attacker, 5),
        ("client", attacker, 5),
    ]
    with api_world.connect() as conn:
        conn.execute("UPDATE login_throttle SET locked_until = now()")
    assert _login(api_world, "tenant-a-care", PASSWORD, attacker).status_code == 200
    assert ("account_client", attacker, 5) not in _rows(api_world, "tenant-a-care")


def test_guessing_across_many_names_locks_the_address(api_world: World) -> None:
    """Thirty failures from one address over thirty names (none reaches five) lock the
    address: even a right password is refused there, and only there."""
    sprayer = "203.0.113.5"
    for i in range(30):
        assert _login(api_world, f"guess-{i}", WRONG, sprayer).status_code == 401
    locked = _login(api_world, "tenant-a-admin", PASSWORD, sprayer)
    assert locked.status_code == 429, locked.text
    assert locked.json()["type"].endswith("client-locked")
    assert "from your address" in locked.json()["detail"]
    assert 25 <= int(locked.headers["Retry-After"]) <= 30
    assert _login(api_world, "tenant-a-admin", PASSWORD, "203.0.113.6").status_code == 200


def test_guessing_one_name_from_many_addresses_locks_it_for_all(api_world: World) -> None:
    """Fifty failures on one name spread over ten addresses lock the name everywhere, so a
    password cannot be guessed by changing address; forty-five do not lock it."""
    for n in range(9):
        for _ in range(5):
            assert _login(api_world, "tenant-a-finance", WRONG, f"192.0.2.{n}").status_code == 401
    assert ("account", "", 45) in _rows(api_world, "tenant-a-finance")
    for _ in range(5):
        _login(api_world, "tenant-a-finance", WRONG, "192.0.2.9")
    locked = _login(api_world, "tenant-a-finance", PASSWORD, "198.51.100.3")
    assert locked.status_code == 429, locked.text
    assert locked.json()["type"].endswith("account-locked")
    assert 25 <= int(locked.headers["Retry-After"]) <= 30


@pytest.fixture
def untrusting_world(settings: Settings, password_hash: str) -> Iterator[World]:
    """A world whose API trusts proxies in 10.0.0.0/8 only: not the tests' 127.0.0.1."""
    yield from build_world(settings.model_copy(update={"api_trusted_proxies": "10.0.0.0/8"}),
                           password_hash)  # fmt: skip


def test_x_forwarded_for_of_an_untrusted_peer_is_ignored(untrusting_world: World) -> None:
    """A client that is no trusted proxy cannot dodge its lock by naming other addresses."""
    for i in range(5):
        _login(untrusting_world, "tenant-a-care", WRONG, f"192.0.2.{i}")
    again = _login(untrusting_world, "tenant-a-care", PASSWORD, "192.0.2.99")
    assert again.status_code == 429, again.text
    assert [c for s, c, _ in _rows(untrusting_world, "tenant-a-care") if s == "client"] == [
        "127.0.0.1"
    ]


def test_addresses_are_kept_only_while_their_failures_count(api_world: World) -> None:
    """An hour after the last failure (and no lock) the rows go, addresses with them: at the
    next failed login, and by `db maintain`."""
    _login(api_world, "tenant-a-care", WRONG, "192.0.2.1")
    _login(api_world, "tenant-a-admin", WRONG, "192.0.2.2")
    with api_world.connect() as conn:
        conn.execute(
            "UPDATE login_throttle SET last_failed_at = now() - %s WHERE client = '192.0.2.1'",
            (db.LOGIN_FAILURE_WINDOW + timedelta(minutes=1),),
        )
    _login(api_world, "nobody-here", WRONG, "192.0.2.3")
    with api_world.connect() as conn:
        clients = {str(r[0]) for r in conn.execute("SELECT DISTINCT client FROM login_throttle")}
        assert "192.0.2.1" not in clients and {"192.0.2.2", "192.0.2.3"} <= clients
        conn.execute("UPDATE login_throttle SET last_failed_at = now() - interval '2 hours'")
    report = db.maintain(api_world.settings)
    assert report.deleted_login_throttle >= 4
    with api_world.connect() as conn:
        assert conn.execute("SELECT count(*) FROM login_throttle").fetchone() == (0,)


def test_how_addresses_are_counted() -> None:
    """IPv6 clients by their /64 (one subscriber holds a whole /64), IPv4 as they are."""
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key(None) == "unknown"
    assert len(client_key("x" * 500)) == 64
