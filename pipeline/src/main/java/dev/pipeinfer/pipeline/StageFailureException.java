package dev.pipeinfer.pipeline;

/** The pipeline cannot go on: a stage failed, died, stalled or went silent. Names the stage and where it runs. */
public class StageFailureException extends RuntimeException {
    private final Message.Failure failure;

    public StageFailureException(Message.Failure failure) {
        super(failure.describe());
        this.failure = failure;
    }

    public StageFailureException(int stageIndex, String where, String reason) {
        this(new Message.Failure(stageIndex, where, reason));
    }

    public Message.Failure failure() {
        return failure;
    }

    public int stageIndex() {
        return failure.stageIndex();
    }

    public String where() {
        return failure.where();
    }
}
