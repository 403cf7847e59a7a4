package dev.pipeinfer.transformer.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streaming decoder prints whole characters only, holding back bytes until their character is complete. */
class StreamingDecoderTest {

    private static final String MIXED = "emoji 🤖🦙 and symbols ∑∫√, 日本語のテキストと中文和한국어 𝔘𝔫𝔦𝔠𝔬𝔡𝔢";

    /** Streams the tokens; every chunk must be whole characters; returns the chunks. */
    private static List<String> stream(Tokenizer t, int[] ids) {
        StreamingDecoder decoder = new StreamingDecoder(t);
        List<String> chunks = new ArrayList<>();
        for (int id : ids) {
            String chunk = decoder.accept(id);
            assertFalse(chunk.contains("\uFFFD"), "no replacement character for valid text: " + chunk);
            if (!chunk.isEmpty()) {
                assertFalse(Character.isHighSurrogate(chunk.charAt(chunk.length() - 1)), "chunk ends inside a character");
                assertFalse(Character.isLowSurrogate(chunk.charAt(0)), "chunk starts inside a character");
            }
            chunks.add(chunk);
        }
        assertFalse(decoder.hasPending());
        assertEquals("", decoder.finish());
        return chunks;
    }

    @Test
    void sentencePieceByteTokensOfOneCharacterComeOutTogether() {
        Tokenizer spm = VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf");
        int[] ids = spm.encode(MIXED, false, false);
        // The Llama-2 vocabulary spells 🤖 as four byte tokens <0xF0><0x9F><0xA4><0x96>.
        int robotStart = indexOfPiece(spm, ids, (byte) 0xF0);
        assertTrue(robotStart >= 0, "the emoji is spelled with byte tokens");
        List<String> chunks = stream(spm, ids);
        assertEquals(List.of("", "", "", "🤖"), chunks.subList(robotStart, robotStart + 4));
        assertEquals(" " + MIXED, String.join("", chunks), "pieces keep SentencePiece's leading space");
    }

    @Test
    void bytePairTokensEndingInsideACharacterAreHeldBack() {
        for (String vocab : List.of("ggml-vocab-llama-bpe.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-falcon.gguf")) {
            Tokenizer t = VocabFiles.tokenizer(vocab);
            int[] ids = t.encode(MIXED, false, false);
            int partial = 0;
            for (int id : ids) {
                if (new String(t.piece(id), StandardCharsets.UTF_8).contains("\uFFFD")) partial++;   // not valid on its own
            }
            assertTrue(partial > 0, vocab + ": some token holds part of a character");
            assertEquals(MIXED, String.join("", stream(t, ids)), vocab);
        }
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
        StreamingDecoder d = new StreamingDecoder(VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf"));
        assertEquals("", d.acceptBytes(new byte[] {(byte) 0xE2, (byte) 0x82}), "could still become €");
        assertEquals("\uFFFDa", d.acceptBytes(new byte[] {'a'}), "cannot any more: replaced, then the a");
        assertEquals("\uFFFD", d.acceptBytes(new byte[] {(byte) 0x80}), "a stray continuation byte is invalid at once");
        assertEquals("\uFFFD", d.acceptBytes(new byte[] {(byte) 0xC0}), "C0 can never start a character");
        assertEquals("", d.acceptBytes(new byte[] {(byte) 0xF0, (byte) 0x9F}));
        assertEquals("\uFFFD", d.finish(), "unfinished at the end");
        assertEquals("", d.acceptBytes(new byte[] {(byte) 0xE2}));
        assertEquals("€", d.acceptBytes(new byte[] {(byte) 0x82, (byte) 0xAC}));
        assertEquals("\uFFFD", d.acceptBytes(new byte[] {(byte) 0xED, (byte) 0xA0}), "a surrogate's encoding is invalid at once");
    }

    @Test
    void controlTokensPrintNothingUnlessAsked() {
        Tokenizer spm = VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf");
        assertEquals("", new StreamingDecoder(spm).accept(spm.eos()));
        assertEquals("</s>", new StreamingDecoder(spm, true).accept(spm.eos()));
    }

    private static int indexOfPiece(Tokenizer t, int[] ids, byte first) {
        for (int i = 0; i < ids.length; i++) {
            byte[] p = t.piece(ids[i]);
            if (p.length == 1 && p[0] == first) return i;
        }
        return -1;
    }
}
