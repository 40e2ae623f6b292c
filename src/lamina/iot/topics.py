"""MQTT topic names and filters (MQTT 3.1.1, section 4.7): validation and matching, pure.

A filter's levels are separated by ``/``; ``+`` stands for exactly one level and ``#`` (the last
level only) for any number of levels, none included (``a/#`` matches ``a``). A topic whose name
starts with ``$`` (the broker's own, e.g. ``$SYS/...``) is matched by no filter that starts with a
wildcard, as the specification requires.
"""

from __future__ import annotations

# AWS IoT's limits: a topic of at most 256 UTF-8 bytes and 8 levels (7 slashes) in a rule's FROM.
MAX_TOPIC_BYTES = 256
MAX_LEVELS = 8


def filter_problem(topic_filter: str) -> str | None:
    """Why ``topic_filter`` is not a valid MQTT topic filter for a rule, or None if it is."""
    if not topic_filter:
        return "the topic filter is empty"
    if "\x00" in topic_filter:
        return "the topic filter contains a NUL character"
    if len(topic_filter.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        return f"the topic filter is longer than {MAX_TOPIC_BYTES} bytes"
    levels = topic_filter.split("/")
    if len(levels) > MAX_LEVELS:
        return f"the topic filter has more than {MAX_LEVELS} levels"
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level, and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def matches(topic_filter: str, topic: str) -> bool:
    """Whether the topic name ``topic`` is matched by ``topic_filter`` (a valid filter)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    want = topic_filter.split("/")
    have = topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have):
            return False
        if level != "+" and level != have[i]:
            return False
    return len(want) == len(have)
