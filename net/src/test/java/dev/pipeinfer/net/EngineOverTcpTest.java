package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.LayerSliceCompute;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.engine.Stories260K;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.kv.KvType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real engine over loopback TCP: workers build their slice from the handshake (model fingerprint
 * from the GGUF file), and the split model continues "Once upon a time" exactly as llama.cpp does.
 */
class EngineOverTcpTest {
    static Stories260K model;

    @BeforeAll
    static void load() throws Exception {
        model = new Stories260K();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest(name = "3 stages over TCP, speculative noise: {0}")
    @ValueSource(booleans = {false, true})
    void workersServingTheirHandshakeSliceReproduceLlamaCppsGreedyContinuation(boolean speculate) throws Exception {
        String fingerprint = model.file.fingerprint();
        List<String> status = new CopyOnWriteArrayList<>();
        List<WorkerServer> workers = new ArrayList<>();
        WorkerServer.ComputeFactory fromSlice = slice -> new LayerSliceCompute(LayerSlice.load(model.file,
                slice.firstLayer(), slice.lastLayer(), SliceOptions.generation(512).withKvType(KvType.F32), model.pool));
        int[] bounds = model.bounds(3);
        int[] tokens;
        try {
            List<TcpPipeline.WorkerPlan> plans = new ArrayList<>();
            for (int i = 1; i < 3; i++) {
                WorkerServer w = new WorkerServer(WorkerServer.Config.loopback(0, fingerprint), fromSlice, status::add).start();
                workers.add(w);
                plans.add(new TcpPipeline.WorkerPlan(w.address(), bounds[i], bounds[i + 1]));
            }
            LayerSliceCompute stage0 = new LayerSliceCompute(LayerSlice.load(model.file, 0, bounds[1],
                    SliceOptions.generation(512).withKvType(KvType.F32), model.pool));
            try (Pipeline pipeline = TcpPipeline.connect(stage0, plans, TcpPipeline.HeadConfig.defaults(fingerprint)
                    .withOptions(new Pipeline.Options(4, Duration.ofSeconds(60))), List.of())) {
                tokens = model.greedy(pipeline, model.expected.length, speculate);
            }
        } finally {
            workers.forEach(WorkerServer::close);
        }
        assertArrayEquals(model.expected, tokens);
        assertTrue(status.stream().anyMatch(s -> s.contains("layers [" + bounds[2] + "," + bounds[3] + ")")), status.toString());
    }
}
