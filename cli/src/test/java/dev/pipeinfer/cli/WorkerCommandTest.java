package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.testdata.TestData;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker command's own checks, before it opens the model or a port. */
class WorkerCommandTest {
    static final String STORIES = TestData.model("stories260K.gguf").toString();

    @Test
    void aNegativeEmulatedLinkIsRefusedByName() {
        for (String option : new String[]{"--link-latency", "--link-bandwidth"}) {
            CommandRun r = CommandRun.of("worker", "--model", STORIES, option, "-1");
            assertEquals(2, r.status(), r.err());
            assertTrue(r.err().contains(option), r.err());
        }
    }
}
