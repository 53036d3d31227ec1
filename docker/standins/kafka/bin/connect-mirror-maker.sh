#!/bin/sh
# MirrorMaker 2 in dedicated mode, as the official image's bin/connect-mirror-maker.sh runs it.
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256m} exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.connect.mirror.MirrorMaker "$@"
