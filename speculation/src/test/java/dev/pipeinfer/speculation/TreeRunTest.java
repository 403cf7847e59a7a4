package dev.pipeinfer.speculation;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What a run in flight stands for: the path that the runs launched after it assume. */
class TreeRunTest {
    // Two branches from two roots, laid out level by level as the draft builds them:
    // main  A(0) -> A1(2) -> A2(4)   branch 0
    // side  B(1) -> B1(3)            branch 1
    private static final DraftTree TWO_ROOTS = new DraftTree(
            new int[] {10, 20, 11, 21, 12}, new int[] {-1, -1, 0, 1, 2}, new int[] {0, 0, 1, 1, 2},
            new long[] {1, 2, 1, 2, 1}, 2, new int[] {0, 2, 4}, new int[5][], new float[5][]);

    @Test
    void aChainedRunAssumesTheDraftsMainPath() {
        TreeRun run = TreeRun.chained(7, 30, TWO_ROOTS, new int[] {5, 9});
        assertArrayEquals(new int[] {0, 2, 4}, run.mainPath);
        assertEquals(4, run.mainEnd());
        assertEquals(5, run.mainSequence());
        assertEquals(32, run.position(run.mainEnd()));
    }

    @Test
    void afterItsSideRootIsAcceptedTheRunsAfterItAssumeThatRootsBranch() {
        TreeRun run = TreeRun.chained(7, 30, TWO_ROOTS, new int[] {5, 9});
        run.followBranchOf(1);
        assertArrayEquals(new int[] {1, 3}, run.mainPath);
        assertEquals(3, run.mainEnd());
        assertEquals(9, run.mainSequence(), "later runs see the side branch's cells");
        assertEquals(31, run.position(run.mainEnd()));
    }

    @Test
    void onlyARootCanBeFollowed() {
        TreeRun run = TreeRun.chained(7, 30, TWO_ROOTS, new int[] {5, 9});
        assertThrows(IllegalArgumentException.class, () -> run.followBranchOf(3));
    }
}
