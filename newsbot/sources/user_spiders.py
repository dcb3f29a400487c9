"""A team's own Scrapy spiders, from the folder `spiders_dir:` names in newsbot.yaml.

The folder is imported as a package of its own name, USER_SPIDERS, whatever it is called: put on
sys.path, a folder named spiders/ would be whichever `spiders` is found first (PyPI has a
distribution of that name, and a run once crashed on "No module named 'spiders.news'"). Scrapy's
SpiderLoader then lists it beside newsbot's own spiders, newsbot.spiders, which in a checkout is
the repository's spiders/ folder: a spider dropped there needs no `spiders_dir:` at all.

The folder is the team's code, so it can be broken: a module that fails to import is a ConfigError
naming its file and line, found by `check` and before a run starts (Scrapy would raise it from
inside the crawl and stop every source). A spider of the folder may take the name of a built-in one
(the example vendor_portal, copied as the README says): it replaces it, without the warning Scrapy
would print on every run, which `--quiet` would mail every ten minutes.

A spider may bring its own middlewares, extensions and download handlers in `custom_settings`, as
Scrapy's docs show; Scrapy would then put them *in place of* newsbot's, dropping the address guard,
the run's bounds, the back-off retries and the polling throttle, and letting file:// back in. They
are added to newsbot's instead, and newsbot's own entries win (`keep_newsbot_components`).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsbot.errors import ConfigError

if TYPE_CHECKING:
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

BUILT_IN = "newsbot.spiders"
USER_SPIDERS = "newsbot_user_spiders"


def spider_modules(folder: Path | None) -> list[str]:
    """Scrapy's SPIDER_MODULES for a config: newsbot's spiders, and the folder's when there is one."""
    if folder is None:
        return [BUILT_IN]
    _import_folder(folder)
    return [BUILT_IN, USER_SPIDERS]


def spider_loader(folder: Path | None) -> SpiderLoader:
    """Scrapy's SpiderLoader over newsbot's spiders and the folder's (which win a name they share)."""
    from scrapy.settings import Settings  # Scrapy loads only for a config that needs it
    from scrapy.spiderloader import SpiderLoader

    with shared_names_allowed():
        try:
            return SpiderLoader(Settings({"SPIDER_MODULES": spider_modules(folder)}))
        except (Exception, SystemExit) as problem:  # a module's sys.exit(0) once ended every command silently
            raise ConfigError(_import_failure(problem, folder)) from None


@contextlib.contextmanager
def shared_names_allowed() -> Iterator[None]:
    """Scrapy warns of two spiders sharing a name whenever it lists spiders: a team's spider taking a
    built-in's name is allowed (the later module, the team's, wins)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="There are several spiders with the same name", category=UserWarning)
        yield


def keep_newsbot_components(settings: Settings) -> None:
    """Put newsbot's own components back into a team spider's crawler settings, over what the spider
    set: its other components stay. Applied to the crawler's copy, before the crawl freezes it. A
    component the spider names by its class rather than its path is the same one to Scrapy, which
    keeps the later of the two: newsbot's."""
    from newsbot.sources import settings as newsbot_settings

    for name in ("DOWNLOADER_MIDDLEWARES", "EXTENSIONS", "DOWNLOAD_HANDLERS"):
        ours: dict[str, Any] = getattr(newsbot_settings, name)
        settings.set(name, {**settings.getdict(name), **ours}, priority=settings.getpriority(name) or 0)


def _import_failure(problem: BaseException, folder: Path | None) -> str:
    """`file:line: sentence` for a spider module that cannot be imported."""
    where = ""
    if isinstance(problem, SyntaxError) and problem.filename:
        where = f"{problem.filename}:{problem.lineno}: "
    else:
        frames = [frame for frame in traceback.extract_tb(problem.__traceback__) if _inside(frame.filename, folder)]
        if frames:
            where = f"{frames[-1].filename}:{frames[-1].lineno}: "
    detail = str(problem).splitlines()[0] if str(problem) else type(problem).__name__
    return (
        f"{where}a spider module cannot be imported ({type(problem).__name__}: {detail}); fix it, or move it "
        f"out of {folder or 'spiders/'}: every module there is imported on every run"
    )


def _inside(filename: str, folder: Path | None) -> bool:
    return folder is not None and Path(filename).resolve().is_relative_to(folder)


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
