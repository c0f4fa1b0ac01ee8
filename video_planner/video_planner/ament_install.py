"""Put video_planner on the ament index of a prefix, as ``colcon build --symlink-install`` would.

``pip install -e`` makes the package importable but skips setup.py's ``data_files`` and the
``lib/<package>`` script folder, so ``ros2 pkg``, ``ros2 run`` and ``ros2 launch`` cannot find it.
This adds, under the prefix (scripts/setup.sh uses the virtual environment's):

- ``share/ament_index/resource_index/packages/video_planner`` and every other ``data_files`` entry,
  as symlinks to the source tree (like colcon's --symlink-install: an edited config or launch file
  is seen at once, and the package stays editable);
- ``lib/video_planner/<name>`` for every console entry point, a script run by ``python`` that calls
  the entry point's function (what colcon's install_scripts writes there).

Both lists are read from setup.py itself (``run_setup(stop_after='init')``), so they cannot drift.

    python -m video_planner.ament_install --prefix "$VIRTUAL_ENV"
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = 'video_planner'
PACKAGE_DIR = Path(__file__).resolve().parents[1]   # the folder holding setup.py

SCRIPT = '''#!{python}
# Installed by video_planner.ament_install: the console entry point {name} = {target}
import sys

from {module} import {function}

if __name__ == '__main__':
    sys.exit({function}())
'''


@dataclass(frozen=True)
class SetupLayout:
    """What setup.py asks to install: (destination folder, [source files]) pairs and the console scripts."""

    data_files: list[tuple[str, list[str]]]
    console_scripts: dict[str, str]       # name -> 'module:function'


@contextlib.contextmanager
def _working_directory(path: Path):
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def read_setup(package_dir: Path = PACKAGE_DIR) -> SetupLayout:
    """setup.py's data_files and console_scripts, without running any setup command."""
    import setuptools  # noqa: F401  (replaces distutils with its own before run_setup is imported)
    from distutils.core import run_setup

    with _working_directory(package_dir):   # setup.py globs relative to its own folder
        dist = run_setup('setup.py', stop_after='init')
    scripts = {}
    for line in (dist.entry_points or {}).get('console_scripts', []):
        name, target = (part.strip() for part in line.split('=', 1))
        scripts[name] = target
    return SetupLayout(data_files=[(dest, list(files)) for dest, files in dist.data_files or []],
                       console_scripts=scripts)


def install(prefix: Path, package_dir: Path = PACKAGE_DIR, python: str = sys.executable) -> list[Path]:
    """Install the ament index entry, share/ files and lib/ scripts of the package into ``prefix``.

    The package's own folders (share/video_planner, lib/video_planner) are replaced whole, so a file
    removed from the source does not linger; returns every path written.
    """
    prefix = Path(prefix).resolve()
    layout = read_setup(package_dir)
    for owned in (prefix / 'share' / PACKAGE, prefix / 'lib' / PACKAGE):
        shutil.rmtree(owned, ignore_errors=True)
    written = []
    for dest, files in layout.data_files:
        folder = prefix / dest
        folder.mkdir(parents=True, exist_ok=True)
        for source in files:
            link = folder / Path(source).name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to((package_dir / source).resolve())
            written.append(link)
    scripts_dir = prefix / 'lib' / PACKAGE
    scripts_dir.mkdir(parents=True, exist_ok=True)
    for name, target in layout.console_scripts.items():
        module, function = target.split(':')
        script = scripts_dir / name
        script.write_text(SCRIPT.format(python=python, name=name, target=target, module=module,
                                        function=function))
        script.chmod(0o755)
        written.append(script)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--prefix', default=sys.prefix, help='install prefix (default: this environment)')
    parser.add_argument('--python', default=sys.executable, help='interpreter the lib/ scripts run with')
    args = parser.parse_args(argv)
    written = install(Path(args.prefix), python=args.python)
    prefix = Path(args.prefix).resolve()
    print(f'installed {len(written)} files of {PACKAGE} into {prefix}; ros2 pkg/run/launch find it with '
          f'AMENT_PREFIX_PATH={prefix} (colcon\'s setup.bash sets the same)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
