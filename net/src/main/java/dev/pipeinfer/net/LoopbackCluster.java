package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.StageCompute;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code --local-stages N} over loopback TCP: stages 1..N-1 as {@link WorkerServer}s in this process
 * on ephemeral 127.0.0.1 ports, stage 0 on the head, the whole wire protocol in between. Same results
 * as N machines, for tests and for measuring the protocol's cost.
 */
public final class LoopbackCluster {

    /**
     * @param computes    one per stage, stage 0 first
     * @param layerBounds N+1 ascending layer indices: stage i serves [layerBounds[i], layerBounds[i+1])
     * @param status      worker status lines
     */
    public static Pipeline start(List<? extends StageCompute> computes, int[] layerBounds,
                                 TcpPipeline.HeadConfig config, Consumer<String> status) throws IOException {
        if (computes.size() < 2) throw new IllegalArgumentException("loopback TCP needs at least two stages");
        if (layerBounds.length != computes.size() + 1) {
            throw new IllegalArgumentException(layerBounds.length + " layer bounds for " + computes.size() + " stages");
        }
        List<AutoCloseable> servers = new ArrayList<>();
        List<TcpPipeline.WorkerPlan> plans = new ArrayList<>();
        try {
            for (int i = 1; i < computes.size(); i++) {
                StageCompute compute = computes.get(i);
                WorkerServer.Config workerConfig = WorkerServer.Config.loopback(0, config.fingerprint())
                        .withKey(config.key()).withMaxFrameBytes(config.maxFrameBytes())
                        .withLinkShape(config.options().linkShape());
                WorkerServer server = new WorkerServer(workerConfig, slice -> compute, status).start();
                servers.add(server);
                plans.add(new TcpPipeline.WorkerPlan(server.address(), layerBounds[i], layerBounds[i + 1]));
            }
            return TcpPipeline.connect(computes.getFirst(), plans, config, servers);
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable s : servers) {
                try {
                    s.close();
                } catch (Exception ignored) {
                    // unwinding
                }
            }
            throw e;
        }
    }

    private LoopbackCluster() {
    }
}
