#!/bin/sh
# Stand-in for the official image's launcher: the broker jars from Maven Central, Debian's JRE.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_OPTS:-} \
  -Dlog4j2.configurationFile="${KAFKA_LOG4J_CONFIG:-/opt/kafka/config/tools-log4j2.xml}" \
  -cp "/opt/kafka/libs/*" "$@"
