package dev.pipeinfer.speculation;

/**
 * Decoding with a draft model (DESIGN §1, §7), in two modes over the same machinery:
 *
 * <ul>
 *   <li><b>speculative</b>: draft a tree below the last accepted token, send it as one run, wait for its
 *       result, verify, commit, repeat. One run in flight.</li>
 *   <li><b>pipeinfer</b>: after each acceptance that leaves nothing valid in flight, launch the guaranteed
 *       run of the token just emitted (what iterative decoding would do; alone by default, or with a draft
 *       tree below it, see {@link SpeculationParams#draftFirstRun}); then, while results are outstanding, keep
 *       drafting small trees that extend the speculative frontier (accepted tokens plus the main paths of
 *       the runs in flight) and launch each at once, bounded by the draft's confidence cutoff and the
 *       number of runs in flight. A result is verified as soon as it arrives; runs whose assumed prefix
 *       turned out false are cancelled on every stage. When the target picks a side root of the next run
 *       (a tree with branches), that run computed it too: it stays, and only the runs after it go. The
 *       pipeline is never drained between tokens.</li>
 * </ul>
 *
 * <p>KV bookkeeping (DESIGN §6): each run's tokens carry pool sequence ids, one per branch; before it is
 * launched, a KV edit adds its ids to the cells of sequence 0 and of the main paths of the runs ahead of
 * it, so its tokens see exactly their assumed prefix. Verification sends one edit: commit of the accepted
 * path into sequence 0, removal of the verified run's ids and of every cancelled run's ids. Cells in
 * sequence 0 therefore only ever hold accepted tokens, one per position.
 *
 * <p>With greedy sampling the tokens are exactly those of iterative decoding; with temperature they are
 * distributed exactly as the target's sampler chain (see {@link Verifier}).
 */
public final class SpeculativeDecoder implements Decoder {
    private final Head head;
    private final DraftModel draft;
    private final SpeculationParams params;
    private final boolean pipelined;

    private SpeculativeDecoder(Head head, DraftModel draft, SpeculationParams params, boolean pipelined) {
        if (draft.vocabSize() != head.vocabSize()) {
            throw new IllegalArgumentException("the draft model has " + draft.vocabSize() + " tokens, the target "
                    + head.vocabSize());
        }
        this.head = head;
        this.draft = draft;
        this.params = params;
        this.pipelined = pipelined;
    }

    /** Synchronous speculative decoding: one draft tree per run, one run in flight. */
    public static SpeculativeDecoder speculative(Head head, DraftModel draft, SpeculationParams params) {
        return new SpeculativeDecoder(head, draft, params, false);
    }

    /** PipeInfer: asynchronous, continuous speculation with early cancellation. */
    public static SpeculativeDecoder pipeinfer(Head head, DraftModel draft, SpeculationParams params) {
        return new SpeculativeDecoder(head, draft, params, true);
    }

    @Override
    public String mode() {
        return pipelined ? "pipeinfer" : "speculative";
    }

    @Override
    public GenerationResult generate(GenerationRequest request, TokenListener listener) throws InterruptedException {
        int[] prompt = request.prompt();
        if (prompt.length >= head.contextSize()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                    + head.contextSize() + "; raise --ctx");
        }
        return new SpeculationSession(head, draft, params, pipelined, mode(), request, listener).run();
    }
}
