"""A plain blocking program using `DiscoveryClient`, run as a subprocess by the scenario tests.

It is configured the way a deployed script would be — from the environment only
(`EUREKA_CLIENT_SERVICEURL_DEFAULTZONE`, `EUREKA_INSTANCE_APPNAME`, ...) — registers, waits until
its registry shows the application named on the command line, prints one JSON line per look,
then runs until stdin closes (a normal exit through the `with` block) or SIGTERM arrives (the
client's own handler cancels the registration, then lets the signal end the process).

Usage: python sync_script.py WANTED_APP
"""

from __future__ import annotations

import json
import sys
import time

from eureka.client import DiscoveryClient, NoInstanceAvailable, load_config


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main() -> int:
    wanted = sys.argv[1]
    with DiscoveryClient(load_config(), handle_sigterm=True) as eureka:
        assert eureka.instance_info is not None
        say(event="started", instance_id=eureka.instance_info.instance_id)
        deadline = time.monotonic() + 15
        while True:
            try:
                found = eureka.next_instance(wanted)
            except NoInstanceAvailable:
                if time.monotonic() > deadline:
                    say(event="gave-up")
                    return 1
                time.sleep(0.05)
                continue
            stats = eureka.stats()
            say(
                event="found",
                instance_id=found.instance_id,
                address=f"{found.host_name}:{found.port}",
                full_fetches=stats.full_fetches,
                delta_fetches=stats.delta_fetches,
                registrations=stats.registrations,
            )
            break
        sys.stdin.read()  # until the test closes our stdin (or SIGTERM ends us first)
        say(event="exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
