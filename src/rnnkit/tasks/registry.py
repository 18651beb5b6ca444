"""Every task rnnkit can train, by name: the one place a new task is registered.

    spec = get_spec("classify")         # its TaskSpec (rnnkit.tasks.spec)
    for name in task_names(): ...       # what ``rnnkit train`` offers

Each entry names the module that defines the task's ``SPEC``; it is imported when first
asked for, so ``rnnkit --help`` stays quick. Adding a task is one module with a ``SPEC`` and
one line here (docs/adding-a-task.md).
"""

from __future__ import annotations

import importlib

from rnnkit.tasks.spec import TaskSpec

TASKS: dict[str, str] = {
    "charlm": "rnnkit.tasks.charlm",
    "classify": "rnnkit.tasks.classify",
    "tag": "rnnkit.tasks.tag",
    "seq2seq": "rnnkit.tasks.seq2seq",
    "caption": "rnnkit.tasks.caption",
    "forecast": "rnnkit.tasks.forecast",
    "parity": "rnnkit.tasks.parity",
    "vqa": "rnnkit.tasks.vqa",
}


def task_names() -> tuple[str, ...]:
    return tuple(TASKS)


def get_spec(name: object, where: str | None = None) -> TaskSpec:
    """The spec of task ``name``; a ValueError naming the known tasks (and ``where`` the
    name was read, e.g. a run's config.json) for an unknown one."""
    if not isinstance(name, str) or name not in TASKS:
        place = f" in {where}" if where else ""
        raise ValueError(f"unknown task {name!r}{place}; known tasks: {', '.join(TASKS)}")
    return importlib.import_module(TASKS[name]).SPEC
