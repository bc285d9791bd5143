"""Persistent preferences (QSettings, organisation "Restora", application "Restora")."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORG = APP = "Restora"
MAX_RECENT = 10


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORG, APP)

    def _str(self, key: str, default: str) -> str:
        value = self.q.value(key, default)
        return str(value) if value is not None else default

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    @property
    def view_mode(self) -> str:
        return self._str("view/mode", "side_by_side")

    @view_mode.setter
    def view_mode(self, value: str) -> None:
        self._set("view/mode", value)

    @property
    def last_folder(self) -> str:
        return self._str("files/last_folder", "")

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._set("files/last_folder", value)

    @property
    def device(self) -> str:
        return self._str("engine/device", "auto")

    @device.setter
    def device(self, value: str) -> None:
        self._set("engine/device", value)

    @property
    def model(self) -> str:
        return self._str("engine/model", "")  # "" = the default for the device

    @model.setter
    def model(self, value: str) -> None:
        self._set("engine/model", value)

    @property
    def strength(self) -> int:
        try:
            return min(max(int(self.q.value("restore/quality", 50)), 1), 100)
        except (TypeError, ValueError):
            return 50

    @strength.setter
    def strength(self, value: int) -> None:
        self._set("restore/quality", int(value))

    @property
    def strength_mode(self) -> str:
        mode = self._str("restore/mode", "auto")
        return mode if mode in ("absolute", "relative", "auto") else "auto"

    @strength_mode.setter
    def strength_mode(self, value: str) -> None:
        self._set("restore/mode", value)

    @property
    def visible_only(self) -> bool:
        """Restore only the visible area when zoomed in (View menu)."""
        return self._str("view/visible_only", "true").lower() not in ("false", "0")

    @visible_only.setter
    def visible_only(self, value: bool) -> None:
        self._set("view/visible_only", "true" if value else "false")

    @property
    def recent_files(self) -> list[str]:
        value = self.q.value("files/recent", [])
        if isinstance(value, str):  # INI backends hand a one-element list back as a plain string
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent(self, path: str) -> list[str]:
        recent = [p for p in self.recent_files if p != path]
        recent.insert(0, path)
        self._set("files/recent", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def clear_recent(self) -> None:
        self._set("files/recent", [])

    @property
    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._set("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) else None

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._set("window/state", value)

    def sync(self) -> None:
        self.q.sync()
