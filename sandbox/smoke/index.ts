export { sandboxProbe } from "./provider";
