"""Restora's desktop studio (PySide6). Talks to the engine only through names exported by `engine`."""
