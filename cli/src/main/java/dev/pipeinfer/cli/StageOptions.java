package dev.pipeinfer.cli;

import java.util.List;
import picocli.CommandLine.Option;

/** Where the target model's layers run: the options shared by generation and the benchmarks. */
final class StageOptions {
    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Compute threads of this node (default: all cores). Local stages share them.")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-c", "--ctx"}, paramLabel = "N",
            description = "KV cache cells per stage, i.e. the context size (default: the model's, at most 4096).")
    int ctx;

    @Option(names = "--kv-type", paramLabel = "f16|f32", description = "KV cache storage (default ${DEFAULT-VALUE}, as llama.cpp).")
    String kvType = "f16";

    @Option(names = "--activations", paramLabel = "auto|int8|f32",
            description = "Weight matmuls on int8-rounded activations as llama.cpp (int8: decodes Q8_0 and Q4_0 "
                    + "faster on AVX2, batches slower) or on the f32 activations (f32; other weight types always); "
                    + "auto picks int8 on 256-bit vector CPUs, f32 on wider ones (default ${DEFAULT-VALUE}).")
    String activations = "auto";

    @Option(names = "--local-stages", paramLabel = "N",
            description = "Split the model over N pipeline stages in this process (default 1).")
    int localStages = 1;

    @Option(names = "--local-transport", paramLabel = "memory|tcp",
            description = "How local stages talk: in-memory queues, or the wire protocol over loopback TCP (default ${DEFAULT-VALUE}).")
    String localTransport = "memory";

    @Option(names = "--stages", split = ",", paramLabel = "HOST:PORT",
            description = "Remote workers (started with 'pipeinfer worker') that run stages 1..N; this node runs stage 0.")
    List<String> stages = List.of();

    @Option(names = "--split", paramLabel = "SPEC",
            description = "Layers per stage: counts (11,11) or fractions (0.6,0.4); default even.")
    String split;

    @Option(names = "--wire", paramLabel = "f32|f16|bf16",
            description = "Activation encoding between nodes; f16/bf16 halve the traffic but give up bit-exactness (default ${DEFAULT-VALUE}).")
    String wire = "f32";

    @Option(names = "--cluster-key", paramLabel = "KEY",
            description = "Shared secret that workers require (HMAC challenge; the key never crosses the wire).")
    String clusterKey;

    @Option(names = "--link-latency", paramLabel = "MS",
            description = "Emulate a slower interconnect: delay every message between stages by MS milliseconds (default 0).")
    double linkLatencyMillis;

    @Option(names = "--link-bandwidth", paramLabel = "MBIT",
            description = "Emulate a link of MBIT megabits per second between stages (default 0: unlimited).")
    double linkBandwidthMbit;

    @Option(names = "--stage-timeout", paramLabel = "SECONDS",
            description = "A stage silent or computing one run longer than this ends the run with an error (default ${DEFAULT-VALUE}).")
    int stageTimeoutSeconds = 30;
}
