/**
 * Pipeline stages and the messages between them (DESIGN sections 3-5), independent of the model
 * engine and of the transport.
 *
 * <ul>
 *   <li>{@link dev.pipeinfer.pipeline.StageCompute}: what one stage computes (a layer slice); the
 *   engine implements it.</li>
 *   <li>{@link dev.pipeinfer.pipeline.Message}: {@link dev.pipeinfer.pipeline.Run},
 *   {@link dev.pipeinfer.pipeline.KvEdit}, {@link dev.pipeinfer.pipeline.Result}, and the control
 *   messages (Cancel, Cancelled tombstone, Barrier, Failure, Ping/Pong, Stats, Shutdown).</li>
 *   <li>{@link dev.pipeinfer.pipeline.Stage}: the virtual thread that runs a stage over an input and
 *   an output {@link dev.pipeinfer.pipeline.Link}, with cancellation at layer boundaries.</li>
 *   <li>{@link dev.pipeinfer.pipeline.Pipeline}: the head's API (submit, send, cancel, next, stats),
 *   in memory via {@link dev.pipeinfer.pipeline.Pipeline#inMemory}; over TCP via module {@code net}.</li>
 * </ul>
 *
 * <p>Invariants: every link is one ordered stream; run ids strictly increase along it; every
 * submitted run gets exactly one answer (Result or Cancelled) in submission order; any failure ends
 * the pipeline with a {@link dev.pipeinfer.pipeline.StageFailureException} naming the stage.
 */
package dev.pipeinfer.pipeline;
