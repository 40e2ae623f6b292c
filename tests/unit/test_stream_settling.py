"""What a settled stream batch comes to: checkpoints, retries, bisecting, giving up (pure)."""

from __future__ import annotations

from lamina.streams.settling import Progress, Status, expired, settle

D, F, R = Status.DONE, Status.FAILED, Status.RELEASED


def test_a_whole_success_checkpoints_past_the_batch() -> None:
    out = settle([D] * 4, Progress(2), max_retries=-1, bisect=False)
    assert (out.done, out.given_up, out.retry, out.progress) == (4, None, False, Progress(0))


def test_a_function_error_retries_the_batch_until_the_retries_run_out() -> None:
    progress = Progress()
    for attempt in (1, 2):
        out = settle([F] * 3, progress, max_retries=2, bisect=False)
        assert (out.done, out.given_up, out.retry) == (0, None, True)
        progress = out.progress
        assert progress.attempts == attempt
    out = settle([F] * 3, progress, max_retries=2, bisect=False)
    assert (out.done, out.given_up, out.attempts, out.retry, out.progress) == (3, (0, 3), 3, False, Progress(0))


def test_no_retries_gives_up_at_the_first_failure_and_minus_one_never() -> None:
    assert settle([F], Progress(), max_retries=0, bisect=False).given_up == (0, 1)
    assert settle([F], Progress(500), max_retries=-1, bisect=False).given_up is None


def test_batch_item_failures_checkpoint_up_to_the_first_failed_record() -> None:
    out = settle([D, D, F, F], Progress(3), max_retries=5, bisect=False)
    assert (out.done, out.retry, out.progress.attempts) == (2, True, 1)


def test_bisecting_splits_a_failed_batch_in_halves_without_counting_a_retry() -> None:
    out = settle([F] * 5, Progress(), max_retries=0, bisect=True)
    assert (out.done, out.given_up, out.retry, out.progress) == (0, None, False, Progress(0, (3, 2)))
    assert out.progress.next_size(100) == 3
    out = settle([D] * 3, out.progress, max_retries=0, bisect=True)  # the first half succeeds
    assert out.progress == Progress(0, (2,)) and out.progress.next_size(100) == 2
    out = settle([F, F], out.progress, max_retries=0, bisect=True)  # the second half fails: halves again
    assert out.progress == Progress(0, (1, 1))
    out = settle([F], out.progress, max_retries=0, bisect=True)  # one record cannot be split: given up
    assert (out.done, out.given_up, out.progress) == (1, (0, 1), Progress(0, (1,)))
    out = settle([D], out.progress, max_retries=0, bisect=True)
    assert out.progress == Progress(0, ()) and out.progress.next_size(100) == 100


def test_bisecting_after_item_failures_retries_the_rest_as_a_batch_of_its_own() -> None:
    out = settle([D, F, F, F], Progress(0, (4, 4)), max_retries=3, bisect=True)
    assert (out.done, out.retry, out.progress) == (1, True, Progress(1, (3, 4)))


def test_records_not_attempted_come_again_uncounted() -> None:
    out = settle([D, R, R], Progress(2), max_retries=1, bisect=False)
    assert (out.done, out.retry, out.given_up, out.progress.attempts) == (1, False, None, 0)
    out = settle([R, R], Progress(2), max_retries=1, bisect=False)
    assert (out.done, out.progress.attempts) == (0, 2)


def test_records_older_than_the_maximum_age_expire_from_the_front() -> None:
    now = 1_000_000
    assert expired([now - 61_000, now - 59_500, now - 1_000], now, 60) == 1
    assert expired([now - 61_000, now - 62_000], now, 60) == 2
    assert expired([0, 1], now, -1) == 0
