#!/usr/bin/env python3
"""Where a thread's time goes in a JFR recording: execution samples per method, self and inclusive.

    java -XX:StartFlightRecording=filename=est.jfr,settings=profile -jar bench/target/stepsize-bench.jar estimator ...
    python3 bench/python/jfr_samples.py est.jfr StreamThread 60

Counts the jdk.ExecutionSample events of the threads whose name contains THREAD (the estimator's
Kafka Streams thread by default), as docs/BENCHMARKS.md quotes them. Needs the JDK's `jfr` tool.
"""
import collections
import json
import subprocess
import sys


def main(path, thread="StreamThread", top="30"):
    top = int(top)
    out = subprocess.run(["jfr", "print", "--json", "--events", "jdk.ExecutionSample", "--stack-depth", "64", path],
                         capture_output=True, text=True, check=True).stdout
    own, inclusive, samples = collections.Counter(), collections.Counter(), 0
    for e in json.loads(out)["recording"]["events"]:
        name = e["values"]["sampledThread"].get("javaName") or ""
        stack = e["values"]["stackTrace"]
        if thread not in name or not stack:
            continue
        samples += 1
        methods = [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in stack["frames"]]
        own[methods[0]] += 1
        for m in set(methods):
            inclusive[m] += 1
    print(f"{samples} samples on threads named *{thread}*")
    for title, counts in (("self", own), ("inclusive", inclusive)):
        print(f"--- {title}")
        for m, n in counts.most_common(top):
            print(f"{n:6d} {100.0 * n / max(samples, 1):5.1f}%  {m}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:4])
