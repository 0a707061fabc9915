"""GUI test fixtures: offscreen Qt, settings in a temporary INI file, never the user's own."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _private_settings_location(tmp_path_factory):
    """Any QSettings built without a path (the app's default) lands in a temp folder."""
    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QCoreApplication.setOrganizationName("ReviveTests")
    return folder


@pytest.fixture
def settings(tmp_path):
    from gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "revive.ini"), QSettings.Format.IniFormat))
