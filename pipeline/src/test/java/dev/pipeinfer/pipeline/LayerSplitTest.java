package dev.pipeinfer.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LayerSplitTest {
    @Test
    void evenSplitGivesTheRemainderToTheFirstStages() {
        assertArrayEquals(new int[] {0, 2, 4, 5}, LayerSplit.even(5, 3));
        assertArrayEquals(new int[] {0, 22}, LayerSplit.even(22, 1));
    }

    @Test
    void countsMustAddUpToTheModel() {
        assertArrayEquals(new int[] {0, 1, 5}, LayerSplit.parse("1,4", 5, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LayerSplit.parse("2,2", 5, 2));
        assertTrue(e.getMessage().contains("assigns 4 layers; the model has 5"), e.getMessage());
    }

    @Test
    void fractionsAreScaled() {
        assertArrayEquals(new int[] {0, 13, 22}, LayerSplit.parse("0.6,0.4", 22, 2));
    }

    @Test
    void moreStagesThanLayersLeavesTheLastStagesEmpty() {
        assertArrayEquals(new int[] {0, 1, 2, 2, 2}, LayerSplit.even(2, 4));
        assertArrayEquals(new int[] {0, 5, 5}, LayerSplit.parse("5,0", 5, 2));
    }

    @Test
    void malformedSplitsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> LayerSplit.parse("-1,6", 5, 2));
        assertThrows(IllegalArgumentException.class, () -> LayerSplit.parse("0.0,0.0", 5, 2));
        assertThrows(IllegalArgumentException.class, () -> LayerSplit.parse("1,x", 5, 2));
        assertThrows(IllegalArgumentException.class, () -> LayerSplit.parse("1,2,2", 5, 2));
    }
}
