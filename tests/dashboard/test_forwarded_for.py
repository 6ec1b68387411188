"""The X-Forwarded-For chain the dashboard sends for a browser (a unit: no services)."""

from __future__ import annotations

from dashboard._client import MAX_FORWARDED_HOPS, forwarded_for


def test_the_browsers_peer_is_appended_to_what_reached_the_dashboard() -> None:
    # A browser straight at the dashboard, on the network.
    assert forwarded_for([], "192.0.2.7") == "192.0.2.7"
    # Through a reverse proxy on the same machine: Streamlit names no loopback peer.
    assert forwarded_for(["192.0.2.7"], None) == "192.0.2.7, 127.0.0.1"
    # A browser that writes the header itself stays to the left of the address it came from.
    assert forwarded_for(["10.9.9.9, 10.8.8.8", " "], "192.0.2.7") == (
        "10.9.9.9, 10.8.8.8, 192.0.2.7"
    )


def test_a_long_chain_is_cut_from_the_left() -> None:
    chain = forwarded_for([", ".join(f"10.0.0.{i}" for i in range(100))], "192.0.2.7")
    hops = chain.split(", ")
    assert len(hops) == MAX_FORWARDED_HOPS and hops[-1] == "192.0.2.7"


def test_what_a_header_cannot_carry_is_left_out() -> None:
    """httpx refuses a header with non-ASCII text: the login would fail for that browser."""
    assert forwarded_for(["192.0.2.1, ærlig\u00a0proxy, \x07"], "192.0.2.7") == (
        "192.0.2.1, 192.0.2.7"
    )
