package dev.pipeinfer.net;

/**
 * How activation values travel between stages. F32 is the default and keeps the pipeline bit-exact
 * (DESIGN section 3); F16 and BF16 halve the bytes per value and give up exactness, as an opt-in for
 * slow links.
 */
public enum WireType {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    WireType(int bytes) {
        this.bytes = bytes;
    }

    public int bytesPerValue() {
        return bytes;
    }

    public static WireType ofCode(int code) throws ProtocolException {
        if (code < 0 || code >= values().length) throw new ProtocolException("unknown activation wire type " + code);
        return values()[code];
    }

    public static WireType parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "f32" -> F32;
            case "f16" -> F16;
            case "bf16" -> BF16;
            default -> throw new IllegalArgumentException("wire type '" + name + "': expected f32, f16 or bf16");
        };
    }

    /** bfloat16: the top 16 bits of the f32, rounded to nearest even; NaN stays NaN. */
    static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40); // quiet NaN
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    static float fromBf16(short value) {
        return Float.intBitsToFloat((value & 0xffff) << 16);
    }
}
