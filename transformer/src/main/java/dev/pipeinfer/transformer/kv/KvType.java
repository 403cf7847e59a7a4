package dev.pipeinfer.transformer.kv;

/** How a KV cache stores its K and V rows. */
public enum KvType {
    /** 32-bit floats: exact, for checking numbers against references made with an F32 cache. */
    F32,
    /** IEEE half precision (round to nearest even), llama.cpp's default: half the memory. */
    F16
}
