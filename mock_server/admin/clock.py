"""/_mock/clock: read, advance, pause, resume and speed up the mock's clock."""

from __future__ import annotations

from flask import Blueprint

from .common import AdminContext, AdminError, json_response, only, parse_duration, read_body
from .spec import DURATION, N, obj, op


def clock_info(clock) -> dict:
    now = clock.now()
    return {"now": now, "iso": clock.iso(now), "paused": clock.paused, "speed": clock.speed}


def register(bp: Blueprint, ctx: AdminContext) -> None:
    clock = ctx.state.clock

    @bp.route("/clock", methods=["GET"])
    def clock_get():
        return json_response(clock_info(clock))

    @bp.route("/clock/advance", methods=["POST"])
    def clock_advance():
        body = read_body()
        only(body, {"seconds", "duration"})
        if ("seconds" in body) == ("duration" in body):
            raise AdminError("give seconds (a number or a duration like '5m') or duration")
        key = "seconds" if "seconds" in body else "duration"
        seconds = parse_duration(body[key], key)
        clock.advance(seconds)
        return json_response({"advanced": seconds, **clock_info(clock)})

    @bp.route("/clock/pause", methods=["POST"])
    def clock_pause():
        only(read_body(), set())
        clock.pause()
        return json_response(clock_info(clock))

    @bp.route("/clock/resume", methods=["POST"])
    def clock_resume():
        only(read_body(), set())
        clock.resume()
        return json_response(clock_info(clock))

    @bp.route("/clock/speed", methods=["POST"])
    def clock_speed():
        body = read_body()
        only(body, {"speed"})
        speed = body.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0:
            raise AdminError(f"speed must be a positive number, got {speed!r}")
        clock.set_speed(float(speed))
        return json_response(clock_info(clock))


def paths() -> dict:
    return {
        "/clock": {"get": op("The mock's clock")},
        "/clock/advance": {"post": op("Move the clock forward", obj(seconds=DURATION, duration=DURATION))},
        "/clock/pause": {"post": op("Stop the clock")},
        "/clock/resume": {"post": op("Let the clock run again")},
        "/clock/speed": {"post": op("Set the clock's speed", obj(speed=N))},
    }
