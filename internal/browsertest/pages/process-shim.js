// A minimal "process" for npm code that reads process.browser or process.env (bittorrent-tracker
// and its dependencies) when bundled for the browser. esbuild injects it into the PML 2.x bundle.
export const process = {
  browser: true,
  env: {},
  argv: [],
  version: "",
  versions: {},
  platform: "browser",
  nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
};
