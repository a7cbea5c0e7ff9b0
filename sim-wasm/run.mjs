// Runs one simulator seed inside the bare zabra-sim-wasm module and writes its trace.
//
//   node sim-wasm/run.mjs <module.wasm> <seed> <nodes> <trace-out.jsonl>
//
// The module is instantiated with an EMPTY import object: if it imported anything from the
// host, instantiation would fail with a LinkError, so a successful run proves it imports
// nothing. Prints one line: `seed=<seed> nodes=<nodes> bytes=<n> hash=<16 hex> violations=<v>`.
import { readFileSync, writeFileSync } from "node:fs";

const [wasmPath, seedArg, nodesArg, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node run.mjs <module.wasm> <seed> <nodes> <trace-out.jsonl>");
  process.exit(2);
}

const module = new WebAssembly.Module(readFileSync(wasmPath));
const imports = WebAssembly.Module.imports(module);
if (imports.length > 0) {
  console.error(`the module imports from the host: ${JSON.stringify(imports)}`);
  process.exit(1);
}
const { exports } = new WebAssembly.Instance(module, {});

const len = exports.run_seed(BigInt(seedArg), Number(nodesArg)) >>> 0;
const ptr = exports.trace_ptr() >>> 0; // an i32 on the JS side; read it unsigned
// Read the memory only after the run: it may have grown (and been replaced) meanwhile.
const trace = new Uint8Array(exports.memory.buffer, ptr, len);
writeFileSync(outPath, trace);

const hash = BigInt.asUintN(64, exports.trace_hash()).toString(16).padStart(16, "0");
console.log(
  `seed=${seedArg} nodes=${nodesArg} bytes=${len} hash=${hash} violations=${exports.violations()}`,
);
