"""The login throttle per account name and client address, on the real API and database.

Every request of these tests comes from 127.0.0.1, a trusted proxy by default: the address
that counts is the one its X-Forwarded-For names, as when the dashboard or a reverse proxy
logs a person in (docs/api.md, "Logging in").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from stayactive import db
from stayactive.auth._login import LoginPolicy, client_key
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
    # The name's count over every address was reset by the nurse's login, and the nurse's
    # address is now known for the name; the attacker's address keeps its own counts (a valid
    # login elsewhere must not reset a guesser).
    assert _rows(api_world, "tenant-a-care") == [
        ("account", "", 0),
        ("account_client", attacker, 5),
        ("account_client", nurse, 0),
        ("client", attacker, 5),
        ("client", nurse, 0),
    ]
    with api_world.connect() as conn:
        conn.execute("UPDATE login_throttle SET locked_until = now()")
    assert _login(api_world, "tenant-a-care", PASSWORD, attacker).status_code == 200
    assert ("account_client", attacker, 0) in _rows(api_world, "tenant-a-care")


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
    with api_world.connect() as conn:
        assert conn.execute(
            """SELECT locked_until FROM login_throttle
               WHERE scope = 'account' AND username = 'tenant-a-finance'"""
        ).fetchone() == (None,)
    for _ in range(5):
        assert _login(api_world, "tenant-a-finance", WRONG, "192.0.2.9").status_code == 401
    locked = _login(api_world, "tenant-a-finance", PASSWORD, "198.51.100.3")
    assert locked.status_code == 429, locked.text
    assert locked.json()["type"].endswith("account-locked")
    assert 25 <= int(locked.headers["Retry-After"]) <= 30


def test_a_known_address_is_exempt_from_the_wider_locks(api_world: World) -> None:
    """Where a person logged in before, failures elsewhere do not lock them out: not fifty on
    their name from other addresses, not thirty from their own shared address (a care home
    behind one address) on other names. Unknown there, the same locks hold."""
    home, office, shared = "198.51.100.20", "198.51.100.21", "203.0.113.50"
    assert _login(api_world, "tenant-a-admin", PASSWORD, home).status_code == 200
    assert _login(api_world, "tenant-a-care", PASSWORD, shared).status_code == 200
    for n in range(10):
        for _ in range(5):
            _login(api_world, "tenant-a-admin", WRONG, f"192.0.2.{n}")
    for i in range(30):
        _login(api_world, f"guess-{i}", WRONG, shared)
    assert _login(api_world, "tenant-a-admin", PASSWORD, office).status_code == 429
    assert _login(api_world, "tenant-a-admin", PASSWORD, home).status_code == 200
    # The login at home does not lift the lock over every address (nor reset its count): a
    # guesser spread over many addresses gets no fresh fifty.
    assert _login(api_world, "tenant-a-admin", PASSWORD, office).status_code == 429
    assert _login(api_world, "tenant-a-finance", PASSWORD, shared).status_code == 429
    assert _login(api_world, "tenant-a-care", PASSWORD, shared).status_code == 200
    # Failures from a known address still lock the name there.
    for _ in range(5):
        _login(api_world, "tenant-a-care", WRONG, shared)
    assert _login(api_world, "tenant-a-care", PASSWORD, shared).status_code == 429


@pytest.fixture
def known_world(settings: Settings, password_hash: str) -> Iterator[World]:
    """A world whose names lock from one address only after 100 failures, and addresses after
    five over every name: the address's lock at a known address is then reached first."""
    update = {"api_login_max_failures": 100, "api_login_max_failures_per_client": 5}
    yield from build_world(settings.model_copy(update=update), password_hash)


def test_a_known_address_still_locks_after_four_times_its_threshold(known_world: World) -> None:
    """An address where names are known is not a free field for guessing at them: its own
    lock applies there too, from four times its threshold (here 20)."""
    shared = "203.0.113.60"
    assert _login(known_world, "tenant-a-care", PASSWORD, shared).status_code == 200
    for _ in range(19):
        assert _login(known_world, "tenant-a-care", WRONG, shared).status_code == 401
    assert _login(known_world, "tenant-a-care", PASSWORD, shared).status_code == 200
    for _ in range(20):
        _login(known_world, "tenant-a-care", WRONG, shared)
    locked = _login(known_world, "tenant-a-care", PASSWORD, shared)
    assert locked.status_code == 429 and locked.json()["type"].endswith("client-locked")


def test_an_address_that_is_no_address_never_becomes_known(api_world: World) -> None:
    """A login whose address is missing or made up counts in a shared bucket, which must not
    become known for the name (every such client would then be exempt)."""
    assert _login(api_world, "tenant-a-care", PASSWORD, "not-an-address").status_code == 200
    with api_world.connect() as conn:
        row = conn.execute(
            """SELECT last_success_at FROM login_throttle
               WHERE scope = 'account_client' AND client = 'invalid'"""
        ).fetchone()
    assert row == (None,)


def test_a_flood_on_one_name_makes_a_login_wait_five_seconds_at_most(api_world: World) -> None:
    """Logins of one name run one at a time; while another holds the name's row for long, a
    login gives up after five seconds with 429 instead of holding a connection."""
    with api_world.connect() as holder:
        holder.execute("BEGIN")
        holder.execute(
            """INSERT INTO login_throttle (scope, username, client)
               VALUES ('account', 'tenant-a-care', '') ON CONFLICT DO NOTHING"""
        )
        holder.execute(
            "SELECT 1 FROM login_throttle WHERE scope = 'account' "
            "AND username = 'tenant-a-care' FOR UPDATE"
        )
        t0 = time.monotonic()
        waited = _login(api_world, "tenant-a-care", PASSWORD, "198.51.100.9")
        took = time.monotonic() - t0
        holder.execute("ROLLBACK")
    assert waited.status_code == 429 and waited.headers["Retry-After"] == "5", waited.text
    assert 4.5 <= took < 15
    assert _login(api_world, "tenant-a-care", PASSWORD, "198.51.100.9").status_code == 200


@pytest.fixture
def tight_world(settings: Settings, password_hash: str) -> Iterator[World]:
    """A world whose addresses lock after five failures over every name."""
    tight = settings.model_copy(update={"api_login_max_failures_per_client": 5})
    yield from build_world(tight, password_hash)


def test_parallel_guesses_from_one_address_do_not_race_past_its_lock(tight_world: World) -> None:
    """Logins from one unknown address run one at a time: of twelve guesses on twelve names
    sent at once, exactly the threshold's five are checked, the rest refused."""

    def guess(i: int) -> int:
        return _login(tight_world, f"guess-{i}", WRONG, "203.0.113.9").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(12)))
    assert sorted(codes) == [401] * 5 + [429] * 7, codes


def test_a_trusted_proxy_chain_and_ipv6_are_read_from_the_right(api_world: World) -> None:
    """The client is the right-most address a trusted proxy did not add (what the client
    wrote to the left of it counts for nothing); an IPv6 client is counted by its /64."""
    _login(api_world, "tenant-a-care", WRONG, "6.6.6.6, 192.0.2.1")
    _login(api_world, "tenant-a-care", WRONG, "2001:db8:1:2::5")
    clients = {c for s, c, _ in _rows(api_world, "tenant-a-care") if s == "client"}
    assert clients == {"192.0.2.1", "2001:db8:1:2::/64"}


def test_a_name_no_account_can_have_is_refused_and_not_kept(api_world: World) -> None:
    for name in ("x" * 3000, "Ærlig navn med mellomrom", "-leading-dash"):
        assert _login(api_world, name, WRONG, "192.0.2.77").status_code == 401
    with api_world.connect() as conn:
        assert conn.execute("SELECT count(*) FROM login_throttle").fetchone() == (0,)


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


def test_addresses_are_kept_only_while_they_count(api_world: World) -> None:
    """`db maintain` (and the API every few minutes, with the same statement) deletes a row an
    hour past its last failure once it is not locked, and a known address 30 days after its
    last login; a row that still counts stays."""
    assert _login(api_world, "tenant-a-admin", PASSWORD, "198.51.100.1").status_code == 200
    _login(api_world, "tenant-a-care", WRONG, "192.0.2.1")
    _login(api_world, "tenant-a-finance", WRONG, "192.0.2.2")
    with api_world.connect() as conn:
        conn.execute(
            "UPDATE login_throttle SET last_failed_at = now() - %s WHERE username <> "
            "'tenant-a-finance' AND client <> '192.0.2.2'",
            (db.LOGIN_FAILURE_WINDOW + timedelta(minutes=1),),
        )
    report = db.maintain(api_world.settings)
    with api_world.connect() as conn:
        left = set(conn.execute("SELECT scope, username, client FROM login_throttle"))
    assert left == {
        ("account_client", "tenant-a-admin", "198.51.100.1"),  # known, for 30 days
        ("account", "tenant-a-finance", ""),
        ("account_client", "tenant-a-finance", "192.0.2.2"),
        ("client", "", "192.0.2.2"),
    }
    assert report.deleted_login_throttle == 5  # admin's name and address; care's three
    with api_world.connect() as conn:
        conn.execute("UPDATE login_throttle SET last_failed_at = NULL")
        conn.execute(
            "UPDATE login_throttle SET last_success_at = now() - %s WHERE scope = 'account_client'",
            (db.LOGIN_KNOWN_CLIENT + timedelta(minutes=1),),
        )
    db.maintain(api_world.settings)
    with api_world.connect() as conn:
        assert conn.execute("SELECT count(*) FROM login_throttle").fetchone() == (0,)


def test_how_addresses_are_counted() -> None:
    """IPv6 clients by their /64 (one subscriber holds a whole /64), IPv4 as they are, and
    anything that is no address in one bucket (made-up values get no count of their own)."""
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key(None) == "unknown"
    assert client_key("x" * 500) == client_key("unknown-proxy") == "invalid"


def test_the_lock_stops_doubling_long_before_a_float_overflows() -> None:
    """After about a thousand failures 30 s × 2^n overflowed: a 500, and nothing counted."""
    policy = LoginPolicy()
    assert policy.lock_after(10**6, "account") == policy.lockout_s == 900.0
    assert policy.lock_after(5) == 30.0 and policy.lock_after(6) == 60.0
    assert policy.lock_after(4) is None
