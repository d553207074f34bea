import {
  RUN_FLAGS,
  parseRunFlags
} from "./chunk-L33XYDW3.js";
import "./chunk-LRQRTXU3.js";
import "./chunk-EZLHUZ5K.js";
import {
  main
} from "./chunk-VD4QOU4S.js";
import "./chunk-PRUE6SIQ.js";
import {
  UsageError
} from "./chunk-UIFDWR27.js";
export {
  RUN_FLAGS,
  UsageError,
  main,
  parseRunFlags
};
//# sourceMappingURL=index.js.map