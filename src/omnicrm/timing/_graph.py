"""The graph checks of a journey: known references, reachability, cycles without a wait."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnicrm.timing.errors import JourneyDefinitionError

if TYPE_CHECKING:
    from omnicrm.timing.model import Journey, Step

__all__ = ["check_graph"]


def check_graph(journey: Journey) -> None:
    """Raise :class:`JourneyDefinitionError` unless ``journey``'s steps form a sound graph."""
    from omnicrm.timing.model import successors

    by_id: dict[str, Step] = {}
    for step in journey.steps:
        if step.id in by_id:
            raise JourneyDefinitionError("steps", step.id, "two steps share this id")
        by_id[step.id] = step
    stages = {s.name for s in journey.stages}
    for step in journey.steps:
        if step.stage is not None and step.stage not in stages:
            raise JourneyDefinitionError(
                f"steps[{step.id}].stage", step.stage, "is not one of the journey's stages"
            )
        for target in successors(step):
            if target not in by_id:
                raise JourneyDefinitionError(
                    f"steps[{step.id}].next", target, "is not a step of this journey"
                )
    if journey.start not in by_id:
        raise JourneyDefinitionError("start", journey.start, "is not a step of this journey")
    seen = {journey.start}
    todo = [journey.start]
    while todo:
        for target in successors(by_id[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for step in journey.steps:
        if step.id not in seen:
            raise JourneyDefinitionError(
                "steps", step.id, f"cannot be reached from the start step {journey.start!r}"
            )
    _check_cycles(by_id)


def _check_cycles(by_id: dict[str, Step]) -> None:
    from omnicrm.timing.model import holds_time as waits
    from omnicrm.timing.model import successors as nexts

    instant = {k for k, s in by_id.items() if not waits(s)}
    state: dict[str, int] = {}  # 1 on the path, 2 done

    for root in sorted(instant):
        if root in state:
            continue
        stack: list[tuple[str, list[str]]] = [
            (root, [t for t in nexts(by_id[root]) if t in instant])
        ]
        state[root] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                state[node] = 2
                stack.pop()
                continue
            target = pending.pop()
            if state.get(target) == 1:
                path = [n for n, _ in stack]
                cycle = [*path[path.index(target) :], target]
                raise JourneyDefinitionError(
                    "steps", " -> ".join(cycle), "this cycle has no wait: it would never end"
                )
            if target not in state:
                state[target] = 1
                stack.append((target, [t for t in nexts(by_id[target]) if t in instant]))
