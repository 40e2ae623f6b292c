"""Output to log lines (sandbox/output.py): splitting, truncation, the budget and the tail, with plain values."""

from __future__ import annotations

from lamina.sandbox.output import MAX_LINE_BYTES, TAIL_BYTES, Dropped, OutputLines, Tail, decode
from lamina.store.base import LOG_EVENT_OVERHEAD

BIG = 1 << 40  # a budget nothing reaches


def feed_all(output: OutputLines, *chunks: bytes) -> list[bytes]:
    return [line for chunk in chunks for line in output.feed(chunk)] + output.finish()


def test_lines_are_split_on_newlines_wherever_the_chunks_end() -> None:
    text = b"one\ntwo\n\nthree\nfour"
    for size in (1, 2, 3, 5, len(text)):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        assert feed_all(OutputLines(BIG), *chunks) == [b"one", b"two", b"", b"three", b"four"], size


def test_an_unfinished_line_waits_for_its_newline_or_the_end() -> None:
    output = OutputLines(BIG)
    assert output.feed(b"par") == []
    assert output.feed(b"tial") == []
    assert output.feed(b"\nnext") == [b"partial"]
    assert output.finish() == [b"next"]
    assert output.finish() == []


def test_a_long_line_is_truncated_at_the_limit_and_the_next_line_is_whole() -> None:
    output = OutputLines(BIG, max_line_bytes=10)
    assert feed_all(output, b"0123456789", b"abcdef", b"\nshort\n", b"x" * 10 + b"\n") == [
        b"0123456789", b"short", b"x" * 10,
    ]  # fmt: skip


def test_truncation_does_not_split_a_character() -> None:
    for prefix in (b"", b"a", b"ab", b"abc"):
        line = prefix + "€".encode() * 10  # three bytes a character
        (kept,) = feed_all(OutputLines(BIG, max_line_bytes=10), line + b"\n")
        assert len(kept) <= 10
        assert kept.decode() == line.decode()[: len(kept.decode())], (prefix, kept)
        assert len(kept) > 10 - 3


def test_lambdas_limit_is_the_event_size_less_its_overhead_and_the_newline() -> None:
    assert MAX_LINE_BYTES == 262_144 - 26 - 1
    (kept,) = feed_all(OutputLines(BIG), b"y" * (MAX_LINE_BYTES + 1) + b"\n")
    assert kept == b"y" * MAX_LINE_BYTES


def test_a_line_without_end_is_kept_in_bounded_memory() -> None:
    # 50 MB in 64 KB reads, kept only up to the limit (re-joining the line at each read would copy 20 GB).
    output = OutputLines(BIG)
    chunk = b"z" * 65536
    for _ in range(800):
        assert output.feed(chunk) == []
    assert sum(map(len, output._pieces)) <= MAX_LINE_BYTES + 3
    assert output.finish() == [b"z" * MAX_LINE_BYTES]


def test_the_budget_keeps_a_prefix_and_counts_the_rest() -> None:
    line_cost = 3 + 1 + LOG_EVENT_OVERHEAD  # "aaa", its newline and its event's overhead
    output = OutputLines(budget=2 * line_cost + 5)
    assert output.feed(b"aaa\nbbb\nccc\nd") == [b"aaa", b"bbb"]
    assert output.feed(b"\ne\n") == []  # the budget is spent: nothing more until it is renewed
    assert output.finish() == []
    assert output.renew() == Dropped(lines=3, bytes=len(b"ccc\nd\ne\n"))
    assert feed_all(output, b"fff\n") == [b"fff"]
    assert output.renew() is None


def test_a_line_that_does_not_fit_ends_the_budget_even_if_later_ones_would() -> None:
    output = OutputLines(budget=40)
    assert feed_all(output, b"a\n" + b"x" * 20 + b"\nb\n", b"tail") == [b"a"]
    assert output.renew() == Dropped(lines=3, bytes=21 + 2 + 4)


def test_an_unfinished_line_when_the_budget_is_renewed_goes_on_as_a_line_of_its_own() -> None:
    output = OutputLines(budget=32)  # one short line: 1 to 5 bytes, its newline and 26 of overhead
    assert output.feed(b"a\nb\npart") == [b"a"]
    assert output.renew() == Dropped(lines=1, bytes=len(b"b\npart"))
    assert feed_all(output, b"rest\n") == [b"rest"]

    kept = OutputLines(budget=100)
    assert kept.feed(b"start of ") == []
    assert kept.renew() is None
    assert kept.feed(b"a line\n") == [b"start of a line"]


def test_the_notice_says_how_much_and_why() -> None:
    notice = Dropped(lines=2, bytes=1234).notice(10)
    assert "1234 bytes" in notice and "2 lines" in notice and "10 bytes" in notice


def test_decode_replaces_invalid_bytes_and_stays_within_the_limit() -> None:
    assert decode(b"caf\xc3\xa9 \xff") == "café \ufffd"
    text = decode(b"\xff" * 10, max_bytes=10)
    assert len(text.encode()) <= 10 and set(text) == {"\ufffd"}


def test_tail_keeps_the_last_4_kb_of_lines_and_newlines() -> None:
    tail = Tail()
    lines = [f"line {n:05d}" for n in range(2000)]
    for line in lines:
        tail.append(line)
    expected = ("\n".join(lines) + "\n").encode()[-TAIL_BYTES:]
    assert tail.value() == expected

    long = Tail()
    long.append("a")
    long.append("b" * 10_000)
    assert long.value() == (b"b" * 10_000 + b"\n")[-TAIL_BYTES:]

    euros = Tail()
    euros.append("€" * 2000)  # three bytes a character: 4 KB falls inside one
    assert euros.value() == ("€" * 1365 + "\n").encode()

    both = Tail()
    both.append("START")
    both.extend(tail)
    assert both.value() == expected
