import {
  UsageError
} from "./chunk-UIFDWR27.js";

// src/args/key-values.ts
function parseKeyValues(flag, text, allowed, bare) {
  const out = /* @__PURE__ */ new Map();
  for (const part of text.split(",")) {
    if (part === "") throw new UsageError(`${flag}: empty item in '${text}'`);
    const eq = part.indexOf("=");
    let key;
    let value;
    if (eq < 0) {
      if (!bare || !bare.values.includes(part)) {
        const words = bare ? `${bare.values.join(", ")} or ` : "";
        throw new UsageError(
          `${flag}: '${part}' needs a value (${words}key=value; keys: ${allowed.join(", ")})`
        );
      }
      key = bare.key;
      value = part;
    } else {
      key = part.slice(0, eq);
      value = part.slice(eq + 1);
    }
    if (!allowed.includes(key))
      throw new UsageError(`${flag}: unknown key '${key}' (keys: ${allowed.join(", ")})`);
    if (out.has(key)) throw new UsageError(`${flag}: '${key}' given twice`);
    if (value === "") throw new UsageError(`${flag}: '${key}' needs a value`);
    out.set(key, value);
  }
  return out;
}
function onOff(flag, kv, key) {
  const value = kv.get(key);
  return value === void 0 ? void 0 : onOffValue(flag, key, value);
}
function onOffValue(flag, key, value) {
  if (value !== "on" && value !== "off") throw new UsageError(`${flag}: ${key}=${value} is not on or off`);
  return value === "on";
}

export {
  parseKeyValues,
  onOff,
  onOffValue
};
//# sourceMappingURL=chunk-LRQRTXU3.js.map