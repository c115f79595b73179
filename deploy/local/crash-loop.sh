#!/usr/bin/env bash
# Crash drill for the embedded default (issue 12, item 3; docs/OPERATIONS.md §5.5): `stepsize serve`
# with its own broker and estimator runs under a load of ReportProbes calls, is SIGKILLed at random
# moments (some while it is still recovering from the previous kill) and is started again on the same
# data directory. Exits non-zero unless every start reached SERVING and every probe that ReportProbes
# acknowledged is in stepsize.curvature.history exactly once.
#
# Usage: crash-loop.sh [KILLS] [--seed S] [--min-up-ms MS] [--max-up-ms MS] [--startup-kills FRACTION]
#                      [--jobs N] [--pause-ms MS] [--heap SIZE]
# It runs the jar and cli's test classes (io.stepsize.cli.CrashLoop); build both with
#   mvn -B -q -pl cli -am package -DskipTests
# Data and the server's log go to $STEPSIZE_RUN_DIR/crash-loop-<time>/; one server runs at a time.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

kills="${1:-30}"
[ $# -gt 0 ] && shift
classes="$repo/cli/target/test-classes"
if [ ! -f "$classes/io/stepsize/cli/CrashLoop.class" ]; then
  echo "no $classes/io/stepsize/cli/CrashLoop.class: build with 'mvn -B -q -pl cli -am package -DskipTests'" >&2
  exit 1
fi
work="$RUN_DIR/crash-loop-$(date +%Y%m%d-%H%M%S)"
exec nice java "${JVM_FLAGS[@]}" -cp "$JAR:$classes" io.stepsize.cli.CrashLoop \
  --kills "$kills" --work "$work" --jar "$JAR" "$@"
