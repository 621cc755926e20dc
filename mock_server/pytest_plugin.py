"""pytest plugin of cloudtower-mock (entry point `pytest11: cloudtower_mock`).

Fixtures are defined lazily: importing this module costs nothing, so every pytest run
in an environment with cloudtower-mock installed stays fast.
"""

from __future__ import annotations
