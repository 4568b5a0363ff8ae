"""Where the bundled templates, static files and migrations are.

In a wheel they travel inside the package (``feedbot/_resources/``); in a source checkout or an
editable install they are the top-level folders of the repository.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder of bundled resource ``name``: ``templates``, ``static`` or ``migrations``."""
    for candidate in (_PACKAGE_DIR / "_resources" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"feedbot's bundled {name!r} folder is missing from the installation")
