package dev.pipeinfer.transformer.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ArchitectureTest {
    @Test
    void knownNames() {
        assertEquals(Architecture.LLAMA, Architecture.byName("x.gguf", "llama"));
        assertEquals(Architecture.FALCON, Architecture.byName("x.gguf", "falcon"));
    }

    @Test
    void otherArchitecturesAreRefusedByName() {
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> Architecture.byName("m.gguf", "qwen2"));
        assertTrue(e.getMessage().contains("m.gguf"), e.getMessage());
        assertTrue(e.getMessage().contains("'qwen2'"), e.getMessage());
        assertTrue(e.getMessage().contains("llama, falcon"), e.getMessage());
    }
}
