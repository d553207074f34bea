#!/usr/bin/env node
globalThis.__mk=(l)=>{(globalThis.__marks??=[]).push([l,process.uptime()*1000])};globalThis.__mk("bin");process.on("exit",()=>{require("fs").writeSync(2,"MARKS "+globalThis.__marks.map(([l,t])=>l+"="+t.toFixed(1)).join(" ")+"\n")});const __vmmFileUrls = new Map();
function __vmmFileUrl(pkg, file) {
  const key = pkg + "\0" + file;
  let url = __vmmFileUrls.get(key);
  if (url === undefined) {
    const path = require("node:path");
    const base = pkg === "@vmm/cli" ? path.join(__dirname, "..") : __vmmPackageDir(pkg);
    url = require("node:url").pathToFileURL(path.join(base, file)).href;
    __vmmFileUrls.set(key, url);
  }
  return url;
}
function __vmmPackageDir(pkg) {
  const path = require("node:path");
  const fs = require("node:fs");
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const candidate = path.join(dir, pkg);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
  }
  return path.dirname(require.resolve(pkg + "/package.json"));
}
"use strict";
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// required-once:path
var path_default = require("node:path");

// src/code-cache.ts
var import_node_module3 = require("node:module");

// required-once:fs
var fs_default = require("node:fs");

// ../vmm/src/code-cache.ts
var import_node_module = require("node:module");

// required-once:os
var os_default = require("node:os");

// required-once:vm
var vm_default = require("node:vm");

// ../vmm/src/log/debug.ts
function debugLine(what, line) {
  if (!process.env.VMM_DEBUG) return;
  try {
    fs_default.writeSync(2, `vmm: ${what}: ${line}
`);
  } catch {
  }
}

// ../vmm/src/code-cache.ts
var BUNDLE_WRAPPER = {
  start: "(function (exports, require, module, __filename, __dirname) {",
  end: "\n})"
};
function loadCodeCached(file, options) {
  if (process.env.VMM_CODE_CACHE === "off") return fallBack("off");
  let source;
  let name;
  try {
    name = cacheName(options.name, file, ".v8");
    source = fs_default.readFileSync(file, "latin1");
  } catch {
    return fallBack(`no bundle at ${file}`);
  }
  const places = cacheDirs().map((d) => path_default.join(d, name.file));
  let cacheFile = places[0];
  let cachedData;
  for (const place of places) {
    try {
      if (!privateDir(path_default.dirname(place))) continue;
      cachedData = fs_default.readFileSync(place);
      cacheFile = place;
      break;
    } catch {
    }
  }
  let exports2;
  let script;
  try {
    globalThis.__mk("read");script = new vm_default.Script(source.startsWith(BUNDLE_WRAPPER.start) ? source : import_node_module.Module.wrap(source), {
      filename: file,
      cachedData,
      importModuleDynamically: vm_default.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER
    });
    const mod = { exports: {} };
    globalThis.__mk("compiled");const wrapper = script.runInThisContext();
    wrapper.call(
      mod.exports,
      mod.exports,
      options.require ?? (0, import_node_module.createRequire)(file),
      mod,
      file,
      path_default.dirname(file)
    );
    exports2 = mod.exports;
  } catch (e) {
    return fallBack(`bundle ${file} did not load (${e.message})`);
  }
  if (cachedData && !script.cachedDataRejected) {
    debug(`used ${cacheFile}`);
    return exports2;
  }
  const write = () => {
    const written = writePrivate(cachedData ? [cacheFile] : places, script.createCachedData(), name.prefix);
    debug(
      written.place ? `${cachedData ? "rejected, rewritten" : "written"}: ${written.place}` : `not written (${written.why})`
    );
  };
  if (options.write === "exit") process.once("exit", write);
  else write();
  return exports2;
}
function readCacheNote(note, file) {
  if (process.env.VMM_CODE_CACHE === "off") return void 0;
  try {
    const { file: name } = cacheName(note, file, ".txt");
    for (const dir2 of cacheDirs()) {
      if (!privateDir(dir2)) continue;
      try {
        return fs_default.readFileSync(path_default.join(dir2, name), "utf8");
      } catch {
      }
    }
  } catch {
  }
  return void 0;
}
function writeCacheNote(note, file, text) {
  if (process.env.VMM_CODE_CACHE === "off") return;
  try {
    const name = cacheName(note, file, ".txt");
    const written = writePrivate(
      cacheDirs().map((d) => path_default.join(d, name.file)),
      text,
      name.prefix
    );
    debug(written.place ? `note written: ${written.place}` : `note not written (${written.why})`);
  } catch {
  }
}
function cacheName(kind, file, ext) {
  const st = fs_default.statSync(file);
  const prefix = `${kind}-${fnv1a(path_default.resolve(file))}-${process.version}-${process.arch}-${fnv1a(process.execArgv.join("\0"))}-`;
  return { prefix, file: `${prefix}${st.size}-${Math.trunc(st.mtimeMs)}-${st.ino}${ext}` };
}
function writePrivate(places, data, prefix) {
  const why = [];
  for (const place of places) {
    const dir2 = path_default.dirname(place);
    const tmp = `${place}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      makeDirs(dir2);
      if (!privateDir(dir2)) throw new Error(`${dir2} is not this user's alone`);
      fs_default.writeFileSync(tmp, data, { mode: 384 });
      fs_default.renameSync(tmp, place);
    } catch (e) {
      why.push(e.message);
      fs_default.rmSync(tmp, { force: true });
      continue;
    }
    pruneEarlier(dir2, prefix, path_default.basename(place));
    return { place };
  }
  return { why: why.join("; ") };
}
function pruneEarlier(dir2, prefix, keep) {
  try {
    for (const entry of fs_default.readdirSync(dir2)) {
      if (entry === keep || !entry.startsWith(prefix) || path_default.extname(entry) !== path_default.extname(keep)) continue;
      try {
        fs_default.unlinkSync(path_default.join(dir2, entry));
        debug(`removed ${entry} (an earlier build's)`);
      } catch {
      }
    }
  } catch {
  }
}
function cacheDirs() {
  const given = process.env.VMM_CODE_CACHE_DIR;
  if (given) return [given];
  const base = process.env.XDG_CACHE_HOME || path_default.join(os_default.homedir(), ".cache");
  const uid = process.getuid?.() ?? "user";
  return [path_default.join(base, "vmm", "code-cache"), path_default.join(os_default.tmpdir(), `vmm-code-cache-${uid}`)];
}
function privateDir(dir2) {
  try {
    const st = fs_default.lstatSync(dir2);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 18) === 0;
  } catch {
    return false;
  }
}
function makeDirs(dir2) {
  const parts = path_default.resolve(dir2).split(path_default.sep).filter(Boolean);
  let at = path_default.sep;
  for (const part of parts) {
    at = path_default.join(at, part);
    try {
      fs_default.mkdirSync(at, { mode: 448 });
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
  }
}
function fnv1a(text) {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16);
}
function debug(line) {
  debugLine("code cache", line);
}
function fallBack(why) {
  debug(`${why}: the modules instead`);
  return void 0;
}

// ../vmm/src/io/koffi-native.ts
var import_node_module2 = require("node:module");
var ANNOUNCED = /* @__PURE__ */ Symbol.for("vmm.koffi-native");
function loadedKoffiNative() {
  const announced = globalThis[ANNOUNCED];
  return typeof announced === "string" ? announced : koffiNativeOfLoader();
}
function announceKoffiNative(file) {
  globalThis[ANNOUNCED] = file;
}
function koffiNativeOfLoader() {
  const files = Object.keys((0, import_node_module2.createRequire)(`${process.cwd()}/`).cache).filter(
    (f) => f.endsWith("/koffi.node")
  );
  return files.length === 1 ? files[0] : void 0;
}
function requireWithKoffi(base, file) {
  if (!file) return base;
  let koffi;
  const req = (id) => {
    if (id !== "koffi") return base(id);
    if (koffi === void 0) {
      koffi = nativeKoffi(file);
      if (koffi === void 0 && loadedKoffiNative() === file) announceKoffiNative(void 0);
      koffi ??= base("koffi");
    }
    return koffi;
  };
  return Object.assign(req, {
    resolve: base.resolve,
    cache: base.cache,
    main: base.main,
    extensions: base.extensions
  });
}
function nativeKoffi(file) {
  try {
    const major = true ? "3" : void 0;
    if (!major) return void 0;
    const mod = { exports: {} };
    process.dlopen(mod, file);
    const { load, type, version } = mod.exports;
    if (typeof load !== "function" || typeof type !== "function" || typeof version !== "string") {
      debug2(`${file} is not koffi's native module: koffi's loader instead`);
      return void 0;
    }
    if (version.split(".")[0] !== major) {
      debug2(`${file} is koffi ${version}, not ${major}.x: koffi's loader instead`);
      return void 0;
    }
    debug2(`native module from ${file}`);
    return mod.exports;
  } catch (e) {
    debug2(`${file} did not load (${e.message}): koffi's loader instead`);
    return void 0;
  }
}
function debug2(line) {
  debugLine("koffi", line);
}

// ../vmm/src/worker-url.ts
var import_node_worker_threads = require("node:worker_threads");

// ../vmm/src/io/thread-node-options.ts
var PRELOADS = /* @__PURE__ */ new Set(["--require", "-r", "--import", "--loader", "--experimental-loader"]);
function withoutPreloads(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    if (!PRELOADS.has(eq > 0 ? a.slice(0, eq) : a)) out.push(a);
    else if (eq < 0) i++;
  }
  return out;
}
function splitNodeOptions(s) {
  const out = [];
  let token;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === "\\" && i + 1 < s.length) token = (token ?? "") + s[++i];
    else if (c === '"') {
      quoted = !quoted;
      token ??= "";
    } else if (!quoted && /\s/.test(c)) {
      if (token !== void 0) out.push(token);
      token = void 0;
    } else token = (token ?? "") + c;
  }
  if (token !== void 0) out.push(token);
  return out;
}
function joinNodeOptions(args) {
  return args.map((a) => a !== "" && !/[\s"\\]/.test(a) ? a : `"${a.replace(/["\\]/g, "\\$&")}"`).join(" ");
}
function threadNodeOptions() {
  const out = {};
  const execArgv = withoutPreloads(process.execArgv);
  if (execArgv.length !== process.execArgv.length) out.execArgv = execArgv;
  const given = process.env.NODE_OPTIONS;
  if (!given) return out;
  const tokens = splitNodeOptions(given);
  const kept = withoutPreloads(tokens);
  if (kept.length !== tokens.length) out.env = { ...process.env, NODE_OPTIONS: joinNodeOptions(kept) };
  return out;
}
function withoutRefused(execArgv, refusal) {
  const e = refusal;
  if (e?.code !== "ERR_WORKER_INVALID_EXEC_ARGV" || typeof e.message !== "string") return void 0;
  const m = /invalid execArgv flags: (.*)$/s.exec(e.message);
  if (!m) return void 0;
  const refused = new Set(m[1].split(", "));
  const kept = execArgv.filter((a) => !refused.has(a));
  return kept.length < execArgv.length ? kept : void 0;
}

// ../vmm/src/worker-url.ts
function startWorker(name, given) {
  const options = { ...threadNodeOptions(), ...given };
  if (fromSource()) return startModuleWorker(new URL(`./io/${name}.ts`, __vmmFileUrl("@vmm/vmm", "dist/index.js")), options);
  const file = name === "pool-worker" ? "pool-worker-loader.cjs" : `${name}.js`;
  return newWorker(new URL(`./io/${file}`, __vmmFileUrl("@vmm/vmm", "dist/index.js")), options);
}
function startModuleWorker(url, options) {
  if (!url.pathname.endsWith(".ts")) return newWorker(url, options);
  const src = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return newWorker(src, { ...options, eval: true });
}
function newWorker(what, options) {
  try {
    return new import_node_worker_threads.Worker(what, options);
  } catch (e) {
    const execArgv = options.execArgv && withoutRefused(options.execArgv, e);
    if (!execArgv) throw e;
    return new import_node_worker_threads.Worker(what, { ...options, execArgv });
  }
}
function fromSource() {
  return __vmmFileUrl("@vmm/vmm", "dist/index.js").endsWith(".ts");
}

// ../vmm/src/io/worker-pool.ts
var POOL_KEY = /* @__PURE__ */ Symbol.for("vmm.worker-pool");
var pool = globalThis[POOL_KEY] ??= {
  idle: [],
  target: 0,
  refill: true,
  refillTimer: void 0,
  stats: { started: 0, takenLoaded: 0, takenLoading: 0, takenCold: 0, failed: 0 }
};
var { idle, stats } = pool;
function warmThreads(count, options = {}) {
  if (options.refill !== void 0) pool.refill = options.refill;
  pool.target = Math.max(0, Math.floor(count));
  while (idle.length < pool.target) idle.push(spawn());
}
function spawn() {
  const loaded = new Int32Array(new SharedArrayBuffer(4));
  const worker = startWorker("pool-worker", {
    workerData: { loaded: loaded.buffer, koffiNative: loadedKoffiNative() },
    // Passed on when it is taken (passWorkerOutput), not opened now.
    stdout: true,
    stderr: true
  });
  stats.started++;
  debugLine("worker pool", `thread ${stats.started} started`);
  const poll = setInterval(() => {
    if (Atomics.load(loaded, 0) !== 1) return;
    clearInterval(poll);
    worker.unref();
  }, 10);
  poll.unref();
  const gone = () => {
    const i = idle.findIndex((w) => w.worker === worker);
    if (i >= 0) {
      idle.splice(i, 1);
      stats.failed++;
    }
  };
  worker.on("error", gone);
  worker.on("exit", gone);
  worker.once("exit", () => clearInterval(poll));
  return {
    worker,
    loaded,
    detach: () => {
      clearInterval(poll);
      worker.unref();
      worker.off("error", gone);
      worker.off("exit", gone);
    }
  };
}

// src/first-thread.ts
function startFirstThread(argv2) {
  if (argv2[0] === "run" && !argv2.includes("--help") && !argv2.includes("-h"))
    warmThreads(1, { refill: false });
}

// src/code-cache.ts
var KOFFI_NOTE = "note-koffi-native";
function runCodeCached(file, argv2) {globalThis.__mk("runCodeCached");
  const named = /^[a-z][a-z-]{0,15}$/.test(argv2[0] ?? "") ? argv2[0] : "other";
  const restores = argv2.some((a) => a === "--restore" || a.startsWith("--restore="));
  const command = named === "run" && restores ? "run-restore" : named;
  const note = readCacheNote(KOFFI_NOTE, file);
  const noted = note && path_default.isAbsolute(note) && note.endsWith("/koffi.node") ? note : void 0;
  announceKoffiNative(noted);
  startFirstThread(argv2);
  process.once("exit", () => {
    const chosen = koffiNativeOfLoader();
    if (chosen && chosen !== noted) writeCacheNote(KOFFI_NOTE, file, chosen);
  });
  const bundle = loadCodeCached(file, {
    name: `cli-${command}`,
    write: "exit",
    require: requireWithKoffi(bundleRequire(file), noted)
  });
  if (typeof bundle?.start !== "function") return false;
  globalThis.__mk("bundle-ran");void bundle.start(argv2);
  return true;
}
function bundleRequire(file) {
  const own = (0, import_node_module3.createRequire)(file);
  let hypervisor;
  const req = ((id) => {
    if (id !== "koffi") return own(id);
    hypervisor ??= (0, import_node_module3.createRequire)(own.resolve("@vmm/hypervisor/package.json"));
    return hypervisor(id);
  });
  return Object.assign(req, { resolve: own.resolve, cache: own.cache, main: own.main });
}

// src/bin.ts
var argv = process.argv.slice(2);
var dir = typeof __dirname === "string" ? __dirname : void 0;
if (!dir || !runCodeCached(path_default.join(dir, "vmm.cjs"), argv)) {
  void import("./start.js").then(({ start }) => start(argv));
}
