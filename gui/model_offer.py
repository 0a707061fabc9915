"""Offers of a better model: never a silent substitute, never a modal interruption.

Two strips above the photo (``Banner``s), each with a Download button:

* after the first restoration of a session, when the only face restorer installed is
  the built-in one, the authors' SPARNetHD: its size, licence, and the time a face
  takes through it on this machine, measured on a thread of its own
  (``engine.model_offer.time_per_face``) so restoring goes on meanwhile; *Not now*
  hides it for good;
* when the user chooses a model that is not installed: that it is not, that no other
  model is used in its place (the restoration refuses, ``engine.model_choice``), and
  a Download button when the catalogue has it.

What to offer and the measurement are the engine's; this module only shows them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from engine.errors import Cancelled
from engine.models.presets import preset_label as friendly_model
from engine.progress import CancelToken

from . import engine_calls as calls
from .photo_changes import ChangeKind, PhotoChange
from .preferences import Preferences
from .window_parts import Banner

if TYPE_CHECKING:
    from engine.catalogue import CatalogueEntry


def measure_seconds(preset: str, cancel: CancelToken) -> float:
    """Seconds per face through ``preset`` on this machine (runs on its own thread)."""
    from engine.model_offer import time_per_face

    return time_per_face(preset, "auto", cancel)


class ModelOffer(QObject):
    """Decides when to show the two strips and what they say."""

    downloadRequested = Signal(str)  # a catalogue entry's name
    fallbackChosen = Signal(str)  # the model choice to go back to (the missing one refused)
    _measured_signal = Signal(str, float)  # from the measuring thread (queued)
    _failed_signal = Signal()

    def __init__(
        self,
        prefs: Preferences,
        measure: Callable[[str, CancelToken], float] = measure_seconds,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.measure = measure
        self.measuring: threading.Thread | None = None
        self.stop_measuring = CancelToken()
        self._measured_signal.connect(self._measured)
        self._failed_signal.connect(lambda: self._show_offer(None, failed=True))
        self.rows: list[calls.ModelRow] = []
        self.entry: CatalogueEntry | None = None  # what the offer strip offers
        self.missing_entry: CatalogueEntry | None = None
        self.offered_this_session = False
        self.bar = Banner(
            "",
            [("Download", self._download_offer), ("Not now", self._not_now)],
        )
        self.bar.hide()
        self.missing_bar = Banner(
            "",
            [("Download", self._download_missing), ("Use Auto", self._use_auto)],
        )
        self.missing_bar.hide()

    # --- after a restoration ------------------------------------------------------------
    def on_photo(self, entry: object, change: PhotoChange) -> None:
        """Any photo's new result may bring the offer (``after_restoration``)."""
        if change.kind is ChangeKind.RESULT:
            self.after_restoration(entry)

    def set_models(self, rows: list[calls.ModelRow], _availability: object = None) -> None:
        """The installed weights were listed; a restorer newly installed hides the offer."""
        self.rows = rows
        if not self._only_built_in():
            self.bar.hide()

    def _only_built_in(self) -> bool:
        from engine.model_offer import only_built_in_restorers

        return only_built_in_restorers(r.info for r in self.rows)

    def after_restoration(self, entry: object = None) -> None:
        """A photo was restored: offer SPARNetHD once a session, if only built-ins exist."""
        if self.offered_this_session or self.prefs.offer_dismissed or not self._only_built_in():
            return
        self.offered_this_session = True
        from engine.model_offer import OFFERED, download_for

        offered = download_for(OFFERED)
        if offered is None:
            return
        self.entry = offered
        seconds = self.prefs.seconds_per_face(offered.preset)
        self._show_offer(seconds)
        if seconds is None:
            self._start_measuring(offered.preset)

    def _start_measuring(self, preset: str) -> None:
        """Time a face through ``preset`` on a thread of its own.

        Not the engine worker: restoring goes on meanwhile. A large network's pass on
        a CPU takes long; ``shutdown`` stops it between two layers.
        """

        def work() -> None:
            try:
                seconds = float(self.measure(preset, self.stop_measuring))
            except Cancelled:
                return
            except Exception:  # any failure: the strip says it could not be measured
                self._failed_signal.emit()
                return
            self._measured_signal.emit(preset, seconds)

        self.measuring = threading.Thread(target=work, name="revive-measure", daemon=True)
        self.measuring.start()

    def _measured(self, preset: str, seconds: float) -> None:
        self.prefs.set_seconds_per_face(preset, seconds)
        if self.bar.isVisible() or self.entry is not None:
            self._show_offer(seconds)

    def offer_text(self, seconds: float | None, failed: bool = False) -> str:
        entry = self.entry
        if entry is None:
            return ""
        built_in = next(
            (
                friendly_model(r.info.preset)
                for r in self.rows
                if r.kind is not None and r.kind.restores_faces
            ),
            "the built-in restorer",
        )
        if seconds is not None:
            timing = f"about {seconds:.0f} s a face on this computer (measured)"
            if seconds < 1.5:
                timing = f"about {seconds:.1f} s a face on this computer (measured)"
        elif failed:
            timing = "its time per face could not be measured here"
        else:
            timing = "measuring its time per face on this computer…"
        return (
            f"Restored with <b>{built_in}</b>. For a full restoration, download "
            f"<b>{entry.title}</b>: {entry.size_text()}, licence {entry.licence}, {timing}"
            + ("" if timing.endswith("…") else ".")
        )

    def _show_offer(self, seconds: float | None, failed: bool = False) -> None:
        self.bar.label.setText(self.offer_text(seconds, failed))
        self.bar.show()

    def _download_offer(self) -> None:
        if self.entry is not None:
            self.downloadRequested.emit(self.entry.name)
        self.bar.hide()

    def _not_now(self) -> None:
        self.prefs.offer_dismissed = True
        self.bar.hide()

    # --- a model that is not installed was chosen ----------------------------------------
    def missing_chosen(self, choice: str, reason: str) -> None:
        """The user chose ``choice``, which cannot run (``reason``): say so, offer it."""
        from engine.model_offer import download_for

        self.missing_entry = download_for(choice)
        name = friendly_model(choice) if choice not in ("sparnethd", "sparnet") else choice
        words = {"sparnethd": "SPARNetHD", "sparnet": "SPARNet ×8", "cagface": "CAGFace"}
        name = words.get(choice, name)
        text = (
            f"<b>{name} is not installed.</b> Restore will not use another model in its "
            "place: download it, or choose another model."
        )
        if self.missing_entry is not None:
            text += (
                f" {self.missing_entry.title}: {self.missing_entry.size_text()}, "
                f"licence {self.missing_entry.licence}."
            )
        else:
            text += f" ({reason})"
        self.missing_bar.label.setText(text)
        self.missing_bar.buttons[0].setVisible(self.missing_entry is not None)
        self.missing_bar.show()

    def chosen_available(self) -> None:
        """A model that can run was chosen: the strip about a missing one goes."""
        self.missing_bar.hide()

    def _download_missing(self) -> None:
        if self.missing_entry is not None:
            self.downloadRequested.emit(self.missing_entry.name)
        self.missing_bar.hide()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """The app closes: stop a measurement part-way and wait for its thread."""
        self.stop_measuring.cancel()
        if self.measuring is not None:
            self.measuring.join(timeout_s)

    def _use_auto(self) -> None:
        self.missing_bar.hide()
        self.fallbackChosen.emit("auto")
