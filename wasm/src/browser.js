// The few browser calls of zabra-wasm that web-sys has only behind its unstable-API flag
// (the Web Locks API), kept as small as possible. Imported by the wasm-bindgen glue.

// Holds the Web Lock `name` for as long as this page (or worker) lives. `waitMs` 0: only if
// it is free now; otherwise wait for it that long (a reloaded tab's old document may still
// hold it for a moment). Resolves to true once held, false if not.
export function hold_lock(name, waitMs) {
  return new Promise((resolve) => {
    const opts = waitMs > 0 ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true };
    navigator.locks
      .request(name, opts, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        return new Promise(() => {}); // released when the page goes away
      })
      .catch(() => resolve(false));
  });
}

// Runs `f` (returning a value or a promise) while holding the Web Lock `name` exclusively.
export function with_lock(name, f) {
  return navigator.locks.request(name, () => f());
}

// `n` bytes from the OS random source.
export function random_bytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}
