"""The dashboard: static files under `/_mock/ui/` and a landing page at `/`."""


def register_ui(app, state) -> None:
    from .serve import register
    register(app, state)
