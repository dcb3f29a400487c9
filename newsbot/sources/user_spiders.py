"""A team's own Scrapy spiders, from the folder `spiders_dir:` names in newsbot.yaml.

The folder is imported as a package of its own name, USER_SPIDERS, whatever it is called: put on
sys.path, a folder named spiders/ would be whichever `spiders` is found first (PyPI has a
distribution of that name, and a run once crashed on "No module named 'spiders.news'"). Scrapy's
SpiderLoader then lists it beside newsbot's own spiders, newsbot.spiders, which in a checkout is
the repository's spiders/ folder: a spider dropped there needs no `spiders_dir:` at all.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

BUILT_IN = "newsbot.spiders"
USER_SPIDERS = "newsbot_user_spiders"


def spider_modules(folder: Path | None) -> list[str]:
    """Scrapy's SPIDER_MODULES for a config: newsbot's spiders, and the folder's when there is one."""
    if folder is None:
        return [BUILT_IN]
    _import_folder(folder)
    return [BUILT_IN, USER_SPIDERS]


def _import_folder(folder: Path) -> None:
    """Make `folder` the package USER_SPIDERS (again, if a config named another folder before)."""
    package = sys.modules.get(USER_SPIDERS)
    if package is not None and list(package.__path__) == [str(folder)]:
        return
    for name in [name for name in sys.modules if name == USER_SPIDERS or name.startswith(f"{USER_SPIDERS}.")]:
        del sys.modules[name]
    spec = importlib.machinery.ModuleSpec(USER_SPIDERS, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    sys.modules[USER_SPIDERS] = importlib.util.module_from_spec(spec)
