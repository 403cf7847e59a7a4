package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.net.ClusterKey;
import dev.pipeinfer.net.SliceSpec;
import dev.pipeinfer.net.WorkerServer;
import dev.pipeinfer.pipeline.LayerSliceCompute;
import dev.pipeinfer.pipeline.LinkShape;
import dev.pipeinfer.pipeline.StageCompute;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.model.ModelConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pipeinfer worker}: serves pipeline stages of a model to a head node. The head says at handshake
 * which layers this node runs; the worker maps the model file and touches only those layers' tensors.
 */
@Command(name = "worker",
        description = {"Serve pipeline stages of a model to a head node over TCP.",
                "Every node needs the same GGUF file; the head checks its fingerprint at handshake and tells",
                "each worker which layers to run. One head session at a time; the worker keeps serving after a",
                "head leaves. It binds loopback unless told otherwise; another address needs --cluster-key",
                "(or, on a trusted network, --insecure)."},
        footer = {"", "A 3-process pipeline on one machine:",
                "  pipeinfer worker --model M --listen 127.0.0.1:7071 &",
                "  pipeinfer worker --model M --listen 127.0.0.1:7072 &",
                "  pipeinfer --model M --prompt \"Once upon a time\" --stages 127.0.0.1:7071,127.0.0.1:7072"})
final class WorkerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The model (GGUF), the same file as the head's.")
    Path model;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Where to listen (default ${DEFAULT-VALUE}).")
    String listen = "127.0.0.1:" + WorkerServer.Config.DEFAULT_PORT;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Compute threads, unless the head asks for a number (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", description = "KV cache cells (default: the model's context, at most 4096; at least the head's --ctx).")
    int ctx;

    @Option(names = "--kv-type", paramLabel = "f16|f32", description = "KV cache storage (default ${DEFAULT-VALUE}).")
    String kvType = "f16";

    @Option(names = "--activations", paramLabel = "auto|int8|f32",
            description = "Weight matmuls on int8-rounded activations (int8, as llama.cpp) or f32 ones; auto picks by "
                    + "the CPU's vector width; use the head's setting (default ${DEFAULT-VALUE}).")
    String activations = "auto";

    @Option(names = "--no-warmup", description = {"Skip the warm-up after a head connects: a batch and a few single tokens of "
            + "made-up input through this node's layers (at most about 2 s, stopped at the next layer when the first run "
            + "arrives) while the head's first prompt passes the stages before this one, so that the JIT has compiled "
            + "the kernels and the weights are paged in when it arrives."})
    boolean noWarmup;

    @Option(names = "--cluster-key", paramLabel = "KEY", description = "Shared secret the head must prove it knows.")
    String clusterKey;

    @Option(names = "--insecure", description = "Allow listening on a non-loopback address without a cluster key.")
    boolean insecure;

    @Option(names = "--link-latency", paramLabel = "MS",
            description = "Emulate a slower interconnect on this worker's link to the next worker: delay every message "
                    + "by MS milliseconds (default 0). The head's own --link-latency shapes its links.")
    double linkLatencyMillis;

    @Option(names = "--link-bandwidth", paramLabel = "MBIT",
            description = "Emulate a link of MBIT megabits per second to the next worker (default 0: unlimited).")
    double linkBandwidthMbit;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (linkLatencyMillis < 0 || linkBandwidthMbit < 0) {
            throw new ErrorReporting.UsageError("--link-latency and --link-bandwidth must not be negative");
        }
        try (GgufFile file = GgufFile.open(model)) {
            ModelConfig config = ModelConfig.from(file);
            int cells = ctx > 0 ? ctx : Math.min(config.contextLength() > 0 ? config.contextLength() : 4096, 4096);
            SliceOptions sliceOptions = TargetPipeline.sliceOptions(cells, kvType, activations);
            var bind = TargetPipeline.address(listen);
            WorkerServer.Config serverConfig = new WorkerServer.Config(bind, file.fingerprint(),
                    clusterKey != null ? ClusterKey.of(clusterKey) : null, insecure, WorkerServer.Config.DEFAULT_MAX_FRAME_BYTES,
                    Duration.ofSeconds(10), Duration.ofMinutes(5), 4, LinkShape.of(linkLatencyMillis, linkBandwidthMbit));
            WorkerServer.ComputeFactory factory = slice -> sliceCompute(file, slice, sliceOptions);
            WorkerServer server;
            try {
                server = new WorkerServer(serverConfig, factory, line -> {
                    err.println(line);
                    err.flush();
                });
            } catch (IllegalArgumentException e) {
                throw new ErrorReporting.UsageError(e.getMessage());
            }
            try (server) {
                server.start();
                err.printf("pipeinfer worker: serving %s (%d layers, fingerprint %s) on %s%n", model, config.layers(),
                        file.fingerprint().substring(0, 12), server.address().getHostString() + ":" + server.address().getPort());
                err.flush();
                new CountDownLatch(1).await(); // until the process is stopped
            }
        }
        return ErrorReporting.OK;
    }

    private StageCompute sliceCompute(GgufFile file, SliceSpec slice, SliceOptions options) {
        ComputePool pool = new ComputePool(slice.threads() > 0 ? slice.threads() : threads);
        LayerSlice layers = LayerSlice.load(file, slice.firstLayer(), slice.lastLayer(), slice.isFirst(), slice.isLast(),
                options, pool);
        return new PooledSliceCompute(new LayerSliceCompute(layers), pool, !noWarmup);
    }

    /** The slice's compute, closing its thread pool when the head's session ends. */
    private record PooledSliceCompute(LayerSliceCompute compute, ComputePool pool, boolean warmUp)
            implements StageCompute, AutoCloseable {
        @Override
        public int embeddingSize() {
            return compute.embeddingSize();
        }

        @Override
        public boolean isFirst() {
            return compute.isFirst();
        }

        @Override
        public boolean isLast() {
            return compute.isLast();
        }

        @Override
        public boolean compute(dev.pipeinfer.pipeline.RunHeader run, int[] tokens, dev.pipeinfer.pipeline.Activations in,
                               dev.pipeinfer.pipeline.Activations out, ResultSink results, java.util.function.BooleanSupplier cancelled) {
            return compute.compute(run, tokens, in, out, results, cancelled);
        }

        @Override
        public void applyKvEdit(dev.pipeinfer.pipeline.KvEdit edit) {
            compute.applyKvEdit(edit);
        }

        @Override
        public void startWarmUp() {
            if (warmUp) compute.warmUpWhileIdle();
        }

        @Override
        public void close() {
            compute.stopWarmUp(); // it runs on the pool
            pool.close();
        }
    }
}
