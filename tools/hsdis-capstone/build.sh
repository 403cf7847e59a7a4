#!/bin/sh
# Builds hsdis-amd64.so next to this script (needs gcc and Debian's libcapstone-dev: apt-get install libcapstone-dev).
# Then, for example, the machine code of the Q4_0 int8 kernel as JMH runs it:
#   LD_LIBRARY_PATH=tools/hsdis-capstone java -jar jmh/target/benchmarks.jar MatmulBenchmark -p type=Q4_0 -p n=1 \
#     -p threads=1 -p shape=5632x2048 -p activations=int8 -f 1 -jvmArgsAppend "--add-modules jdk.incubator.vector \
#     -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,dev.pipeinfer.tensor.Q4_0Int8Kernels::twoRows"
# The last "Compiled method (c2)" without a '%' is the one that runs; its loops are the backward jumps.
set -e
cd "$(dirname "$0")"
gcc -shared -fPIC -O2 -o hsdis-amd64.so hsdis-capstone.c -lcapstone
echo "built $(pwd)/hsdis-amd64.so"
