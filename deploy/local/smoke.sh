#!/usr/bin/env bash
# Creates a job, reports probes and compares every replica's learning rates (see Smoke.java).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec java -cp "$JAR" "$here/Smoke.java" "$(grpc_targets)"
