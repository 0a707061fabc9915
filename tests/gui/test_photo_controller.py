"""PhotoController: the photo queue, each photo's status, and dropping stale answers (no Qt)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.results import Likeness
from gui.photo_changes import ChangeKind, PhotoChange
from gui.photo_controller import PhotoController, PhotoStatus

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Face:  # what the controller reads of an engine.results.FaceRecord
    index: int
    accepted: bool = True
    strength: float = 1.0
    restored: Any = None  # the crop as pasted: what a likeness figure was measured on
    identity: Any = None
    identity_strength: float = 1.0


@dataclass
class Result:  # ... and of an engine.results.RestoreResult
    faces: list[Face]
    warnings: list[str] = field(default_factory=list)
    likeness: Likeness = Likeness.OFF


def result(n: int = 3, warnings: tuple[str, ...] = ()) -> Result:
    return Result([Face(i) for i in range(n)], list(warnings))


class Heard:
    def __init__(self, photos: PhotoController) -> None:
        self.events: list[tuple[str | None, ChangeKind]] = []
        self.changes: list[PhotoChange] = []
        photos.subscribe(self.hear)

    def hear(self, entry, change: PhotoChange) -> None:
        self.events.append((entry and entry.name, change.kind))
        self.changes.append(change)

    def take(self) -> list[tuple[str | None, ChangeKind]]:
        events, self.events = self.events, []
        return events


def loaded_photo(photos: PhotoController, name: str = "a.jpg"):
    entry = photos.add(name, Path(name))
    assert photos.loaded(photos.start_loading(entry), object(), f"{name} image", "thumb")
    return entry


def restored_photo(photos: PhotoController, name: str = "a.jpg", faces: int = 3):
    entry = loaded_photo(photos, name)
    ticket = photos.queue_restore(entry)
    assert ticket is not None and photos.restored(ticket, result(faces), "after")
    return entry


def test_the_module_imports_no_qt():
    code = (
        "import sys, gui.photo_controller; "
        "sys.exit(any(m.split('.')[0] in ('PySide6', 'shiboken6') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_status_is_an_enum_with_words():
    assert PhotoStatus.RESTORED.words == "restored" and PhotoStatus.LOADING.words == "loading…"
    assert len({s.value for s in PhotoStatus}) == len(PhotoStatus)


def test_add_find_and_listeners_hear_every_change():
    photos = PhotoController()
    heard = Heard(photos)
    entry = photos.add("a.jpg", Path("a.jpg"))
    assert entry.status is PhotoStatus.NEW and entry.status_line() == "waiting"
    assert photos.find(Path("a.jpg")) is entry and photos.find(Path("b.jpg")) is None
    ticket = photos.start_loading(entry)
    assert entry.status is PhotoStatus.LOADING
    photos.loaded(ticket, "photo", "image", "thumbnail")
    assert (entry.photo, entry.before_image, entry.thumbnail) == ("photo", "image", "thumbnail")
    assert entry.status is PhotoStatus.LOADED and entry.status_line() == "not restored yet"
    assert heard.take() == [
        ("a.jpg", ChangeKind.ADDED),
        ("a.jpg", ChangeKind.STATE),
        ("a.jpg", ChangeKind.LOADED),
    ]


def test_current_photo_step_and_remove():
    photos = PhotoController()
    a, b, c = (photos.add(n, Path(n)) for n in ("a", "b", "c"))
    heard = Heard(photos)
    assert photos.current is None
    photos.step(1)  # nothing current: the first
    assert photos.current is a
    photos.select(a)  # no change, nothing to tell
    photos.step(-1)  # wraps around
    assert photos.current is c
    photos.step(1)
    assert photos.current is a
    assert heard.take() == [
        ("a", ChangeKind.CURRENT),
        ("c", ChangeKind.CURRENT),
        ("a", ChangeKind.CURRENT),
    ]

    photos.select(b)
    photos.remove(b)  # the current one: the first left becomes current
    assert photos.entries == [a, c] and photos.current is a
    assert heard.take()[-2:] == [("b", ChangeKind.REMOVED), ("a", ChangeKind.CURRENT)]
    photos.remove(c)  # not current: the current stays
    assert photos.current is a
    photos.remove(a)
    assert photos.current is None and len(photos) == 0
    assert heard.take()[-2:] == [("a", ChangeKind.REMOVED), (None, ChangeKind.CURRENT)]
    photos.select(a)  # a removed photo cannot become current
    assert photos.current is None


def test_a_failed_load_says_why_and_can_be_retried():
    photos = PhotoController()
    entry = photos.add("broken.jpg", Path("broken.jpg"))
    assert photos.needs_loading(entry)
    ticket = photos.start_loading(entry)
    assert not photos.needs_loading(entry)  # already on its way
    assert photos.failed(ticket, "not an image")
    assert entry.status is PhotoStatus.ERROR and entry.status_line() == "error: not an image"
    assert photos.exportable() == [] and photos.restorable() == []
    assert photos.loaded(photos.start_loading(entry), "photo", "image", "thumb")
    assert entry.status is PhotoStatus.LOADED and entry.detail == ""
    assert photos.exportable() == [entry] and photos.restorable() == [entry]


def test_restore_queued_running_restored():
    photos = PhotoController()
    entry = photos.add("a.jpg", Path("a.jpg"))
    assert photos.queue_restore(entry) is None  # not loaded yet
    ticket = photos.start_loading(entry)
    photos.loaded(ticket, "photo", "image", "thumb")
    ticket = photos.queue_restore(entry)
    assert ticket is not None and entry.status is PhotoStatus.QUEUED
    assert photos.queue_restore(entry) is None  # once is enough
    assert photos.restorable() == []
    assert photos.restoring(ticket) and entry.status is PhotoStatus.RESTORING
    generation = entry.generation
    assert photos.restored(ticket, result(2, ("fell back to the CPU",)), "after")
    assert entry.status is PhotoStatus.RESTORED and entry.after_image == "after"
    assert entry.generation == generation + 1 and entry.fresh
    assert entry.status_line() == "restored · 2 face(s): fell back to the CPU"
    assert photos.restorable() == [entry]


def test_cancel_goes_back_to_the_last_result():
    photos = PhotoController()
    entry = loaded_photo(photos)
    ticket = photos.queue_restore(entry)
    assert photos.cancelled(ticket) and entry.status is PhotoStatus.CANCELLED
    assert photos.restorable() == [entry]  # can be started again
    ticket = photos.queue_restore(entry)
    photos.restored(ticket, result(), "after")
    ticket = photos.queue_restore(entry)  # restore again, then cancel: the result stays
    assert photos.cancelled(ticket)
    assert entry.status is PhotoStatus.RESTORED and entry.result is not None


def test_answers_for_a_removed_photo_are_dropped():
    photos = PhotoController()
    entry = photos.add("a.jpg", Path("a.jpg"))
    ticket = photos.start_loading(entry)
    photos.remove(entry)
    heard = Heard(photos)
    assert photos.is_stale(ticket)
    assert not photos.loaded(ticket, "photo", "image", "thumb")
    assert not photos.failed(ticket, "gone")
    assert entry.photo is None and entry.status is PhotoStatus.LOADING
    assert heard.take() == []

    other = loaded_photo(photos, "b.jpg")
    ticket = photos.queue_restore(other)
    photos.remove(other)
    assert not photos.restoring(ticket) and not photos.restored(ticket, result(), "after")
    assert not photos.cancelled(ticket)
    assert other.result is None and other.status is PhotoStatus.QUEUED


def test_a_face_change_makes_older_pastes_stale():
    photos = PhotoController()
    entry = restored_photo(photos)
    first = photos.change_face(entry, 1, accepted=False)
    assert first is not None
    face, older = first
    assert face.index == 1 and face.accepted is False and entry.result.faces[1].accepted is False
    assert not entry.fresh  # the picture does not show the change yet
    face, newer = photos.change_face(entry, 1, strength=0.25)
    assert face.accepted is False and face.strength == 0.25  # the earlier change stays
    assert photos.is_stale(older) and photos.is_live(newer)

    heard = Heard(photos)
    assert not photos.recomposed(older, result(), "old paste")  # dropped
    assert entry.after_image == "after" and not entry.fresh and heard.take() == []
    pasted = result()
    assert photos.recomposed(newer, pasted, "new paste")
    assert entry.result is pasted and entry.after_image == "new paste" and entry.fresh
    assert heard.take() == [("a.jpg", ChangeKind.PASTED)]
    assert photos.change_face(entry, 7, accepted=False) is None  # no such face


def test_likeness_figures_join_the_faces_they_were_measured_on():
    """The figures arrive after the picture (LIKENESS) and join the faces whose crop they
    were measured on; a re-paste answer computed before they came keeps them."""
    photos = PhotoController()
    entry = restored_photo(photos)
    crops = [object() for _ in entry.result.faces]
    entry.result.faces = [
        replace(f, restored=c) for f, c in zip(entry.result.faces, crops, strict=True)
    ]
    entry.result.likeness = Likeness.PENDING
    before = entry.result
    _face, paste = photos.change_face(entry, 2, strength=0.5)  # a re-paste on its way
    unmeasured = replace(entry.result, faces=list(entry.result.faces))

    measured = replace(before, likeness=Likeness.MEASURED)
    measured.faces = [replace(f, identity=f"figure {f.index}") for f in before.faces]
    measured.faces[2] = replace(measured.faces[2], restored=object())  # another crop since
    heard = Heard(photos)
    assert photos.likeness_measured(entry, measured)
    assert heard.take() == [("a.jpg", ChangeKind.LIKENESS)]
    assert [f.identity for f in entry.result.faces] == ["figure 0", "figure 1", None]
    assert entry.result.likeness is Likeness.PENDING  # face 2 still waits for its figure

    assert photos.recomposed(paste, unmeasured, "pasted")  # computed before the figures
    assert [f.identity for f in entry.result.faces] == ["figure 0", "figure 1", None]
    assert entry.after_image == "pasted" and entry.fresh


def test_a_rerun_or_a_new_result_makes_pending_pastes_stale():
    photos = PhotoController()
    entry = restored_photo(photos)
    _face, paste = photos.change_face(entry, 0, strength=0.5)
    rerun = photos.start_rerun(entry, 0)
    assert rerun is not None and photos.is_stale(paste) and photos.is_live(rerun)
    # The whole photo restored again meanwhile: the re-run's answer is stale too.
    ticket = photos.queue_restore(entry)
    assert photos.is_live(rerun)  # queueing alone changes nothing
    photos.restored(ticket, result(), "fresh")
    assert photos.is_stale(rerun)
    assert not photos.recomposed(rerun, result(), "rerun")
    assert entry.after_image == "fresh"


def test_nothing_to_change_without_a_result():
    photos = PhotoController()
    entry = loaded_photo(photos)
    assert photos.change_face(entry, 0, accepted=False) is None
    assert photos.start_rerun(entry, 0) is None and photos.start_repaste(entry) is None
    photos.saved(entry, Path("out.png"))
    assert entry.saved_to == Path("out.png")


def test_a_failed_second_restoration_keeps_the_first_result():
    """A photo restored once whose re-restoration fails stays restored and exportable."""
    photos = PhotoController()
    entry = restored_photo(photos)
    second = photos.queue_restore(entry)
    assert second is not None and photos.restoring(second)
    assert photos.failed(second, "out of memory")
    assert entry.status is PhotoStatus.RESTORED and entry.result is not None
    assert "the last restoration failed: out of memory" in entry.detail
    assert entry in photos.exportable()


def test_every_step_tells_one_typed_change_in_order():
    """The stream the window's panels follow: one kind per step, in the order done."""
    photos = PhotoController()
    heard = Heard(photos)
    entry = photos.add("a.jpg", Path("a.jpg"))
    other = photos.add("b.jpg", Path("b.jpg"))
    photos.select(entry)
    photos.loaded(photos.start_loading(entry), "photo", "image", "thumb")
    ticket = photos.start_detecting(entry)
    assert ticket is not None and photos.faces_found(ticket, ["face"], ["crop"])
    ticket = photos.queue_restore(entry)
    assert ticket is not None and photos.restoring(ticket)
    assert photos.restored(ticket, result(3), "after")
    edited = photos.change_face(entry, 1, strength=0.5)
    assert edited is not None and photos.recomposed(edited[1], result(3), "pasted")
    all_of_them = photos.change_all(entry, False)
    assert all_of_them is not None
    rerun = photos.start_rerun(entry, 2)
    assert entry.rerunning == 2 and rerun is not None
    assert photos.rerun_ended(rerun, 2, result(3), "re-run")
    assert entry.rerunning is None and entry.after_image == "re-run"
    photos.saved(entry, Path("a_revived.png"))
    photos.select(other)
    k = ChangeKind
    assert heard.take() == [
        ("a.jpg", k.ADDED),
        ("b.jpg", k.ADDED),
        ("a.jpg", k.CURRENT),
        ("a.jpg", k.STATE),  # loading
        ("a.jpg", k.LOADED),
        ("a.jpg", k.FOUND),
        ("a.jpg", k.STATE),  # queued
        ("a.jpg", k.STATE),  # restoring
        ("a.jpg", k.RESULT),
        ("a.jpg", k.FACE_EDITED),
        ("a.jpg", k.PASTED),
        ("a.jpg", k.FACE_EDITED),  # every face at once
        ("a.jpg", k.FACE_RERUN),  # started
        ("a.jpg", k.PASTED),
        ("a.jpg", k.FACE_RERUN),  # ended
        ("a.jpg", k.SAVED),
        ("b.jpg", k.CURRENT),
    ]
    faces = [c.face for c in heard.changes if c.kind in (k.FACE_EDITED, k.FACE_RERUN)]
    assert faces == [1, None, 2, 2]
    # "current" says whether the photo was the one shown when it changed
    assert [c.current for c in heard.changes[:3]] == [False, False, True]
    assert all(c.current for c in heard.changes[2:-1])


def test_a_change_names_its_faces_and_whether_the_photo_is_shown_again():
    photos = PhotoController()
    entry = restored_photo(photos)
    one, every = PhotoChange(ChangeKind.FACE_EDITED, True, 1), PhotoChange(ChangeKind.FACE_EDITED)
    assert [f.index for f in one.faces(entry)] == [1]
    assert [f.index for f in every.faces(entry)] == [0, 1, 2]
    assert one.faces(None) == [] and not one.shows_again
    assert PhotoChange(ChangeKind.RESULT, current=True).shows_again
    assert not PhotoChange(ChangeKind.RESULT, current=False).shows_again


def test_a_failed_rerun_ends_without_a_picture_and_a_stale_one_is_dropped():
    photos = PhotoController()
    entry = restored_photo(photos)
    heard = Heard(photos)
    ticket = photos.start_rerun(entry, 0)
    assert not photos.rerun_ended(ticket, 0, None, None)  # failed
    assert entry.rerunning is None and entry.after_image == "after"
    ticket = photos.start_rerun(entry, 1)
    photos.change_all(entry, True)  # meanwhile (the panel forbids it; grain matching may)
    assert not photos.rerun_ended(ticket, 1, result(), "late")
    assert entry.after_image == "after" and entry.rerunning is None
    k = ChangeKind
    assert [kind for _, kind in heard.take()] == [
        k.FACE_RERUN,
        k.FACE_RERUN,
        k.FACE_RERUN,
        k.FACE_EDITED,
        k.FACE_RERUN,
    ]
