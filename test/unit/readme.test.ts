// The README's error table is the code catalogue (provider/errors.ts); this keeps them from drifting apart.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../provider/errors";
import { REPO_ROOT } from "../../sandbox/testbed";

describe("README error table", () => {
  it("lists every error code with its title and fix, in catalogue order", () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const rows = readme.split("\n").filter((l) => /^\| PBMP-\d{4} \|/.test(l));
    expect(rows).toEqual(Object.values(ERROR_CODES).map((e) => `| ${e.code} | ${e.title} | ${e.solution} |`));
  });
});
