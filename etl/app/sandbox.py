"""`sandbox [...]`: serve the local KOT-compatible API until SIGINT/SIGTERM."""
from __future__ import annotations

import signal
import threading
from typing import Any

from etl.app.context import Context
from etl.app.options import SandboxOptions
from etl.clock import Clock, OffsetClock, parse_iso
from etl.errors import InputError, UsageError
from etl.sandbox.data import generate_state
from etl.sandbox.server import DEFAULT_EMPLOYEES, Sandbox
from etl.sandbox.state import load_state


def _rate_limit(text: str | None) -> tuple[int, float] | None:
    if not text:
        return None
    try:
        n, s = text.split("/")
        limit = (int(n), float(s))
    except ValueError:
        limit = (0, 0.0)
    if limit[0] <= 0 or limit[1] <= 0:
        raise UsageError(f"--rate-limit '{text}' は N/S (例 500/300 = 300秒に500回) の形で指定してください")
    return limit


def sandbox_options(args: SandboxOptions, env: dict[str, str]) -> dict[str, Any]:
    """Sandbox keyword arguments from the parsed command line (UsageError / InputError)."""
    if not 0 <= args.fault_rate <= 1:
        raise UsageError(f"--fault-rate {args.fault_rate} は 0〜1 の割合で指定してください")
    if args.latency_ms < 0:
        raise UsageError("--latency-ms は 0 以上にしてください")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} は 0〜65535 にしてください (0 = 空きポート)")
    if args.employees is not None and args.employees < 0:
        raise UsageError("--employees は 0 以上にしてください")
    try:
        clock = OffsetClock(parse_iso(args.clock)) if args.clock else Clock()
    except ValueError:
        raise UsageError(f"--clock '{args.clock}' は ISO 8601 (例 2026-11-26T12:00:00+09:00) で指定してください") from None
    if args.state:
        try:
            state = load_state(args.state, seed=args.seed)
        except ValueError as e:
            raise InputError(f"--state: {e}") from None
    else:
        n = DEFAULT_EMPLOYEES if args.employees is None else args.employees
        state = generate_state(n, args.seed, clock.today())
    if args.close_ended_months:  # the explicit choice; real KOT waits for the administrator
        state.close_ended_months()
    token = args.token or env.get("KOT_TOKEN", "").strip() or "sandbox-token"
    return {"state": state, "token": token, "clock": clock, "latency_ms": args.latency_ms,
            "fault_rate": args.fault_rate, "rate_limit": _rate_limit(args.rate_limit), "seed": args.seed,
            "host": args.host, "port": args.port}


def sandbox_command(ctx: Context, opts: SandboxOptions) -> int:
    """Serve until SIGINT/SIGTERM; prints 'listening on http://HOST:PORT/v1.0' once ready."""
    options = sandbox_options(opts, ctx.env)
    sandbox = Sandbox(**options)
    try:
        sandbox.start()
    except OSError as e:
        raise UsageError(f"{options['host']}:{options['port']} で待ち受けできません ({e.strerror or e})。"
                         "別の --port を指定してください") from None
    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
        except ValueError:  # not the main thread: Ctrl+C still raises KeyboardInterrupt
            pass
    try:
        ctx.out(f"listening on {sandbox.url}")
        ctx.out(f"従業員 {len(sandbox.state)} 名。Ctrl+C で停止します。")
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
