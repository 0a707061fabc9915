from PySide6.QtCore import QSettings

from gui.settings import Settings


def test_defaults_and_round_trip(tmp_path, qapp):
    path = tmp_path / "s.ini"
    first = Settings(QSettings(str(path), QSettings.Format.IniFormat))
    assert (first.model, first.device, first.scale, first.color_match) == (
        "auto",
        "auto",
        "auto",
        True,
    )
    first.model, first.device, first.scale, first.color_match = "cagface", "cpu", 4, False
    first.export_format, first.export_quality = "PNG", 80
    for name in ("a.jpg", "b.jpg", "a.jpg"):
        first.add_recent(tmp_path / name)
    first.sync()

    again = Settings(QSettings(str(path), QSettings.Format.IniFormat))
    assert (again.model, again.device, again.scale, again.color_match) == (
        "cagface",
        "cpu",
        4,
        False,
    )
    assert (again.export_format, again.export_quality) == ("PNG", 80)
    assert again.recent_files == [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]


def test_bad_values_fall_back(tmp_path, qapp):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("restore/scale", "banana")
    store.setValue("restore/device", "quantum")
    store.setValue("export/quality", 500)
    s = Settings(store)
    assert (s.scale, s.device, s.export_quality) == ("auto", "auto", 100)


def test_save_as_offers_every_format_the_engine_writes(tmp_path, qapp):
    """BMP is back: the dialog's choices are the engine's format table, not a copy."""
    from engine.io.formats import WRITABLE
    from gui.export import ExportDialog

    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    dialog = ExportDialog(None, settings, tmp_path / "photo.jpg", folder=False)
    combo = dialog.format_combo
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert offered == ["", *(f.name for f in WRITABLE)] and "BMP" in offered

    combo.setCurrentIndex(combo.findData("BMP"))
    assert dialog.path_edit.text().endswith("photo.bmp")
    assert not dialog.quality_spin.isEnabled()  # BMP is lossless
    combo.setCurrentIndex(combo.findData("WEBP"))
    assert dialog.path_edit.text().endswith("photo.webp") and dialog.quality_spin.isEnabled()

    settings.export_format = "BMP"
    assert settings.export_format == "BMP"
    dialog.close()
