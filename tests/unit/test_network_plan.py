"""The pure parts of environments' networking: /31 bookkeeping, the host's rules, stale tables."""

from __future__ import annotations

import ipaddress

import pytest

from lamina.sandbox.nat import ruleset, stale_tables, table_name
from lamina.sandbox.veth import Subnets
from lamina.settings import Settings

RANGE = ipaddress.IPv4Network("100.96.0.0/29")  # four /31s


def test_subnets_hand_out_each_31_once_until_given_back() -> None:
    subnets = Subnets(RANGE, start=3)
    taken = [subnets.take() for _ in range(4)]
    assert taken == [3, 0, 1, 2]  # from the start, wrapping round
    with pytest.raises(LookupError):
        subnets.take()
    subnets.give_back(1)
    assert subnets.take() == 1


def test_a_31_is_the_host_end_then_the_namespace() -> None:
    subnets = Subnets(RANGE, start=0)
    assert subnets.addresses(0) == ("100.96.0.0", "100.96.0.1")
    assert subnets.addresses(3) == ("100.96.0.6", "100.96.0.7")


def test_a_range_must_hold_two_31s() -> None:
    with pytest.raises(ValueError):
        Subnets(ipaddress.IPv4Network("100.96.0.0/31"))


def test_the_default_range_is_inside_the_shared_address_space() -> None:
    default = ipaddress.IPv4Network(Settings().network_range)
    assert default.subnet_of(ipaddress.IPv4Network("100.64.0.0/10"))
    assert Settings.from_env({"LAMINA_NETWORK_RANGE": "198.51.100.0/24"}).network_range == "198.51.100.0/24"
    assert Settings.from_env({"LAMINA_OUTBOUND": "off"}).outbound_default is False
    assert Settings.from_env({}).outbound_default is True
    assert Settings.from_env({"LAMINA_NETWORK_POOL": "4"}).network_pool_size == 4


def test_the_rules_isolate_every_lamina_link_and_masquerade_only_the_range() -> None:
    text = ruleset("lamina_10_20", ipaddress.IPv4Network("100.96.0.0/12"))
    assert text.startswith("table inet lamina_10_20 {")
    lines = [line.strip() for line in text.splitlines()]
    assert 'iifname "lmn*" drop' in lines  # nothing on the host itself
    assert 'oifname "lmn*" drop' in lines  # nothing into a namespace but replies, accepted just before
    assert lines.index('oifname "lmn*" ct state established,related accept') < lines.index('oifname "lmn*" drop')
    assert 'ip saddr 100.96.0.0/12 oifname != "lmn*" masquerade' in lines


def test_only_tables_of_laminas_that_are_gone_are_stale() -> None:
    listing = "\n".join([
        "table inet filter",
        "table inet " + table_name(10, 500),  # alive
        "table inet " + table_name(11, 600),  # its pid now belongs to a later process
        "table inet " + table_name(12, 700),  # gone
        "table ip lamina_13_800",  # not ours: another family
    ])  # fmt: skip
    alive = {(10, 500), (11, 999)}
    assert stale_tables(listing, lambda pid, start: (pid, start) in alive) == ["lamina_11_600", "lamina_12_700"]
