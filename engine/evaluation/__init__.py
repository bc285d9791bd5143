"""Evaluation harness (`python main.py evaluate`): literature-exact metrics, the harness's own JPEG degradation,
peer networks for comparison, and the README table. Evaluation only: the GUI never imports this package."""
