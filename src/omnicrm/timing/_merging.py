"""Moving a customer's journey state: merge, unmerge and erasure, inside one unit of work.

A merge writes a record (JSON text in ``timing_merges``) of everything it moved, so an
unmerge moves exactly those things back. See :meth:`omnicrm.timing.Engine.merge_customers`.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from omnicrm.clock import from_micros, to_micros
from omnicrm.frozenmap import FrozenMap
from omnicrm.timing.errors import UnmergeConflictError
from omnicrm.timing.ports import TimingUnitOfWork
from omnicrm.timing.records import Enrollment, EntryRecord, trusted_enrollment

__all__ = ["erase", "keeps_absorbed", "merge", "unmerge"]


def keeps_absorbed(survivor: Enrollment, absorbed: Enrollment) -> bool:
    """Return ``True`` if, both being in one journey, the absorbed position is kept.

    An active position beats an ended one; of two active ones the earlier entered is
    kept (it is further along); of two ended ones the later entered is kept (re-entry
    periods count from the latest entry). A tie keeps the survivor's.
    """
    if survivor.active != absorbed.active:
        return absorbed.active
    if survivor.active:
        return absorbed.entered_at < survivor.entered_at
    return absorbed.entered_at > survivor.entered_at


def _as(position: Enrollment, customer_id: str, run: int, version: int) -> Enrollment:
    return trusted_enrollment(
        customer_id, position.journey_id, run, position.step_id, position.active,
        position.entered_at, position.due_at, position.wait_event, position.facts,
        position.deferrals, position.holdout, version,
    )  # fmt: skip


def _encode(position: Enrollment) -> dict[str, Any]:
    due = position.due_at
    return {
        "journey": position.journey_id, "run": position.run, "step": position.step_id,
        "active": position.active, "entered_us": to_micros(position.entered_at),
        "due_us": None if due is None else to_micros(due), "wait_event": position.wait_event,
        "facts": dict(position.facts), "deferrals": position.deferrals,
        "holdout": position.holdout, "version": position.version,
    }  # fmt: skip


def _decode(customer_id: str, data: dict[str, Any]) -> Enrollment:
    due = data["due_us"]
    return trusted_enrollment(
        customer_id, data["journey"], data["run"], data["step"], data["active"],
        from_micros(data["entered_us"]), None if due is None else from_micros(due),
        data["wait_event"], FrozenMap(data["facts"]), data["deferrals"], data["holdout"],
        data["version"],
    )  # fmt: skip


def _replace(uow: TimingUnitOfWork, customer_id: str, journey_id: str, row: Enrollment) -> None:
    uow.timing_enrollments.remove(customer_id, journey_id)
    uow.timing_enrollments.insert(row)


def merge(uow: TimingUnitOfWork, survivor: str, absorbed: str, key: str | None) -> bool:
    """Move ``absorbed``'s journey state to ``survivor``; ``False`` if already merged."""
    if uow.timing_merges.get(survivor, absorbed) is not None:
        return False
    repo = uow.timing_enrollments
    mine = {p.journey_id: p for p in repo.for_customer(survivor)}
    offsets: dict[str, int] = {}
    journeys: list[dict[str, Any]] = []
    for theirs in repo.for_customer(absorbed):
        journey_id = theirs.journey_id
        repo.remove(absorbed, journey_id)
        own = mine.get(journey_id)
        move: dict[str, Any] = {"journey": journey_id, "absorbed": _encode(theirs)}
        if own is None:
            offsets[journey_id] = 0
            moved = _as(theirs, survivor, theirs.run, theirs.version)
            repo.insert(moved)
            move.update(kept="absorbed", offset=0, run=moved.run, written=moved.version)
        else:
            # runs of the absorbed customer follow the survivor's, so entries and action
            # ids never collide; the kept position takes the last run number
            offsets[journey_id] = own.run
            run = own.run + theirs.run
            kept = theirs if keeps_absorbed(own, theirs) else own
            written = repo.put(_as(kept, survivor, run, own.version))
            move.update(
                kept="absorbed" if kept is theirs else "survivor",
                offset=own.run,
                survivor=_encode(own),
                run=run,
                written=written.version,
            )
        journeys.append(move)
    entries: list[list[Any]] = []
    for entry in uow.timing_entries.for_customer(absorbed):
        new_run = entry.run + offsets.get(entry.journey_id, _run(mine, entry.journey_id))
        uow.timing_entries.remove(absorbed, entry.journey_id, entry.run)
        uow.timing_entries.add(attrs.evolve(entry, customer_id=survivor, run=new_run))
        entries.append([entry.journey_id, entry.run, new_run, to_micros(entry.at), entry.holdout])
    actions = _reassign(uow, [a.action_id for a in uow.timing_actions.for_customer(absorbed)],
                        absorbed, survivor)  # fmt: skip
    record = {"key": key, "journeys": journeys, "entries": entries, "actions": actions}
    uow.timing_merges.add(survivor, absorbed, json.dumps(record, ensure_ascii=False))
    return True


def _run(positions: dict[str, Enrollment], journey_id: str) -> int:
    found = positions.get(journey_id)
    return 0 if found is None else found.run


def _reassign(uow: TimingUnitOfWork, action_ids: list[str], source: str, target: str) -> list[str]:
    moved: list[str] = []
    for action_id in action_ids:
        action = uow.timing_actions.get(action_id)
        if action is None or action.customer_id != source:
            continue
        uow.timing_actions.remove(action_id)
        uow.timing_actions.add(attrs.evolve(action, customer_id=target))
        moved.append(action_id)
    return moved


def unmerge(uow: TimingUnitOfWork, survivor: str, absorbed: str) -> bool:
    """Move back what the merge of the pair moved; ``False`` if there is no such merge.

    Positions go back in their current state (runs renumbered back); what the merge
    cancelled comes back as it was. Entries and actions the merge moved go back; what
    happened to the survivor after the merge stays with the survivor.
    """
    text = uow.timing_merges.get(survivor, absorbed)
    if text is None:
        return False
    if uow.timing_enrollments.for_customer(absorbed) or uow.timing_entries.for_customer(absorbed):
        raise UnmergeConflictError(
            "absorbed", absorbed,
            "has journey state made under its id after the merge (send a merged person's "
            "events under the survivor's id); forget or merge it before unmerging",
        )  # fmt: skip
    record = json.loads(text)
    repo = uow.timing_entries
    for journey_id, old_run, new_run, at_us, holdout in record["entries"]:
        if repo.remove(survivor, journey_id, new_run):
            repo.add(EntryRecord(customer_id=absorbed, journey_id=journey_id, run=old_run,
                                 at=from_micros(at_us), holdout=holdout))  # fmt: skip
    for move in record["journeys"]:
        _give_back(uow, survivor, absorbed, move)
    _reassign(uow, record["actions"], survivor, absorbed)
    uow.timing_merges.remove(survivor, absorbed)
    return True


def _give_back(uow: TimingUnitOfWork, survivor: str, absorbed: str, move: dict[str, Any]) -> None:
    journey_id = move["journey"]
    original = _decode(absorbed, move["absorbed"])
    own = _decode(survivor, move["survivor"]) if "survivor" in move else None
    current = uow.timing_enrollments.get(survivor, journey_id)
    if current is None or current.run != move["run"]:
        # the survivor entered the journey again since: that run is the survivor's; the
        # absorbed customer's own run comes back ended if it went on under the survivor
        kept = move["kept"] == "absorbed"
        _replace(uow, absorbed, journey_id, original.ended() if kept else original)
        return
    since = current.version - move["written"]  # writes after the merge
    if move["kept"] == "absorbed":
        run = current.run - move["offset"]
        _replace(uow, absorbed, journey_id, _as(current, absorbed, run, original.version + since))
        if own is None:
            uow.timing_enrollments.remove(survivor, journey_id)
        else:
            _replace(uow, survivor, journey_id, own)
    else:
        assert own is not None
        _replace(uow, absorbed, journey_id, original)
        _replace(uow, survivor, journey_id, _as(current, survivor, own.run, own.version + since))


def erase(uow: TimingUnitOfWork, customer_id: str) -> int:
    """Remove everything stored about ``customer_id``; return how many rows went."""
    removed = 0
    for position in uow.timing_enrollments.for_customer(customer_id):
        removed += uow.timing_enrollments.remove(customer_id, position.journey_id)
    for entry in uow.timing_entries.for_customer(customer_id):
        removed += uow.timing_entries.remove(customer_id, entry.journey_id, entry.run)
    for action in uow.timing_actions.for_customer(customer_id):
        removed += uow.timing_outcomes.remove(action.action_id)
        removed += uow.timing_actions.remove(action.action_id)
    removed += uow.timing_merges.remove_customer(customer_id)
    return removed
