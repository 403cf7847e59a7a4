#!/bin/sh
# Builds the benchmarks and prints the kernel report (about 10 minutes): read bandwidth, matmul GB/s of
# weights per type at n=1 on 1 and 2 threads (Q8_0 and Q4_0 also on int8 activations), and the cost of
# n=2,4,8,16 relative to n=1.
# Usage: jmh/run-benchmarks.sh [shape]    (shape m x k, default 5632x2048)
# Everything else: java -jar jmh/target/benchmarks.jar -h (JDK 25 required, see below).
set -e
cd "$(dirname "$0")/.."
./mvnw -B -q -pl jmh -am package -DskipTests
. ./.mvn/select-jdk.sh
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp jmh/target/benchmarks.jar dev.pipeinfer.jmh.KernelReport "$@"
