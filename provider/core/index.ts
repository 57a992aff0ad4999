// Pure modules (no I/O): what the sdk and the policy pack may import from the provider.
export * from "./cluster";
export * from "./cron";
export * from "./pitrRule";
export * from "./time";
