// bittorrent-tracker (used by P2P Media Loader) reads process.browser and process.env;
// browsers have no `process`, so the bundle gets this minimal one.
export const process = { browser: true, env: {}, nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)) };
