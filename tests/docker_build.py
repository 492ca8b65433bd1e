"""The Dockerfile's build stage, played without Docker (which cannot run in our CI): the build
context as Docker sends it (the checkout less what .dockerignore names), then the stage's
``COPY`` instructions in order and its ``RUN pip install … .`` as a wheel build of what those
copies put together — so a package folder the image would miss fails here as it would there
("package directory 'improvement' does not exist").

.dockerignore patterns are read as Docker reads them for this file's kind of lines: a name or a
glob relative to the context root (``*.egg-info``), ``**/`` for any depth, ``!`` to take back."""

from __future__ import annotations

import fnmatch
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def ignore_patterns(root: Path) -> list[str]:
    lines = (root / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def _matches(path: str, pattern: str) -> bool:
    if pattern.startswith("**/"):
        tail = pattern[3:]
        parts = path.split("/")
        return any(fnmatch.fnmatchcase("/".join(parts[i:]), tail) for i in range(len(parts)))
    return fnmatch.fnmatchcase(path, pattern)


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a path under an ignored folder is ignored."""
    parts = path.split("/")
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern[1:] if negate else pattern
        if any(_matches("/".join(parts[: i + 1]), bare) for i in range(len(parts))):
            result = not negate
    return result


def context_copy(root: Path, into: Path) -> None:
    """The build context Docker would send, copied into ``into``."""
    patterns = ignore_patterns(root)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_dir() or ignored(relative, patterns):
            continue
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def build_stage(dockerfile: str, stage: str) -> list[tuple[str, str]]:
    """The (instruction, arguments) of one ``FROM … AS stage``, continuation lines joined."""
    joined = dockerfile.replace("\\\n", " ")
    steps: list[tuple[str, str]] = []
    inside = False
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            inside = arguments.split()[-1] == stage
            continue
        if inside:
            steps.append((instruction.upper(), arguments.strip()))
    return steps


def build_play(root: Path, work: Path, *, stage: str = "build") -> list[Path]:
    """Play the stage's COPY and ``pip install … .`` steps in ``work``; the wheels built."""
    context, app, wheels = work / "context", work / "app", work / "wheels"
    context_copy(root, context)
    app.mkdir()
    built: list[Path] = []
    for instruction, arguments in build_stage((root / "Dockerfile").read_text(), stage):
        if instruction == "COPY" and not arguments.startswith("--from"):
            *sources, destination = shlex.split(arguments)
            target = app / destination
            for source in sources:
                origin = context / source
                if not origin.exists():
                    raise FileNotFoundError(f"COPY {source}: not in the build context")
                if origin.is_dir():
                    shutil.copytree(origin, target if source != "." else app, dirs_exist_ok=True)
                else:
                    dest = target / origin.name if destination.endswith("/") else target
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, dest)
        elif instruction == "RUN" and arguments.split("&&")[-1].split()[-1:] == ["."]:
            # `pip install [--no-deps] .`: Heed built from what the copies put together.
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--no-deps",
                    "-w",
                    str(wheels),
                    ".",
                ],
                cwd=app,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"RUN {arguments}:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
                )
            built = sorted(wheels.glob("*.whl"))
    return built
