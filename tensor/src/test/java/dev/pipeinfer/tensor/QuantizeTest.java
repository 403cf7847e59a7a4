package dev.pipeinfer.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.gguf.testdata.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Our quantizers write llama-quantize's exact bytes: the synth models' quantized tensors are llama-quantize
 * output of the -F32 file's tensors (no importance matrix), so quantizing the F32 rows must give them back.
 */
class QuantizeTest {
    static final Set<GgmlType> MUST_QUANTIZE = EnumSet.of(GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K);

    record Fixture(String label, GgmlType type, int rows, int cols, float[] source, byte[] expected) {
        @Override
        public String toString() {
            return label;
        }
    }

    /** testdata/kernels/quant: rows of synth-llama-F32 tensors and each variant's bytes for them. */
    static List<Fixture> coreFixtures() {
        Path dir = TestData.require("kernels/quant/index.json").getParent();
        List<Fixture> out = new ArrayList<>();
        for (JsonNode e : KernelCases.readJson(dir.resolve("index.json")).get("entries")) {
            GgmlType type = KernelCases.typeNamed(e.get("type").asText());
            if (!TensorFormat.of(type).canQuantize()) continue;
            out.add(new Fixture(e.get("model").asText() + " " + e.get("tensor").asText() + " " + type, type,
                    e.get("rows").asInt(), e.get("cols").asInt(),
                    KernelCases.readFloats(dir.resolve(e.get("source_file").asText())),
                    KernelCases.readBytes(dir.resolve(e.get("file").asText()))));
        }
        return out;
    }

    @Test
    void theCoreFixturesCoverTheRequiredQuantizers() {
        Set<GgmlType> covered = EnumSet.noneOf(GgmlType.class);
        for (Fixture f : coreFixtures()) covered.add(f.type());
        assertTrue(covered.containsAll(MUST_QUANTIZE), "covered " + covered);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("coreFixtures")
    void quantizerReproducesLlamaQuantizeBytes(Fixture f) {
        TensorFormat format = TensorFormat.of(f.type());
        long rowBytes = format.rowBytes(f.cols());
        MemorySegment out = Arena.ofAuto().allocate(rowBytes * f.rows());
        for (int r = 0; r < f.rows(); r++) format.quantizeRow(f.source(), r * f.cols(), out, r * rowBytes, f.cols());
        assertSameBytes(f.expected(), out.toArray(ValueLayout.JAVA_BYTE), f.label(), rowBytes);
    }

    /** Full set: every 2-D tensor of the synth F32 models against every variant, where we have the quantizer. */
    @Test
    void everySynthTensorOfTheFullSetQuantizesToLlamaQuantizeBytes() throws IOException {
        if (TestData.shared().isEmpty()) {
            System.out.println("[testdata] QuantizeTest: ../shared/testdata not found, full-model check ran on the core fixtures only");
            return;
        }
        Path models = TestData.shared().get().resolve("models");
        int checked = 0;
        Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
        for (String family : new String[] {"synth-llama", "synth-falcon7b"}) {
            try (GgufFile source = GgufFile.open(models.resolve(family + "-F32.gguf"))) {
                for (String variant : new String[] {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K"}) {
                    try (GgufFile quantized = GgufFile.open(models.resolve(family + "-" + variant + ".gguf"))) {
                        for (GgufTensor q : quantized.tensors()) {
                            if (q.dimensions() != 2 || !TensorFormat.isSupported(q.type()) || !TensorFormat.of(q.type()).canQuantize()) continue;
                            GgufTensor s = source.tensor(q.name());
                            assertEquals(GgmlType.F32, s.type(), s.name());
                            float[] src = s.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                            TensorFormat format = TensorFormat.of(q.type());
                            int cols = (int) q.rowLength(), rows = (int) q.rows();
                            long rowBytes = format.rowBytes(cols);
                            MemorySegment out = Arena.ofAuto().allocate(rowBytes * rows);
                            for (int r = 0; r < rows; r++) format.quantizeRow(src, r * cols, out, r * rowBytes, cols);
                            assertSameBytes(q.data().toArray(ValueLayout.JAVA_BYTE), out.toArray(ValueLayout.JAVA_BYTE),
                                    family + "-" + variant + " " + q, rowBytes);
                            checked++;
                            seen.add(q.type());
                        }
                    }
                }
            }
        }
        System.out.println("[testdata] QuantizeTest: " + checked + " tensors byte-identical, types " + seen);
        assertTrue(seen.containsAll(MUST_QUANTIZE), "covered " + seen);
    }

    static void assertSameBytes(byte[] want, byte[] got, String what, long rowBytes) {
        assertEquals(want.length, got.length, what + ": size");
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                fail(what + ": first difference at byte " + i + " (row " + i / rowBytes + ", byte " + i % rowBytes
                        + " of the row): want " + (want[i] & 0xFF) + " got " + (got[i] & 0xFF));
            }
        }
    }
}
