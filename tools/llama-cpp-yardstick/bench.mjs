// llama.cpp on the same machine and file, as a yardstick for `pipeinfer bench` (not part of the product).
// node-llama-cpp ships llama.cpp's CPU backends prebuilt for each x86 level and picks one at run time.
//
//   npm install --prefix /tmp/yardstick node-llama-cpp@3.22.1
//   NODE_PATH=/tmp/yardstick/node_modules node tools/llama-cpp-yardstick/bench.mjs MODEL.gguf THREADS [N] [P]
//
// Prints, three times each, the rate of N decoded tokens after BOS (greedy, as `bench -n N -p 0`)
// and the time of one P-token prompt (as `bench -n 0 -p P`).
import {createRequire} from "node:module";
const require = createRequire(process.env.NODE_PATH ? process.env.NODE_PATH + "/" : import.meta.url);
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));

const [modelPath, threadsArg, nArg, pArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 2), n = Number(nArg ?? 32), p = Number(pArg ?? 64);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.warn});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const newContext = () => model.createContext({contextSize: 256, threads, batchSize: 256, flashAttention: false});

for (let round = 0; round < 3; round++) {
    const context = await newContext();
    const gaps = [];
    let last = performance.now();
    for await (const token of context.getSequence().evaluate([model.tokens.bos], {temperature: 0})) {
        const now = performance.now();
        gaps.push(now - last);
        last = now;
        if (gaps.length > n) break;
    }
    const decode = gaps.slice(1).sort((a, b) => a - b); // the first gap is BOS's own pass
    const median = decode[Math.floor(decode.length / 2)], total = decode.reduce((a, b) => a + b, 0);
    console.log(`decode  threads=${threads} n=${n}: ${(n * 1000 / total).toFixed(2)} tokens/s (${(total / n).toFixed(2)} ms/token;`
        + ` median token ${median.toFixed(2)} ms)`);
    await context.dispose();
}
const text = model.tokenize("Once upon a time there was a little fox who lived in the forest near the river. ");
const prompt = [model.tokens.bos];
while (prompt.length < p) prompt.push(text[(prompt.length - 1) % text.length]);
for (let round = 0; round < 3; round++) {
    const context = await newContext();
    const start = performance.now();
    await context.getSequence().evaluateWithoutGeneratingNewTokens(prompt);
    const ms = performance.now() - start;
    console.log(`prompt  threads=${threads} p=${p}: ${ms.toFixed(1)} ms, ${(p * 1000 / ms).toFixed(2)} tokens/s`);
    await context.dispose();
}
