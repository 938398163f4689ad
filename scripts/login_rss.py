#!/usr/bin/env python3
"""RSS of the api process before and after a burst of logins.

usage: login_rss.py BASE_URL PID [LOGINS] [CONCURRENCY]
Prints one line: `before_mb after_mb logins ok`. Each login runs argon2id
(19 MiB of memory per hash), so a burst shows how much the allocator keeps.
"""
import concurrent.futures
import json
import sys
import time
import urllib.request


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def login(base):
    body = json.dumps({"email": "editor@alpha.example", "password": "demo-password"}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/auth/login", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.status == 200


def main():
    base, pid = sys.argv[1], int(sys.argv[2])
    logins = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    login(base)  # warm: pools, first connections
    time.sleep(1)
    before = rss_mb(pid)
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        ok = sum(pool.map(lambda _: login(base), range(logins)))
    time.sleep(2)
    after = rss_mb(pid)
    print(f"{before:.1f} {after:.1f} {logins} {ok}")


if __name__ == "__main__":
    main()
