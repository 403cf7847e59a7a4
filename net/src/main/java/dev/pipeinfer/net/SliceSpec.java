package dev.pipeinfer.net;

/**
 * What the head asks a worker to serve, from the handshake: stage {@code stageIndex} of
 * {@code stageCount}, the layers [firstLayer, lastLayer), with {@code threads} compute threads (0 = the
 * worker's default).
 */
public record SliceSpec(int stageIndex, int stageCount, int firstLayer, int lastLayer, int threads, WireType wireType) {

    public boolean isFirst() {
        return stageIndex == 0;
    }

    public boolean isLast() {
        return stageIndex == stageCount - 1;
    }

    @Override
    public String toString() {
        return "stage " + stageIndex + " of " + stageCount + ", layers [" + firstLayer + "," + lastLayer + ")";
    }
}
