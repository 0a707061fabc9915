"""The engine worker: jobs run off the GUI thread, errors and cancels come back as signals."""

import threading

import pytest

from engine.errors import ImageReadError
from engine.progress import ProgressEvent
from gui.worker import EngineHost, Job, worker_threads


@pytest.fixture
def host(qapp):
    engine = EngineHost(restorer_factory=lambda: object())
    yield engine
    engine.shutdown()


def test_jobs_run_on_the_worker_thread(qtbot, host):
    seen = {}

    def run(ctx):
        seen["thread"] = threading.current_thread()
        ctx.progress(ProgressEvent("restore", 1, 2))
        return 42

    job = Job("restore", run)
    results = []
    host.result.connect(lambda j, value: results.append((j, value, threading.current_thread())))
    with qtbot.waitSignals([host.progress, host.result, host.finished]):
        host.submit(job)
    assert seen["thread"] is not threading.main_thread()
    assert results == [(job, 42, threading.main_thread())]  # delivered on the GUI thread


def test_errors_and_cancels_are_signals_not_crashes(qtbot, host):
    def bad(ctx):
        raise ImageReadError("broken.jpg: not an image")

    with qtbot.waitSignal(host.error) as blocker:
        host.submit(Job("load", bad))
    assert blocker.args[1] == "broken.jpg: not an image"

    def bug(ctx):
        raise ZeroDivisionError("oops")

    with qtbot.waitSignal(host.error) as blocker:
        host.submit(Job("load", bug))
    assert "ZeroDivisionError" in blocker.args[1]

    gate = threading.Event()

    def slow(ctx):
        gate.wait(10)
        ctx.cancel.raise_if_cancelled()
        return "finished anyway"

    first, second = Job("restore", slow), Job("restore", lambda ctx: "never")
    cancelled = []
    host.cancelled.connect(cancelled.append)
    host.submit(first)
    host.submit(second)
    assert host.cancel_all(kinds=("restore",)) == 2
    gate.set()
    qtbot.waitUntil(lambda: len(cancelled) == 2, timeout=10000)
    assert cancelled == [first, second]
    assert not host.busy()


def test_worker_leaves_a_core_for_the_gui():
    assert worker_threads(1) == 1
    assert worker_threads(2) == 1
    assert worker_threads(16) == 15
