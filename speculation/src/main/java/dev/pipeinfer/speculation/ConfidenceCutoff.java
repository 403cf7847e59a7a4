package dev.pipeinfer.speculation;

/**
 * The draft's confidence threshold: a branch grows while the draft's top-1 probability is at least
 * {@code pAccept + recovery}. Each rejected speculation raises the recovery term by {@code pRecovery}
 * (the draft is out of step with the target here, so speculate less far); each fully accepted run lets a
 * fraction {@code pDecay} of it fade, back towards plain {@code pAccept}.
 */
final class ConfidenceCutoff {
    private final SpeculationParams params;
    private float recovery;

    ConfidenceCutoff(SpeculationParams params) {
        this.params = params;
    }

    float value() {
        return Math.min(0.99f, params.pAccept() + recovery);
    }

    void rejected() {
        recovery = Math.min(1f, recovery + params.pRecovery());
    }

    void accepted() {
        recovery *= 1f - params.pDecay();
    }
}
