/**
 * Kernels for GGUF weights: the ggml element types, matmul, and the Llama/Falcon ops.
 *
 * <h2>API (what the transformer uses)</h2>
 * <ul>
 *   <li>{@link dev.pipeinfer.tensor.WeightMatrix}: (type, segment, rows m, cols k) over mapped memory;
 *       {@code WeightMatrix.of(GgufTensor)} or {@code new WeightMatrix(type, segment, m, k)}.</li>
 *   <li>{@link dev.pipeinfer.tensor.Matmul}: {@code matmul(w, x, n, y, pool)} and the offset form
 *       {@code matmul(w, x, xOffset, n, y, yOffset, pool)}: x row-major [n][k], y row-major [n][m], so
 *       {@code y[j*m + r] = W[r] . x[j]}; {@code matmulScalar(...)} is the reference;
 *       {@code getRow(w, row, dst, dstOffset)} is ggml's get_rows (dequantized exactly).</li>
 *   <li>{@link dev.pipeinfer.tensor.ComputePool}{@code (threads)}: per-node platform threads, static row
 *       partition, AutoCloseable.</li>
 *   <li>Ops, static on float[] with offsets: {@link dev.pipeinfer.tensor.Norms} (rmsNorm, layerNorm),
 *       {@link dev.pipeinfer.tensor.Softmax}, {@link dev.pipeinfer.tensor.Rope} (normal = GPT-J pairs,
 *       neox = half-split; freq base, linear scale, one position per row),
 *       {@link dev.pipeinfer.tensor.Activations} (silu, swiglu, gelu formula, geluFp16Table = llama.cpp's
 *       CPU GELU), {@link dev.pipeinfer.tensor.Elementwise} (add, mul, scale).</li>
 *   <li>{@link dev.pipeinfer.tensor.TensorFormat}{@code .of(type)}: per-type block layout, scalar
 *       {@code dequantizeRow} (reference), vectorized {@code decodeRow} (same bits), and
 *       {@code quantizeRow} (ggml's exact bytes) for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
 *       Q5_K, Q6_K ({@code canQuantize()}; Q2_K and Q3_K have none yet).</li>
 * </ul>
 *
 * <h2>Types</h2>
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: one class each
 * ({@code Q4_0Format} ...), holding the layout (class javadoc), the scalar dequantizer written like
 * ggml-quants' dequantize_row_*, the vector decoder, the quantizer where there is one, and (for F32, Q8_0,
 * Q4_0, Q4_K, Q5_K, Q6_K) a fused n = 1 matmul kernel.
 *
 * <h2>Numerics: f32 activations</h2>
 * Activations stay f32; every weight is used at its exact dequantized value (the kernels compute the same
 * floats as ggml's to_float), so results match ggml's double-precision product {@code mmexact} to float32
 * summation error (tests require 1e-5 of max|y|), not llama.cpp's int8-activation {@code mm}. This is
 * the simplest choice that keeps every type on one code path and makes batch invariance easy; it costs
 * more instructions per weight than int8 activations would in C, but the Vector API has no int8 dot
 * product instruction (no VNNI), so an int8 path would need widening to 16/32-bit lanes and gains little.
 *
 * <h2>Batch invariance</h2>
 * Row j of Y is bit-identical for every n, every position of that row in X and every thread count. Each
 * output element is computed by one thread; its dot product is split into 16-float chunks, chunk c goes
 * to accumulator c mod 4 in increasing c, the accumulators combine as (a0+a1)+(a2+a3), the lanes are
 * summed in index order (never {@code reduceLanes}, whose order differs between interpreter and C2), and
 * a k mod 16 tail is added one product at a time ({@link dev.pipeinfer.tensor.Dot}). The fused n = 1
 * kernels follow exactly that pattern with the exact dequantized values, so they give the same bits as the
 * decode-then-dot path used for n > 1 (checked by BatchInvarianceTest).
 *
 * <h2>Vector API pitfalls met here</h2>
 * A vector that crosses a call that C2 does not inline is boxed (allocated), which costs 3-10x. Large
 * kernels hit C2's NodeCountInliningCutoff and stop inlining small helpers, so kernels avoid helpers that
 * take or return vectors, compute per-super-block scales in a scalar call into an array, and pass lane
 * sums through a float[].
 */
package dev.pipeinfer.tensor;
