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
