"""One way from `--world NAME|FILE` to a store: a recording (`cloudtower-mock record`) is
loaded as it is, anything else is a scenario generated with the seed."""

from __future__ import annotations

from pathlib import Path


class WorldError(Exception):
    """The world cannot be loaded; the message says why (and where, for a bad file)."""


def load_world(contract, world: str, seed: int | None = None):
    """(store, description) for a scenario name or file, or a recording."""
    from ..record import RecordError, is_recording, load_recorded
    path = Path(world)
    if path.suffix == ".json" or is_recording(path):
        if not path.is_file():
            raise WorldError(f"world file {world} does not exist")
        try:
            return load_recorded(contract, path), f"recording {path.name}"
        except RecordError as e:
            raise WorldError(str(e)) from e
    from .generator import generate
    from .scenario import ScenarioError, load_scenario
    try:
        scenario = load_scenario(world)
    except ScenarioError as e:
        raise WorldError(f"bad scenario {world}: {e}") from e
    except OSError as e:
        raise WorldError(f"cannot read scenario {world}: {e.strerror or e}") from e
    used = scenario.seed if seed is None else seed
    try:
        store = generate(contract, scenario, seed=seed)
    except ScenarioError as e:             # a value only the contract can judge (an enum)
        raise WorldError(f"bad scenario {world}: {e}") from e
    return store, f"{world} (seed {used})"
