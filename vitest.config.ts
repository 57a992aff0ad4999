import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file starts its own servers; two cores, so two files at a time.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // e2e tests run several `pulumi` commands, each 6-35 s on a busy 2-core machine.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    reporters: ["default"],
    // The AWS SDK's Node 20 deprecation notice would otherwise repeat in every process's output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
