"""Serve one stack of ``bench_stack`` with uvicorn, for the end-to-end run.

``python -m benchmarks.serve STACK --port N`` serves on 127.0.0.1 only, one worker, access log
and lifespan off, until SIGINT or SIGTERM. Then it prints one JSON line to stdout: how many
requests reached the app and how many access-log events the stack wrote. The runner in
`benchmarks.e2e` starts one of these per stack and compares the two counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from benchmarks.stacks import STACKS, e2e_app

HOST = "127.0.0.1"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted, then print the counts.

    Args:
        argv: Command-line arguments without the program name.

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvicorn  # noqa: PLC0415 - only the end-to-end run needs it
    except ImportError:
        print("the end-to-end run needs uvicorn: pip install uvicorn", file=sys.stderr)
        return 2
    app, stats = e2e_app(args.stack)
    # Loopback only; one worker, so the stack's cost is one process's CPU time. The access log
    # would write a line per request to the terminal; lifespan is off since the apps have none.
    uvicorn.run(
        app, host=HOST, port=args.port, access_log=False, lifespan="off", log_level="warning"
    )
    print(json.dumps(stats()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
