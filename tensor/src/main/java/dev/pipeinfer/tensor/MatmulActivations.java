package dev.pipeinfer.tensor;

/**
 * What a matmul multiplies the weights with: the f32 activations themselves, or activations rounded to
 * 8-bit integers first, as llama.cpp's CPU backend does.
 *
 * <p>{@link #F32} follows the float64 reference ({@code mmexact}) to float32 summation error. {@link #INT8}
 * quantizes each activation row to blocks of 32 (ggml's Q8_0, {@link Int8Activations}) and, for weights with
 * 32-element integer blocks (Q8_0, Q4_0), sums integer products exactly before scaling: llama.cpp's own
 * numbers ({@code mm}), and fewer instructions per weight, since sixteen 16-bit products fit in a 256-bit
 * register where eight floats do. Other weight types take the f32 path in either mode.
 *
 * <p>Either way a row's result does not depend on the batch around it: every activation row is quantized on
 * its own.
 */
public enum MatmulActivations {
    F32,
    INT8;

    /**
     * The faster mode for decoding on this CPU, as measured: INT8 where the vectors are 256 bits (AVX2: on a Zen 2
     * EPYC a 1.1B Q4_0 model decodes at 21.1 against 14.2 tokens/s), F32 on wider ones, whose f32 kernels use
     * 512-bit vectors while the int8 kernels are written for 256 and were never measured there.
     */
    public static MatmulActivations preferred() {
        return Lanes.F.vectorBitSize() == 256 ? INT8 : F32;
    }

    /** Parses {@code f32}, {@code int8} or {@code auto} ({@link #preferred}), any case, as the command line spells them. */
    public static MatmulActivations parse(String name) {
        if (name.trim().equalsIgnoreCase("auto")) return preferred();
        for (MatmulActivations a : values()) {
            if (a.name().equalsIgnoreCase(name.trim())) return a;
        }
        throw new IllegalArgumentException("unknown matmul activations '" + name + "' (expected auto, int8 or f32)");
    }

    /** The command-line spelling. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
