package dev.pipeinfer.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Every fp16 value as a float, 256 KiB (ggml keeps the same table, {@code ggml_table_f32_f16}). The 32-weight
 * int8 kernels read one fp16 scale per block and row and want it in all eight lanes: converting it costs a
 * load, a move to a vector register, the conversion and a broadcast, where the table costs one broadcast load
 * that needs no vector unit (JMH 5632x2048, Q4_0 int8, n = 1: about 1 of 9 cycles a block). A matrix's
 * scales take few distinct values, so the lines they read stay in cache.
 */
final class HalfFloatTable {
    private static final float[] FLOATS = new float[1 << 16];

    static {
        for (int bits = 0; bits < FLOATS.length; bits++) FLOATS[bits] = Float.float16ToFloat((short) bits);
    }

    private HalfFloatTable() {}

    /** The fp16 scale at {@code offset}, as {@link TensorFormat#fp16} reads it (the same float, bit for bit). */
    static float fp16(MemorySegment s, long offset) {
        return FLOATS[s.get(TensorFormat.LE_SHORT, offset) & 0xFFFF];
    }
}
