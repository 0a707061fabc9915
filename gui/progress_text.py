"""One overall percentage, the step in words, and the time left (no Qt here: tested plainly).

A restoration reports its stages one after the other (decode, detect, align, restore,
paste, then the likeness check), each counting from 0 to its own total; shown as they
come, a bar would fill and empty five times. ``OverallProgress`` turns them into one
fraction of the whole job, weighting each stage by its usual share of the time, and,
within a batch (Export All's ``photo`` events, or the position the app gave a job of
Restore All), of the whole batch: photo 3 of 7 at half way is 36%. ``remaining_s``
extrapolates the time taken so far once there is enough of it to say something.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.progress import ProgressEvent, Stage

# Each stage's share of one photo's time (a 2-core CPU, a few faces): the network
# dominates. Stages not listed (a trainer's, "download") fill the bar on their own.
STAGE_SHARE = {
    Stage.DECODE: 0.02,
    Stage.DETECT: 0.10,
    Stage.ALIGN: 0.03,
    Stage.RESTORE: 0.70,
    Stage.PASTE: 0.08,
    Stage.ENCODE: 0.02,
    Stage.IDENTITY: 0.05,  # the likeness figures follow the written photo
}
STAGE_WORDS = {
    Stage.DECODE: "Reading the photo",
    Stage.DETECT: "Finding faces",
    Stage.ALIGN: "Aligning faces",
    Stage.RESTORE: "Restoring faces",
    Stage.IDENTITY: "Checking each face still looks like the person",
    Stage.PASTE: "Pasting faces back",
    Stage.ENCODE: "Saving",
    Stage.EXPORT: "Exporting",
    Stage.DOWNLOAD: "Downloading",
    Stage.VERIFY: "Checking the download",
    Stage.INSTALL: "Installing",
}
MIN_ELAPSED_S = 2.0  # no estimate before this much time ...
MIN_FRACTION = 0.03  # ... and this much progress


def _start_of(stage: str) -> float:
    total = 0.0
    for name, share in STAGE_SHARE.items():
        if name == stage:
            return total
        total += share
    return 0.0


def duration_words(seconds: float) -> str:
    """``about 40 s`` / ``about 3 min`` / ``about 1 h 20 min`` left."""
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


@dataclass
class Shown:
    """What the status bar shows: 0..100, the words, the time left (None: not yet)."""

    percent: int
    text: str
    remaining_s: float | None

    def line(self) -> str:
        if self.remaining_s is None:
            return self.text
        return f"{self.text} · {duration_words(self.remaining_s)} left"


class OverallProgress:
    """Follows one busy job; ``batch`` = (position from 1, count) within a batch of jobs."""

    def __init__(
        self,
        label: str = "",
        batch: tuple[int, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.batch = batch
        self.clock = clock
        self.started = clock()
        self.fraction = 0.0  # of the whole job (or the whole batch)
        self.photo: tuple[int, int] | None = None  # Export All's "photo i of n"
        self.step = ""

    def _of_batch(self, within: float) -> float:
        """``within`` (a fraction of one photo) as a fraction of the whole batch."""
        position = self.photo or self.batch
        if position is None:
            return within
        index, count = position
        return (index - 1 + within) / max(1, count)

    def update(self, event: ProgressEvent) -> Shown:
        """Take one progress event; what to show now."""
        part = min(1.0, event.done / event.total) if event.total else 0.0
        if event.stage == Stage.PHOTO:  # Export All: photo i of n (counting from 0)
            count = max(1, event.total)
            self.photo = (min(event.done + 1, count), count)
            within = 0.0
            self.step = "Starting" if event.done < event.total else "Done"
        elif event.stage in STAGE_SHARE:
            within = _start_of(event.stage) + STAGE_SHARE[event.stage] * part
            self.step = STAGE_WORDS[event.stage]
            if event.stage in (Stage.RESTORE, Stage.PASTE, Stage.ALIGN) and event.total:
                noun = "face" if event.total == 1 else "faces"
                self.step += f": {min(event.done, event.total)} of {event.total} {noun}"
        else:  # a stage of its own (a download, a trainer): it is the whole bar
            within = part
            self.step = STAGE_WORDS.get(event.stage, event.stage.capitalize())
            if event.message and event.stage != Stage.DOWNLOAD:
                self.step += f": {event.message}"
        if event.stage == Stage.PHOTO and event.done >= event.total:
            whole = 1.0
        else:
            whole = self._of_batch(within)
        self.fraction = max(self.fraction, min(1.0, whole))  # never backwards
        return self.shown()

    def shown(self) -> Shown:
        position = self.photo or self.batch
        parts = []
        if position is not None and position[1] > 1:
            parts.append(f"Photo {position[0]} of {position[1]}")
        if self.label:
            parts.append(self.label)
        if self.step:
            parts.append(self.step)
        return Shown(round(100 * self.fraction), " · ".join(parts), self.remaining())

    def remaining(self) -> float | None:
        elapsed = self.clock() - self.started
        if elapsed < MIN_ELAPSED_S or self.fraction < MIN_FRACTION or self.fraction >= 1.0:
            return None
        return elapsed * (1.0 - self.fraction) / self.fraction
