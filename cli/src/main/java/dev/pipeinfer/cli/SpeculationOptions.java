package dev.pipeinfer.cli;

import dev.pipeinfer.speculation.Decoder;
import dev.pipeinfer.speculation.DraftModel;
import dev.pipeinfer.speculation.IterativeDecoder;
import dev.pipeinfer.speculation.SpeculationParams;
import dev.pipeinfer.speculation.SpeculativeDecoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The draft model and how to speculate with it (DESIGN §7; the reference implementation's names in the descriptions). */
final class SpeculationOptions {
    private static final SpeculationParams DEFAULTS = SpeculationParams.defaults();

    @Option(names = {"-md", "--draft"}, paramLabel = "FILE", description = "Draft model (GGUF) with the target's vocabulary; enables speculation.")
    Path draft;

    @Option(names = "--mode", paramLabel = "iterative|speculative|pipeinfer",
            description = "Decoding mode (default: pipeinfer with --draft, else iterative).")
    String mode;

    @Option(names = "--draft-max", paramLabel = "N", description = "Drafted tokens per speculative run at most [--draft] (default ${DEFAULT-VALUE}).")
    int draftMax = DEFAULTS.draftMax();

    @Option(names = "--branches", paramLabel = "N", description = "Branches per draft tree at most [-np] (default ${DEFAULT-VALUE}).")
    int branches = DEFAULTS.branches();

    @Option(names = "--p-accept", paramLabel = "P", description = "Stop a branch when the draft's top-1 probability is below this (plus recovery) [-pa] (default ${DEFAULT-VALUE}).")
    float pAccept = DEFAULTS.pAccept();

    @Option(names = "--p-split", paramLabel = "P", description = "Split a branch when the draft's runner-up exceeds this [-ps] (default ${DEFAULT-VALUE}).")
    float pSplit = DEFAULTS.pSplit();

    @Option(names = "--p-recovery", paramLabel = "P", description = "Raise the cutoff by this after each rejection [-pr] (default ${DEFAULT-VALUE}).")
    float pRecovery = DEFAULTS.pRecovery();

    @Option(names = "--p-decay", paramLabel = "P", description = "Fraction of the raise that fades after each accepted run [-pd] (default ${DEFAULT-VALUE}).")
    float pDecay = DEFAULTS.pDecay();

    @Option(names = "--max-runs", paramLabel = "N", description = "pipeinfer: speculative runs in flight at most (default ${DEFAULT-VALUE}).")
    int maxRuns = DEFAULTS.maxRunsInFlight();

    @Option(names = "--draft-first-run", negatable = true, fallbackValue = "true",
            description = "pipeinfer: after a rejection, send the next run with a draft tree below its token, as "
                    + "speculative decoding does; --no-draft-first-run sends that token alone first, as the PipeInfer "
                    + "paper does (default ${DEFAULT-VALUE}).")
    boolean draftFirstRun = DEFAULTS.draftFirstRun();

    @Option(names = "--draft-threads", paramLabel = "N", description = "Compute threads of the draft model (default ${DEFAULT-VALUE}).")
    int draftThreads = 1;

    String effectiveMode() {
        String m = mode != null ? mode.toLowerCase(Locale.ROOT) : draft != null ? "pipeinfer" : "iterative";
        if (!m.equals("iterative") && !m.equals("speculative") && !m.equals("pipeinfer")) {
            throw new ErrorReporting.UsageError("--mode must be iterative, speculative or pipeinfer, not '" + mode + "'");
        }
        if (!m.equals("iterative") && draft == null) throw new ErrorReporting.UsageError("--mode " + m + " needs --draft FILE");
        return m;
    }

    SpeculationParams params() {
        try {
            return new SpeculationParams(draftMax, branches, pAccept, pSplit, pRecovery, pDecay, maxRuns, draftFirstRun);
        } catch (IllegalArgumentException e) {
            throw new ErrorReporting.UsageError(e.getMessage());
        }
    }

    /** Loads the draft model for the target (refusing a different vocabulary), or null without --draft. */
    DraftModel openDraft(TargetPipeline target, StageOptions stages) throws IOException {
        if (draft == null) return null;
        try {
            return DraftModel.open(draft, target.file(), TargetPipeline.sliceOptions(target.contextSize(), stages.kvType, stages.activations), draftThreads);
        } catch (IllegalArgumentException e) {
            throw new ErrorReporting.UsageError(e.getMessage());
        }
    }

    static Decoder decoder(String mode, TargetPipeline target, DraftModel draft, SpeculationParams params) {
        return switch (mode) {
            case "speculative" -> SpeculativeDecoder.speculative(target.head(), draft, params);
            case "pipeinfer" -> SpeculativeDecoder.pipeinfer(target.head(), draft, params);
            default -> new IterativeDecoder(target.head());
        };
    }
}
