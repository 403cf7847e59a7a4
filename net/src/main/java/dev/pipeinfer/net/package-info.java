/**
 * The pipeline over TCP (DESIGN sections 4-5).
 *
 * <p>Frames: {@code u32 length | u8 type | u32 CRC32C(type, body) | body}, little-endian, length
 * checked against the receiver's limit (64 KiB before the handshake, the configured maximum, 64 MiB by
 * default, after) before anything is allocated. Bodies are encoded by {@code MessageCodec}; activations
 * in f32 (exact) or, opt-in, f16/bf16 ({@link dev.pipeinfer.net.WireType}).
 *
 * <p>Topology: the head runs stage 0 and opens a SESSION connection to every worker (control one hop
 * away: Cancel, Ping, Stats, Shutdown; the last worker also sends its results back on it) and a DATA
 * connection to worker 1; worker i opens a DATA connection to worker i+1. Sessions are opened from
 * the last worker to the first so every DATA connection finds its session ready.
 *
 * <ul>
 *   <li>{@link dev.pipeinfer.net.WorkerServer}: the worker node.</li>
 *   <li>{@link dev.pipeinfer.net.TcpPipeline#connect}: the head's pipeline over workers.</li>
 *   <li>{@link dev.pipeinfer.net.LoopbackCluster#start}: {@code --local-stages N} over loopback TCP.</li>
 *   <li>{@link dev.pipeinfer.net.Handshake}: version, model fingerprint, slice and options, and
 *   HMAC-SHA256 proofs of a shared {@link dev.pipeinfer.net.ClusterKey}.</li>
 * </ul>
 */
package dev.pipeinfer.net;
