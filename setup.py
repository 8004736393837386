"""Packages: `custodian` from src/, and the terminal UI from tui/ installed as `custodian_tui`
(setuptools' `packages.find` cannot rename a folder, so the list is computed here)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages("src")
    + ["custodian_tui"]
    + [f"custodian_tui.{name}" for name in find_packages("tui")],
)
