"""Menus, toolbar and shortcuts of the main window, in one place so the keyboard map is easy to read."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QStyle, QToolBar

from .compare_view import VIEW_MODES, VIEW_TITLES

OPEN_FILTER = ("Images and videos (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff *.gif *.mp4 *.m4v *.mkv *.mov *.avi "
               "*.webm *.mpg *.mpeg *.ts *.m2ts *.y4m);;All files (*)")


def make_action(window: QMainWindow, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        # Window-wide: the shortcut works whichever child has focus.
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts stay live even when menus/toolbars are hidden
    return action


def build_menus_and_toolbar(w) -> None:
    """Creates w.actions (dict), w.view_actions, w.recent_menu, w.model_combo, w.device_combo, w.toolbar."""
    SP = QStyle.StandardPixmap
    a = w.actions = {}
    a["open"] = make_action(w, "&Open…", w.open_dialog, QKeySequence.StandardKey.Open, "Open an image or video (Ctrl+O)",
                        SP.SP_DialogOpenButton)
    a["demo_video"] = make_action(w, "Open Demo &Video", w.open_demo_video)
    a["demo_image"] = make_action(w, "Open Demo &Image", w.open_demo_image)
    a["export"] = make_action(w, "&Export…", w.open_export_dialog, "Ctrl+E", "Export the restored image or video",
                          SP.SP_DialogSaveButton)
    a["quit"] = make_action(w, "&Quit", w.close, "Ctrl+Q")
    a["play"] = make_action(w, "&Play / Pause", w.toggle_play, Qt.Key.Key_Space)
    a["prev"] = make_action(w, "Previous &Frame", lambda: w.step(-1), Qt.Key.Key_Left)
    a["next"] = make_action(w, "&Next Frame", lambda: w.step(1), Qt.Key.Key_Right)
    a["start"] = make_action(w, "Go to &Start", lambda: w.jump("start"), Qt.Key.Key_Home)
    a["end"] = make_action(w, "Go to &End", lambda: w.jump("end"), Qt.Key.Key_End)
    a["loop"] = make_action(w, "&Loop", w.set_loop)
    a["loop"].setCheckable(True)
    a["loop"].setChecked(True)
    a["fit"] = make_action(w, "Zoom to &Fit", w.compare.zoom_fit, Qt.Key.Key_F, "Fit the picture in the window (F)")
    a["actual"] = make_action(w, "Zoom &100 %", w.compare.zoom_actual, Qt.Key.Key_1, "Actual pixels (1)")
    a["fit"].setIconText("Fit")  # the toolbar's short labels: with four compare views a 1280-px window still
    a["actual"].setIconText("100 %")  # shows the device choice
    a["zoom_in"] = make_action(w, "Zoom &In", lambda: w.compare.zoom_step(1), Qt.Key.Key_Plus)
    a["zoom_in"].setShortcuts([QKeySequence(Qt.Key.Key_Plus), QKeySequence(Qt.Key.Key_Equal)])
    a["zoom_out"] = make_action(w, "Zoom &Out", lambda: w.compare.zoom_step(-1), Qt.Key.Key_Minus)
    a["about"] = make_action(w, "&About Restora", w.show_about)
    a["shortcuts"] = make_action(w, "&Keyboard Shortcuts", w.show_shortcuts, QKeySequence.StandardKey.HelpContents)
    # Strength from the keyboard: ] / [ one step (}/{ ten), stronger = a lower assumed quality.
    for key, text, steps, shortcut in (("stronger", "&Stronger Restoration", -1, "]"),
                                       ("weaker", "&Weaker Restoration", 1, "["),
                                       ("much_stronger", "Much S&tronger", -10, "}"),
                                       ("much_weaker", "Much W&eaker", 10, "{")):
        tip = f"{text.replace('&', '')} ({shortcut})"
        a[key] = make_action(w, text, lambda _checked=False, n=steps: w.strength.nudge(n), shortcut, tip)
    for key, text, mode, shortcut in (("manual", "&Manual Strength", "absolute", "Ctrl+1"),
                                      ("auto", "&Auto Strength", "auto", "Ctrl+2"),
                                      ("relative", "&Relative to Auto", "relative", "Ctrl+3")):
        a[key] = make_action(w, text, lambda _checked=False, m=mode: w.strength.set_mode(m), shortcut)
        a[key].setCheckable(True)
        a[key].setData(mode)
    modes = QActionGroup(w)  # checked = the panel's mode (sync_strength_menu)
    for key in ("manual", "auto", "relative"):
        modes.addAction(a[key])

    group = QActionGroup(w)
    group.setExclusive(True)
    w.view_actions = {}
    for mode in VIEW_MODES:
        act = make_action(w, VIEW_TITLES[mode], lambda checked=False, m=mode: w.set_view_mode(m),
                      tip=f"Compare: {VIEW_TITLES[mode].lower()}")
        act.setCheckable(True)
        group.addAction(act)
        w.view_actions[mode] = act
    a["next_view"] = make_action(w, "&Next View", lambda: w.set_view_mode(
        VIEW_MODES[(VIEW_MODES.index(w.compare.mode) + 1) % len(VIEW_MODES)]), Qt.Key.Key_V,
        "Cycle side by side → split → A/B → difference (V)")

    menubar = w.menuBar()
    file_menu = menubar.addMenu("&File")
    file_menu.addAction(a["open"])
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(lambda: refresh_recent_menu(w))  # files may have moved since
    file_menu.addSeparator()
    file_menu.addAction(a["demo_video"])
    file_menu.addAction(a["demo_image"])
    file_menu.addSeparator()
    file_menu.addAction(a["export"])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    view_menu = menubar.addMenu("&View")
    for act in w.view_actions.values():
        view_menu.addAction(act)
    view_menu.addAction(a["next_view"])
    view_menu.addSeparator()
    view_menu.addAction(a["fit"])
    view_menu.addAction(a["actual"])
    view_menu.addAction(a["zoom_in"])
    view_menu.addAction(a["zoom_out"])
    w.view_menu = view_menu
    play_menu = menubar.addMenu("&Playback")
    for key in ("play", "prev", "next", "start", "end"):
        play_menu.addAction(a[key])
    play_menu.addSeparator()
    play_menu.addAction(a["loop"])
    strength_menu = menubar.addMenu("&Strength")
    for key in ("stronger", "weaker", "much_stronger", "much_weaker"):
        strength_menu.addAction(a[key])
    strength_menu.addSeparator()
    for key in ("manual", "auto", "relative"):
        strength_menu.addAction(a[key])
    help_menu = menubar.addMenu("&Help")
    help_menu.addAction(a["shortcuts"])
    help_menu.addAction(a["about"])

    tb = w.toolbar = QToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    tb.addAction(a["open"])
    tb.addAction(a["export"])
    tb.addSeparator()
    tb.addWidget(QLabel("Compare"))
    for act in w.view_actions.values():
        tb.addAction(act)
    tb.addSeparator()
    tb.addAction(a["fit"])
    tb.addAction(a["actual"])
    tb.addSeparator()
    tb.addWidget(QLabel("Model"))
    w.model_combo = QComboBox()
    w.model_combo.setObjectName("modelCombo")
    w.model_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # letters must reach the A/B key, not the combo
    w.model_combo.setMinimumWidth(150)
    tb.addWidget(w.model_combo)
    tb.addWidget(QLabel("Device"))
    w.device_combo = QComboBox()
    w.device_combo.setObjectName("deviceCombo")
    w.device_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    tb.addWidget(w.device_combo)


def refresh_recent_menu(w) -> None:
    """File → Open Recent from the settings, newest first, with Clear List."""
    menu = w.recent_menu
    menu.clear()
    recent = w.settings.recent_files
    for path in recent:
        act = menu.addAction(Path(path).name)
        missing = not Path(path).exists()  # moved or deleted since: shown, greyed, so the list still makes sense
        act.setToolTip(f"{path} (not found)" if missing else path)
        act.setStatusTip(act.toolTip())
        act.setEnabled(not missing)
        act.triggered.connect(lambda checked=False, p=path: w.open_path(p))
    if recent:
        menu.addSeparator()
        menu.addAction("Clear List", lambda: (w.settings.clear_recent(), refresh_recent_menu(w)))
    menu.setEnabled(bool(recent))


def sync_strength_menu(w) -> None:
    """Tick the Strength menu's mode after any change (buttons, keys, a restored setting)."""
    for key in ("manual", "auto", "relative"):
        w.actions[key].setChecked(w.actions[key].data() == w.strength.mode)
