package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.net.ClusterKey;
import dev.pipeinfer.net.LoopbackCluster;
import dev.pipeinfer.net.TcpPipeline;
import dev.pipeinfer.net.WireType;
import dev.pipeinfer.pipeline.LayerSliceCompute;
import dev.pipeinfer.pipeline.LayerSplit;
import dev.pipeinfer.pipeline.LinkShape;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.StageCompute;
import dev.pipeinfer.speculation.Head;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.model.ModelConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The target model opened as a pipeline, as the stage options describe it: all stages in this process
 * (linked in memory or over loopback TCP), or stage 0 here and the rest on remote workers.
 */
final class TargetPipeline implements AutoCloseable {
    private final GgufFile file;
    private final ModelConfig config;
    private final List<ComputePool> pools = new ArrayList<>();
    private final List<LayerSliceCompute> localComputes = new ArrayList<>();
    private final int[] bounds;
    private final int contextSize;
    private Pipeline pipeline;
    private Head head;

    private TargetPipeline(GgufFile file, ModelConfig config, int[] bounds, int contextSize) {
        this.file = file;
        this.config = config;
        this.bounds = bounds;
        this.contextSize = contextSize;
    }

    static TargetPipeline open(Path model, StageOptions o, Consumer<String> status) throws IOException {
        GgufFile file = GgufFile.open(model);
        try {
            ModelConfig config = ModelConfig.from(file);
            int stageCount = o.stages.isEmpty() ? o.localStages : 1 + o.stages.size();
            if (!o.stages.isEmpty() && o.localStages != 1) {
                throw new ErrorReporting.UsageError("--stages and --local-stages exclude each other: remote workers run stages 1..N");
            }
            int[] bounds = LayerSplit.parse(o.split, config.layers(), stageCount);
            int ctx = o.ctx > 0 ? o.ctx : Math.min(config.contextLength() > 0 ? config.contextLength() : 4096, 4096);
            TargetPipeline t = new TargetPipeline(file, config, bounds, ctx);
            t.start(o, status);
            return t;
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    static SliceOptions sliceOptions(int ctx, String kvType, String activations) {
        KvType kv = switch (kvType.toLowerCase(Locale.ROOT)) {
            case "f16" -> KvType.F16;
            case "f32" -> KvType.F32;
            default -> throw new ErrorReporting.UsageError("--kv-type must be f16 or f32, not '" + kvType + "'");
        };
        return SliceOptions.generation(ctx).withKvType(kv).withActivations(LocalModel.activations(activations));
    }

    private void start(StageOptions o, Consumer<String> status) throws IOException {
        SliceOptions sliceOptions = sliceOptions(contextSize, o.kvType, o.activations);
        if (o.linkLatencyMillis < 0 || o.linkBandwidthMbit < 0) {
            throw new ErrorReporting.UsageError("--link-latency and --link-bandwidth must not be negative");
        }
        Pipeline.Options pipelineOptions = Pipeline.Options.defaults().withStageTimeout(Duration.ofSeconds(o.stageTimeoutSeconds))
                .withLinkShape(LinkShape.of(o.linkLatencyMillis, o.linkBandwidthMbit));
        int stageCount = bounds.length - 1;
        boolean remote = !o.stages.isEmpty();
        int localCount = remote ? 1 : stageCount;
        // Local stages stand for separate nodes: each gets its own share of the cores, so they compute side by side.
        int threadsPerStage = Math.max(1, o.threads / localCount);
        List<StageCompute> computes = new ArrayList<>();
        for (int i = 0; i < localCount; i++) {
            ComputePool pool = new ComputePool(threadsPerStage);
            pools.add(pool);
            LayerSliceCompute compute = new LayerSliceCompute(LayerSlice.load(file, bounds[i], bounds[i + 1], i == 0,
                    i == stageCount - 1, sliceOptions, pool));
            localComputes.add(compute);
            computes.add(compute);
        }
        TcpPipeline.HeadConfig net = TcpPipeline.HeadConfig.defaults(file.fingerprint())
                .withWire(WireType.parse(o.wire))
                .withOptions(pipelineOptions);
        if (o.clusterKey != null) net = net.withKey(ClusterKey.of(o.clusterKey));
        if (remote) {
            List<TcpPipeline.WorkerPlan> plans = new ArrayList<>();
            for (int i = 0; i < o.stages.size(); i++) {
                plans.add(new TcpPipeline.WorkerPlan(address(o.stages.get(i)), bounds[i + 1], bounds[i + 2]));
            }
            pipeline = TcpPipeline.connect(computes.getFirst(), plans, net, List.of());
        } else if (stageCount > 1 && o.localTransport.equals("tcp")) {
            pipeline = LoopbackCluster.start(computes, bounds, net, status);
        } else if (o.localTransport.equals("memory") || o.localTransport.equals("tcp")) {
            pipeline = Pipeline.inMemory(computes, pipelineOptions);
        } else {
            throw new ErrorReporting.UsageError("--local-transport must be memory or tcp, not '" + o.localTransport + "'");
        }
        head = new Head(pipeline, config.vocabSize(), contextSize);
    }

    static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new ErrorReporting.UsageError("'" + hostPort + "' is not HOST:PORT");
        }
        try {
            return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
        } catch (IllegalArgumentException e) {
            throw new ErrorReporting.UsageError("'" + hostPort + "' is not HOST:PORT");
        }
    }

    GgufFile file() {
        return file;
    }

    ModelConfig config() {
        return config;
    }

    Head head() {
        return head;
    }

    Pipeline pipeline() {
        return pipeline;
    }

    /** The stages computed in this process (all of them unless workers are remote), stage 0 first. */
    List<LayerSliceCompute> localComputes() {
        return List.copyOf(localComputes);
    }

    int contextSize() {
        return contextSize;
    }

    int[] layerBounds() {
        return bounds.clone();
    }

    @Override
    public void close() {
        if (pipeline != null) pipeline.close();
        for (ComputePool p : pools) p.close();
        file.close();
    }
}
