"""A few SIGKILLs of `revive train` (issue 27, item 5); `make kill-test` does 20.

See tests/kill_training.py: after each kill the run's latest checkpoint is complete and
the newest complete one, every checkpoint equals an uninterrupted run's at that step
(tensor for tensor), an export started during the run is a whole set or one line, and
the resumed run finishes bit-equal to the uninterrupted one.
"""

from __future__ import annotations

from tests.kill_training import campaign


def test_a_killed_training_run_resumes_exactly(tmp_path):
    report = campaign(kills=3, seed=1, folder=tmp_path)
    assert report.problems == []
    assert report.kills == 3 and report.resumes_checked >= 1
    assert report.checkpoints_compared >= 1
