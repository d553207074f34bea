import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/args/argv.ts
function parseFlags(argv, specs) {
  const flags = /* @__PURE__ */ new Map();
  const positionals = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    let value = "";
    if (spec.value) {
      const next = argv[i + 1];
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (spec.optional && (next === void 0 || next.startsWith("--"))) value = "";
      else if (next !== void 0) value = argv[++i];
      else throw new UsageError(`--${name} needs a value`);
    } else if (eq >= 0) {
      throw new UsageError(`--${name} takes no value`);
    }
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !spec.repeat) throw new UsageError(`--${name} given twice`);
    list.push(value);
    flags.set(name, list);
  }
  return { flags, positionals };
}

export {
  parseFlags
};
//# sourceMappingURL=chunk-EZLHUZ5K.js.map