package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Every type's dequantizers reproduce ggml's to_float bit for bit on the kernel references. */
class DequantizeTest {
    static final Set<GgmlType> SUPPORTED = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K);

    static List<KernelCases> cases() {
        return KernelCases.all();
    }

    @Test
    void theCoreSetCoversEveryTypeAndEveryRowLengthOfTheFullSet() {
        Set<GgmlType> types = KernelCases.core().stream().map(KernelCases::type).collect(Collectors.toCollection(() -> EnumSet.noneOf(GgmlType.class)));
        assertEquals(SUPPORTED, types);
        Set<String> coreKeys = KernelCases.core().stream().map(c -> c.type() + "/" + c.k()).collect(Collectors.toSet());
        for (KernelCases c : KernelCases.full()) assertTrue(coreKeys.contains(c.type() + "/" + c.k()), "core set lacks " + c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void scalarDequantizerMatchesGgmlBitForBit(KernelCases c) {
        float[] got = new float[c.rows() * c.k()];
        WeightMatrix w = c.matrix();
        for (int r = 0; r < c.rows(); r++) w.format.dequantizeRow(w.data, w.rowOffset(r), got, r * c.k(), c.k());
        assertBitIdentical(c.deq(), got, c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void vectorDecoderAndGetRowMatchGgmlBitForBit(KernelCases c) {
        float[] got = new float[c.rows() * c.k()];
        WeightMatrix w = c.matrix();
        for (int r = 0; r < c.rows(); r++) Matmul.getRow(w, r, got, r * c.k());
        assertBitIdentical(c.deq(), got, c);
    }

    static void assertBitIdentical(float[] want, float[] got, Object what) {
        assertEquals(want.length, got.length, "length");
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                fail(what + ": element " + i + " want " + want[i] + " got " + got[i]);
            }
        }
    }
}
