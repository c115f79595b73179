#!/usr/bin/env bash
# Starts the estimator (`stepsize estimator`) as its own process and waits until Kafka Streams is
# RUNNING. Run more with STEPSIZE_ESTIMATORS=N: they share the probe partitions (at most
# STEPSIZE_PARTITIONS instances do work). Running ones are left alone.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

for i in $(seq 1 "${STEPSIZE_ESTIMATORS:-1}"); do
  name="estimator-$i"
  running "$name" || : >"$RUN_DIR/$name.log"
  launch "$name" java "${JVM_FLAGS[@]}" "-Xmx$ESTIMATOR_HEAP" -jar "$JAR" estimator \
    --bootstrap-servers "$(bootstrap_servers)" \
    --state-dir "$RUN_DIR/$name" \
    --partitions "$PARTITIONS"
done
for i in $(seq 1 "${STEPSIZE_ESTIMATORS:-1}"); do
  await_log "estimator-$i" "estimator RUNNING"
  echo "estimator-$i RUNNING"
done
