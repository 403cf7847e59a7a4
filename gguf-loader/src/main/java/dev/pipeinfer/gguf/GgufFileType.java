package dev.pipeinfer.gguf;

/**
 * The values of {@code general.file_type}: llama.cpp's {@code llama_ftype}, which says what most of the
 * weights were quantized to (the norms and a few other tensors usually keep another type). Names are
 * llama.cpp's without the {@code LLAMA_FTYPE_} prefix. Ids 4-6 and 33-35 were removed from llama.cpp but
 * still name what old files meant.
 */
public enum GgufFileType {
    ALL_F32(0), MOSTLY_F16(1), MOSTLY_Q4_0(2), MOSTLY_Q4_1(3), MOSTLY_Q4_1_SOME_F16(4), MOSTLY_Q4_2(5),
    MOSTLY_Q4_3(6), MOSTLY_Q8_0(7), MOSTLY_Q5_0(8), MOSTLY_Q5_1(9), MOSTLY_Q2_K(10), MOSTLY_Q3_K_S(11),
    MOSTLY_Q3_K_M(12), MOSTLY_Q3_K_L(13), MOSTLY_Q4_K_S(14), MOSTLY_Q4_K_M(15), MOSTLY_Q5_K_S(16),
    MOSTLY_Q5_K_M(17), MOSTLY_Q6_K(18), MOSTLY_IQ2_XXS(19), MOSTLY_IQ2_XS(20), MOSTLY_Q2_K_S(21),
    MOSTLY_IQ3_XS(22), MOSTLY_IQ3_XXS(23), MOSTLY_IQ1_S(24), MOSTLY_IQ4_NL(25), MOSTLY_IQ3_S(26),
    MOSTLY_IQ3_M(27), MOSTLY_IQ2_S(28), MOSTLY_IQ2_M(29), MOSTLY_IQ4_XS(30), MOSTLY_IQ1_M(31), MOSTLY_BF16(32),
    MOSTLY_Q4_0_4_4(33), MOSTLY_Q4_0_4_8(34), MOSTLY_Q4_0_8_8(35), MOSTLY_TQ1_0(36), MOSTLY_TQ2_0(37),
    MOSTLY_MXFP4_MOE(38);

    /** llama.cpp sets this bit when it guessed the type from the tensors rather than reading it. */
    public static final long GUESSED = 1024;

    public final int id;

    GgufFileType(int id) {
        this.id = id;
    }

    /** The type with this id (the GUESSED bit ignored), or null. */
    public static GgufFileType byId(long id) {
        long plain = id & ~GUESSED;
        for (GgufFileType t : values()) if (t.id == plain) return t;
        return null;
    }

    /** How llama.cpp would name the stored value: e.g. {@code MOSTLY_Q4_K_M}, or {@code unknown (99)}. */
    public static String describe(long id) {
        GgufFileType t = byId(id);
        String name = t == null ? "unknown (" + (id & ~GUESSED) + ")" : t.name();
        return (id & GUESSED) != 0 ? name + " (guessed)" : name;
    }
}
