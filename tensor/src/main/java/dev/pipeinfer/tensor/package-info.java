/**
 * Kernels for GGUF weights: the ggml element types, matmul, and the Llama/Falcon ops.
 *
 * <h2>API (what the transformer uses)</h2>
 * <ul>
 *   <li>{@link dev.pipeinfer.tensor.WeightMatrix}: (type, segment, rows m, cols k) over mapped memory;
 *       {@code WeightMatrix.of(GgufTensor)} or {@code new WeightMatrix(type, segment, m, k)}.</li>
 *   <li>{@link dev.pipeinfer.tensor.Matmul}: {@code matmul(w, x, n, y, pool)} and the offset form
 *       {@code matmul(w, x, xOffset, n, y, yOffset, pool)}: x row-major [n][k], y row-major [n][m], so
 *       {@code y[j*m + r] = W[r] . x[j]}; a last argument {@link dev.pipeinfer.tensor.MatmulActivations}
 *       chooses f32 or int8 activations; {@code matmulScalar(...)} and {@code matmulInt8Scalar(...)} are
 *       the references;
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
 * <h2>Numerics: f32 or int8 activations ({@link dev.pipeinfer.tensor.MatmulActivations})</h2>
 * With {@code F32} (the default of {@code matmul}), every weight is used at its exact dequantized value (the
 * kernels compute the same floats as ggml's to_float), so results match ggml's double-precision product
 * {@code mmexact} to float32 summation error (tests require 1e-5 of max|y|). With {@code INT8} (what the
 * engine generates with, as llama.cpp does), each activation row is first rounded to ggml's Q8_0 and Q8_0 and
 * Q4_0 weights are dotted with it in exact integer arithmetic ({@link dev.pipeinfer.tensor.Int8Matmul}):
 * llama.cpp's own {@code mm} to 1e-5, and on AVX2 1.2-1.5x faster at n = 1, because sixteen 16-bit products
 * fit a 256-bit register where eight floats do. The Vector API has no int8 dot-product instruction (no
 * vpmaddubsw or VNNI), so pairs of 16-bit products are summed with shifts; other types take the f32 path in
 * either mode.
 *
 * <h2>Batch invariance</h2>
 * Row j of Y is bit-identical for every n, every position of that row in X and every thread count. Each
 * output element is computed by one thread; its dot product is split into 16-float chunks, chunk c goes
 * to accumulator c mod 4 in increasing c, the accumulators combine as (a0+a1)+(a2+a3), the lanes are
 * summed in index order (never {@code reduceLanes}, whose order differs between interpreter and C2), and
 * a k mod 16 tail is added one product at a time ({@link dev.pipeinfer.tensor.Dot}). The fused n = 1
 * kernels follow exactly that pattern with the exact dequantized values, so they give the same bits as the
 * decode-then-dot path used for n > 1 (checked by BatchInvarianceTest). On int8 activations each output has
 * one eight-lane accumulator fed block by block and summed as a halving tree, on every path.
 *
 * <h2>Vector API pitfalls met here</h2>
 * A vector that crosses a call that C2 does not inline is boxed (allocated), which costs 3-10x. Large
 * kernels hit C2's NodeCountInliningCutoff and stop inlining small helpers, so kernels avoid helpers that
 * take or return vectors, compute per-super-block scales in a scalar call into an array, and pass lane
 * sums through a float[].
 */
package dev.pipeinfer.tensor;
