package dev.pipeinfer.pipeline;

import java.time.Duration;

/** Control of a stage that runs in this process: direct calls. */
public final class LocalStageControl implements StageControl {
    private final Stage stage;

    public LocalStageControl(Stage stage) {
        this.stage = stage;
    }

    @Override
    public int index() {
        return stage.index();
    }

    @Override
    public String where() {
        return stage.where();
    }

    @Override
    public void cancel(long[] runIds) {
        stage.cancel(runIds);
    }

    @Override
    public Message.Pong ping(Duration timeout) {
        if (!stage.isAlive()) {
            Message.Failure why = stage.endFailure();
            throw why != null ? new StageFailureException(why)
                    : new StageFailureException(stage.index(), stage.where(), "stage thread has ended");
        }
        return stage.pong(0);
    }

    @Override
    public StageStats stats(Duration timeout) {
        return stage.stats();
    }

    /** Closes the stage and waits (a few seconds at most) for its run to stop, as its pool is closed next. */
    @Override
    public void close() {
        stage.closeAndAwait(Stage.CLOSE_WAIT);
    }
}
