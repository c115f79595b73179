#!/usr/bin/env python3
"""Where a thread's time goes in a JFR recording: execution samples per method, self and inclusive.

    java -XX:StartFlightRecording=filename=est.jfr,settings=profile -jar bench/target/stepsize-bench.jar estimator ...
    python3 bench/python/jfr_samples.py est.jfr StreamThread 60
    python3 bench/python/jfr_samples.py est.jfr StreamThread 20 CurvatureProcessor.estimate

Counts the jdk.ExecutionSample events of the threads whose name contains THREAD (the estimator's
Kafka Streams thread by default), as docs/BENCHMARKS.md quotes them. With a fourth argument, a method
(Class.method, simple class name), it counts instead what the samples under that method were in
next, by its line: the split of a method's time among its calls. Needs the JDK's `jfr` tool.
"""
import collections
import json
import subprocess
import sys


def stacks(path, thread):
    out = subprocess.run(["jfr", "print", "--json", "--events", "jdk.ExecutionSample", "--stack-depth", "64", path],
                         capture_output=True, text=True, check=True).stdout
    for e in json.loads(out)["recording"]["events"]:
        name = e["values"]["sampledThread"].get("javaName") or ""
        stack = e["values"]["stackTrace"]
        if thread in name and stack:
            yield stack["frames"]


def main(path, thread="StreamThread", top="30", under=None):
    top = int(top)
    own, inclusive, calls, samples = collections.Counter(), collections.Counter(), collections.Counter(), 0
    for frames in stacks(path, thread):
        samples += 1
        methods = [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in frames]
        own[methods[0]] += 1
        for m in set(methods):
            inclusive[m] += 1
        if under:
            for i, m in enumerate(methods):
                if m.endswith("." + under) or m.endswith("$" + under) or m == under:
                    line = frames[i].get("lineNumber")
                    calls[f"{under}:{line} -> " + (methods[i - 1] if i > 0 else "(self)")] += 1
                    break
    print(f"{samples} samples on threads named *{thread}*")
    sections = (("under " + under, calls),) if under else (("self", own), ("inclusive", inclusive))
    for title, counts in sections:
        print(f"--- {title}")
        for m, n in counts.most_common(top):
            print(f"{n:6d} {100.0 * n / max(samples, 1):5.1f}%  {m}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:5])
