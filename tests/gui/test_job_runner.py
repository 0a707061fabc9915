"""JobRunner: callbacks on the GUI thread, in order; busy state; errors; cancel; stale answers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.errors import ImageReadError
from engine.progress import ProgressEvent
from gui.jobs import JobRunner
from gui.photo_controller import PhotoController
from gui.worker import EngineHost

TIMEOUT_MS = 10_000


@pytest.fixture
def runner(qapp):
    jobs = JobRunner(EngineHost(restorer_factory=lambda: object()))
    yield jobs
    jobs.shutdown()


def test_callbacks_run_on_the_gui_thread_in_order(qtbot, runner):
    heard: list[tuple[str, object, threading.Thread]] = []

    def note(what: str):
        return lambda *args: heard.append(
            (what, args[0] if args else None, threading.current_thread())
        )

    def run(ctx):
        ctx.progress(ProgressEvent("restore", 1, 2))
        return threading.current_thread()

    runner.submit(
        "restore",
        run,
        on_started=note("started"),
        on_progress=note("progress"),
        on_result=note("result"),
        on_done=note("done"),
    )
    qtbot.waitUntil(lambda: len(heard) == 4, timeout=TIMEOUT_MS)
    assert [h[0] for h in heard] == ["started", "progress", "result", "done"]
    assert all(h[2] is threading.main_thread() for h in heard)
    assert heard[2][1] is not threading.main_thread()  # the work ran on the worker
    assert isinstance(heard[1][1], ProgressEvent)


def test_jobs_run_in_submission_order(qtbot, runner):
    gate, ran, answered = threading.Event(), [], []

    def job(n):
        def run(ctx):
            gate.wait(10)
            ran.append(n)
            return n

        return run

    for n in range(5):
        runner.submit("load", job(n), on_result=answered.append)
    gate.set()
    qtbot.waitUntil(lambda: len(answered) == 5, timeout=TIMEOUT_MS)
    assert ran == answered == [0, 1, 2, 3, 4]
    qtbot.waitUntil(lambda: not runner.has_work(), timeout=TIMEOUT_MS)


def test_busy_signal_follows_busy_jobs_only(qtbot, runner):
    changes: list[bool] = []
    started, progress = [], []
    runner.busyChanged.connect(changes.append)
    runner.busyStarted.connect(started.append)
    runner.busyProgress.connect(lambda job, event: progress.append(event))

    def run(ctx):
        ctx.progress(ProgressEvent("detect", 1, 1))
        return "ok"

    quiet = runner.submit("load", run)
    assert not runner.is_busy() and changes == []
    gate = threading.Event()
    first = runner.submit("restore", lambda ctx: gate.wait(10), busy=True, label="first")
    second = runner.submit("restore", run, busy=True, label="second")
    assert runner.is_busy() and changes == [True]  # once for both
    gate.set()
    qtbot.waitUntil(lambda: changes == [True, False], timeout=TIMEOUT_MS)
    assert not runner.is_busy()
    assert started == [first, second] and quiet not in started
    assert len(progress) == 1  # the quiet job's progress is not the status bar's business


def test_errors_go_to_on_error_or_out_of_unhandled_error(qtbot, runner):
    def bad(ctx):
        raise ImageReadError("broken.jpg: not an image")

    errors, unhandled, done = [], [], []
    runner.unhandledError.connect(unhandled.append)
    runner.submit("load", bad, on_error=errors.append, on_done=lambda: done.append(1))
    runner.submit("load", bad, on_done=lambda: done.append(2))
    qtbot.waitUntil(lambda: done == [1, 2], timeout=TIMEOUT_MS)
    assert errors == ["broken.jpg: not an image"]
    assert unhandled == ["broken.jpg: not an image"]


def test_cancel_busy_stops_waited_for_jobs_only(qtbot, runner):
    gate, holding = threading.Event(), threading.Event()

    def slow(ctx):
        holding.set()
        gate.wait(10)
        ctx.cancel.raise_if_cancelled()
        return "finished anyway"

    cancelled, results, done = [], [], []
    runner.submit(
        "restore",
        slow,
        busy=True,
        on_result=results.append,
        on_cancelled=lambda: cancelled.append(1),
    )
    runner.submit(
        "restore",
        lambda ctx: "never",
        busy=True,
        on_result=results.append,
        on_cancelled=lambda: cancelled.append(2),
    )
    runner.submit(
        "save", lambda ctx: "saved", on_result=results.append, on_done=lambda: done.append(1)
    )
    qtbot.waitUntil(holding.is_set, timeout=TIMEOUT_MS)
    assert runner.cancel_busy() == 2
    gate.set()
    qtbot.waitUntil(lambda: done == [1], timeout=TIMEOUT_MS)
    assert cancelled == [1, 2] and results == ["saved"]  # saving went on
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=TIMEOUT_MS)
    assert runner.cancel_busy() == 0


def test_cancel_by_kind(qtbot, runner):
    gate = threading.Event()
    runner.submit("load", lambda ctx: gate.wait(10))
    results, cancelled = [], []
    for n in range(3):
        runner.submit(
            "recompose",
            lambda ctx, n=n: n,
            on_result=results.append,
            on_cancelled=lambda: cancelled.append(1),
        )
    assert runner.cancel(kinds=("recompose",)) == 3
    last = []
    runner.submit("recompose", lambda ctx: "newest", on_result=last.append)
    gate.set()
    qtbot.waitUntil(lambda: last == ["newest"], timeout=TIMEOUT_MS)
    assert results == [] and cancelled == [1, 1, 1]


def test_stale_answers_are_dropped(qtbot, runner):
    """A re-paste for faces that changed again since is never applied; on_done still runs."""
    photos = PhotoController()
    entry = photos.add("a.jpg", Path("a.jpg"))
    ticket = photos.start_loading(entry)
    photos.loaded(ticket, "photo", "image", "thumb")
    ticket = photos.queue_restore(entry)

    class Result:
        faces: list = []
        warnings: list = []

    photos.restored(ticket, Result(), "after")
    applied, done = [], []
    gate = threading.Event()
    old = photos.start_repaste(entry)
    runner.submit(
        "rerun",
        lambda ctx: gate.wait(10) and "old answer",
        stale=lambda: photos.is_stale(old),
        on_result=applied.append,
        on_error=applied.append,
        on_done=lambda: done.append("old"),
    )
    new = photos.start_repaste(entry)  # asked again before the first answer came
    runner.submit(
        "rerun",
        lambda ctx: "new answer",
        stale=lambda: photos.is_stale(new),
        on_result=applied.append,
        on_done=lambda: done.append("new"),
    )
    gate.set()
    qtbot.waitUntil(lambda: done == ["old", "new"], timeout=TIMEOUT_MS)
    assert applied == ["new answer"]

    # An error for a photo removed since is dropped as well.
    ticket = photos.start_loading(photos.add("b.jpg", Path("b.jpg")))
    errors, unhandled = [], []
    runner.unhandledError.connect(unhandled.append)

    def fail(ctx):
        raise ImageReadError("b.jpg: gone")

    gate.clear()
    runner.submit(
        "load",
        lambda ctx: gate.wait(10) and fail(ctx),
        stale=lambda: photos.is_stale(ticket),
        on_error=errors.append,
        on_done=lambda: done.append("load"),
    )
    photos.remove(ticket.entry)
    gate.set()
    qtbot.waitUntil(lambda: done[-1] == "load", timeout=TIMEOUT_MS)
    assert errors == [] and unhandled == []
