import {
  main
} from "./chunk-VD4QOU4S.js";
import "./chunk-PRUE6SIQ.js";
import "./chunk-UIFDWR27.js";
export {
  main
};
//# sourceMappingURL=main-J3CKRSQO.js.map