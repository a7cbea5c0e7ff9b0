// The Tabs mode's peer worker: loads the same wasm module as the page and runs the peer
// (zabra-wasm's worker_main, re-exported by zabra-www). Started by the page as a module worker.
import init, { worker_main } from './zabra_www.js';

await init();
worker_main();
