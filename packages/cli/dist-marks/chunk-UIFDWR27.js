// src/args/errors.ts
var UsageError = class extends Error {
  code = "EUSAGE";
};

export {
  UsageError
};
//# sourceMappingURL=chunk-UIFDWR27.js.map