package dev.pipeinfer.tensor;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the n = 1 kernels of Q8_0, F16 and BF16 walk the weight rows, which depends on the machine's
 * prefetchers, and the two machines this project ran on disagree. Q8_0 reads two rows half a slice apart
 * (two streams in different pages, four FMA chains) or four adjacent rows side by side; F16 and
 * BF16 read two rows half a slice apart converting their values in registers, or take the tiled path, which
 * decodes four rows' tiles to floats first. The results have the same bits either way (each row keeps
 * {@link Dot}'s order).
 * <ul>
 *   <li>AMD EPYC (2 vCPUs): four adjacent rows lose for Q8_0. On a Zen 5, JMH 5632x2048, calls/s four rows
 *       -> one row at a time: 821 -> 1100-1133 on 1 thread, 1535 -> 1801-1930 on 2; a 1.1B Q8_0 decode 13.5
 *       -> 20.1 tokens/s on 2. On a Zen 4, two rows apart beat one row ({@link Q8_0Format}), and the
 *       in-register F16 and BF16 kernels beat the decoding ones ({@link F16Format#matvecRows}; four rows side
 *       by side then: the two rows apart that replaced them were measured on the Zen 2 EPYC only).</li>
 *   <li>Intel Xeon (Sapphire Rapids class, 2 vCPUs at 2.6 GHz): four rows win for Q8_0. A 1.1B Q8_0 decode,
 *       four interleaved pairs, one row -> four: 4.1-4.8 -> 4.7-5.7 tokens/s on 1 thread, 7.3-7.9 -> 8.8-9.6
 *       on 2. F16 and BF16 were measured there on the tiled path only.</li>
 * </ul>
 * So Intel CPUs (vendor GenuineIntel in /proc/cpuinfo) get four rows for Q8_0 and the tiled path for F16 and
 * BF16, every other CPU the other shape; {@code -Dpipeinfer.rowStreams=1|4} overrides the guess (4 meaning
 * the Intel choice). This is about the 16-lane (AVX-512) kernels; the 8-lane (AVX2) ones were measured on a
 * Zen 2 EPYC only and take their shapes from there, except that F16 and BF16 still take the tiled path here
 * on Intel.
 */
final class RowStreams {
    private RowStreams() {}

    private static volatile boolean fourRows = initial();

    /** Whether the n = 1 kernels named above read four weight rows side by side. */
    static boolean fourRows() {
        return fourRows;
    }

    /** For tests, which check that both shapes give the same bits. */
    static void setFourRows(boolean four) {
        fourRows = four;
    }

    private static boolean initial() {
        String forced = System.getProperty("pipeinfer.rowStreams");
        if (forced != null) {
            switch (forced.trim()) {
                case "1": return false;
                case "4": return true;
                default: // a tuning knob: say so and keep the guess rather than stop the run
                    System.err.println("pipeinfer: ignoring -Dpipeinfer.rowStreams=" + forced + " (it takes 1 or 4)");
            }
        }
        return "genuineintel".equals(cpuVendor());
    }

    /** The first vendor_id of /proc/cpuinfo in lower case, or "" where there is none (not Linux, not x86). */
    private static String cpuVendor() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo)) return "";
        try (BufferedReader in = Files.newBufferedReader(cpuinfo)) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("vendor_id")) {
                    int colon = line.indexOf(':');
                    return colon < 0 ? "" : line.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
                }
            }
        } catch (IOException | RuntimeException e) {
            return ""; // a tuning guess only: the default shape is always correct
        }
        return "";
    }
}
