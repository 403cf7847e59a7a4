package dev.pipeinfer.tensor;

/**
 * The one- and two-thread pools the kernel tests run every product on, shared by all of them. Their
 * workers are daemon threads, so the pools live as long as the test JVM and need no closing.
 */
final class ComputePools {
    static final ComputePool ONE = new ComputePool(1);
    static final ComputePool TWO = new ComputePool(2);

    private ComputePools() {}
}
