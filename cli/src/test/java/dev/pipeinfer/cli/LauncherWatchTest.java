package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.testdata.TestData;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A JVM that the launcher re-executed stops when the launcher ends, even when the launcher is killed and runs no
 * shutdown hook ({@link LauncherWatch}). A {@code sleep} process stands in for the launcher: the worker is given
 * its process id as the launcher passes its own.
 */
class LauncherWatchTest {
    @Test
    void aWorkerServesWhileItsLauncherLivesAndStopsWhenTheLauncherIsKilled() throws Exception {
        Process launcher = new ProcessBuilder("sleep", "600").start();
        try (WorkerProcesses workers = new WorkerProcesses()) {
            workers.start(List.of("-D" + LauncherWatch.PROPERTY + "=" + launcher.pid()), TestData.model("stories260K.gguf"));
            Process worker = workers.process(0);
            assertFalse(worker.waitFor(1, TimeUnit.SECONDS), "the worker serves while its launcher lives");

            launcher.destroyForcibly().waitFor(); // SIGKILL, and reaped, as the launcher's shell would
            assertTrue(worker.waitFor(30, TimeUnit.SECONDS), "the worker stopped after its launcher was killed");
            assertEquals(ErrorReporting.FAILURE, worker.exitValue());
            assertNotNull(workers.awaitLog(0, "launcher (process " + launcher.pid() + ") has ended", 10),
                    "the worker said why it stopped");
        } finally {
            launcher.destroyForcibly();
        }
    }
}
