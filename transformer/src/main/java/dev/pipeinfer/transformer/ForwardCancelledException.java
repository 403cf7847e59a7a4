package dev.pipeinfer.transformer;

/**
 * A forward pass stopped at a layer boundary because its cancellation check said so. The slice has
 * already freed the KV cells the batch had taken, so the cache is as it was before the call.
 */
public final class ForwardCancelledException extends RuntimeException {
    private final int layer;

    public ForwardCancelledException(int layer) {
        super("forward pass cancelled before layer " + layer, null, false, false);
        this.layer = layer;
    }

    /** The model layer that was about to run (n_layers when it stopped before the output head). */
    public int layer() {
        return layer;
    }
}
