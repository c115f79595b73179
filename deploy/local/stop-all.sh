#!/usr/bin/env bash
# Stops everything under the run dir with SIGTERM: estimators and replicas first, then all
# brokers at once (one at a time, the last would wait for a controller quorum that is gone).
# Data stays in the run dir; start-*.sh brings the same cluster back. Delete the dir to reset.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

shopt -s nullglob
names() {
  local f out=()
  for f in "$RUN_DIR"/$1-*.pid; do
    out+=("$(basename "$f" .pid)")
  done
  echo "${out[@]:-}"
}
# shellcheck disable=SC2046
stop_all_of TERM $(names estimator) $(names replica)
# shellcheck disable=SC2046
stop_all_of TERM $(names kafka)
