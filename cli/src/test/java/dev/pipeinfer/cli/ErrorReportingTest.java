package dev.pipeinfer.cli;

import dev.pipeinfer.pipeline.StageFailureException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The one line a failure prints: what happened and where, in the user's terms rather than the code's. */
class ErrorReportingTest {
    @Test
    void aLostStageIsReportedByItsIndexAndNodeWithoutTheExceptionsName() {
        StageFailureException lost = new StageFailureException(1, "127.0.0.1:7274", "connection closed by 127.0.0.1:7274");
        assertEquals("stage 1 (127.0.0.1:7274): connection closed by 127.0.0.1:7274", ErrorReporting.oneLine(lost));
        assertEquals(ErrorReporting.FAILURE, ErrorReporting.statusFor(lost));
    }
}
