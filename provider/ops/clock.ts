// Moved to core/time.ts; kept for the imports in cli/main.ts and test/unit/cliArgs.test.ts.
export { abortableSleep, systemClock, type Clock } from "../core/time";
