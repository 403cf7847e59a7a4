package dev.pipeinfer.gguf;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order, with typed access.
 *
 * <p>Getters accept any stored type that represents the requested value exactly (an int getter takes
 * UINT8..INT64 within int range) and otherwise throw {@link GgufFormatException} naming the key, its
 * stored type and where it is in the file; a missing key is reported the same way.
 */
public final class GgufMetadata {
    private final Path file;
    private final Map<String, GgufValue> values;

    public GgufMetadata(Path file, Map<String, GgufValue> values) {
        this.file = file;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Every key, in file order. */
    public Set<String> keys() {
        return values.keySet();
    }

    /** Every entry, in file order. */
    public Map<String, GgufValue> asMap() {
        return values;
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public GgufValue get(String key) {
        GgufValue v = values.get(key);
        if (v == null) throw new GgufFormatException(file, "key '" + key + "'", -1, "missing");
        return v;
    }

    public GgufValueType typeOf(String key) {
        return get(key).type();
    }

    public String getString(String key) {
        return (String) expect(key, GgufValueType.STRING).value();
    }

    public String getString(String key, String fallback) {
        return contains(key) ? getString(key) : fallback;
    }

    public boolean getBoolean(String key) {
        return (Boolean) expect(key, GgufValueType.BOOL).value();
    }

    public boolean getBoolean(String key, boolean fallback) {
        return contains(key) ? getBoolean(key) : fallback;
    }

    /** Any integer type whose value is in the signed 64-bit range. */
    public long getLong(String key) {
        GgufValue v = get(key);
        if (!v.type().isInteger()) throw wrongType(key, v, "an integer");
        long x = (Long) v.value();
        if (v.type() == GgufValueType.UINT64 && x < 0) {
            throw bad(key, v, "value " + Long.toUnsignedString(x) + " does not fit a signed 64-bit integer");
        }
        return x;
    }

    public long getLong(String key, long fallback) {
        return contains(key) ? getLong(key) : fallback;
    }

    /** Any integer type whose value fits an int. */
    public int getInt(String key) {
        long x = getLong(key);
        if (x != (int) x) throw bad(key, get(key), "value " + x + " does not fit a 32-bit integer");
        return (int) x;
    }

    public int getInt(String key, int fallback) {
        return contains(key) ? getInt(key) : fallback;
    }

    /**
     * An optional token-id style value: absent, or the 32-bit "none" marker 0xFFFFFFFF (and any negative
     * value) both mean empty, as llama.cpp treats them.
     */
    public OptionalInt findId(String key) {
        if (!contains(key)) return OptionalInt.empty();
        long x = getLong(key);
        if (x < 0 || x >= 0xFFFF_FFFFL || x != (int) x) return OptionalInt.empty();
        return OptionalInt.of((int) x);
    }

    /** FLOAT32 or FLOAT64 (a FLOAT64 is narrowed). */
    public float getFloat(String key) {
        GgufValue v = get(key);
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.value();
            case FLOAT64 -> (float) (double) (Double) v.value();
            default -> throw wrongType(key, v, "a float");
        };
    }

    public float getFloat(String key, float fallback) {
        return contains(key) ? getFloat(key) : fallback;
    }

    public GgufArray getArray(String key) {
        return (GgufArray) expect(key, GgufValueType.ARRAY).value();
    }

    public String[] getStringArray(String key) {
        return (String[]) arrayOf(key, GgufValueType.STRING).elements();
    }

    public float[] getFloatArray(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() == GgufValueType.FLOAT32) return (float[]) a.elements();
        if (a.elementType() == GgufValueType.FLOAT64) {
            double[] d = (double[]) a.elements();
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        }
        throw bad(key, get(key), "is an array of " + a.elementType() + ", expected an array of floats");
    }

    /** An array of any integer type whose elements all fit an int. */
    public int[] getIntArray(String key) {
        GgufArray a = getArray(key);
        if (!a.elementType().isInteger()) {
            throw bad(key, get(key), "is an array of " + a.elementType() + ", expected an array of integers");
        }
        if (a.elementType() == GgufValueType.INT32) return (int[]) a.elements();
        int[] out = new int[a.length()];
        for (int i = 0; i < out.length; i++) {
            long x = a.longAt(i);
            if (x != (int) x) throw bad(key, get(key), "element " + i + " = " + x + " does not fit a 32-bit integer");
            out[i] = (int) x;
        }
        return out;
    }

    private GgufArray arrayOf(String key, GgufValueType element) {
        GgufArray a = getArray(key);
        if (a.elementType() != element) {
            throw bad(key, get(key), "is an array of " + a.elementType() + ", expected an array of " + element);
        }
        return a;
    }

    private GgufValue expect(String key, GgufValueType type) {
        GgufValue v = get(key);
        if (v.type() != type) throw wrongType(key, v, type.toString());
        return v;
    }

    private GgufFormatException wrongType(String key, GgufValue v, String expected) {
        return bad(key, v, "is " + v.type() + ", expected " + expected);
    }

    private GgufFormatException bad(String key, GgufValue v, String problem) {
        return new GgufFormatException(file, "key '" + key + "'", v.offset(), problem);
    }
}
