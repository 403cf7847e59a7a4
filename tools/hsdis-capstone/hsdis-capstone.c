/*
 * A disassembler plugin for HotSpot's -XX:+PrintAssembly, on Debian's capstone library: a developer's tool for
 * reading the machine code C2 makes of the Vector API kernels, not part of pipeinfer's build or runtime.
 *
 * HotSpot loads a library named hsdis-amd64.so (from LD_LIBRARY_PATH or the JDK's lib directory) and calls
 * decode_instructions_virtual over each compiled method's code; Debian ships no plugin for current JDKs (its
 * libhsdis0-fcml has only the older entry point). See build.sh.
 */
#include <capstone/capstone.h>
#include <stddef.h>
#include <stdint.h>

typedef void *(*hsdis_event_fn)(void *stream, const char *event, void *arg);
typedef int (*hsdis_printf_fn)(void *stream, const char *format, ...);

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer, uintptr_t length,
                                  hsdis_event_fn event, void *event_stream, hsdis_printf_fn print,
                                  void *print_stream, const char *options, int newline) {
    (void) end_va;
    (void) options;
    csh handle;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) return NULL;
    cs_option(handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    cs_insn *insn = cs_malloc(handle);
    const uint8_t *code = buffer;
    size_t left = length;
    uint64_t address = start_va;
    while (left > 0) {
        if (event) event(event_stream, "insn", (void *) (uintptr_t) address);
        if (cs_disasm_iter(handle, &code, &left, &address, insn)) {
            print(print_stream, "%s\t%s", insn->mnemonic, insn->op_str);
        } else { /* not an instruction (data in the code): one byte, then go on */
            print(print_stream, ".byte 0x%02x", *code);
            code++;
            left--;
            address++;
        }
        if (event) event(event_stream, "/insn", (void *) (uintptr_t) address);
        if (newline) print(print_stream, "\n");
    }
    cs_free(insn, 1);
    cs_close(&handle);
    return (void *) (uintptr_t) address;
}
