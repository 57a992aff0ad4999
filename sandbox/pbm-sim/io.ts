// Output the way pbm prints it: Go's json.Encoder (one line, HTML-escaped), text output trimmed, and the
// error conventions of each release (reference §1.2, §6).
import type { Features } from "./version";

export type OutFormat = "json" | "json-pretty" | "text";

/** An error a pbm command returns; printed per the release's conventions. */
export class PbmError extends Error {
  constructor(
    message: string,
    /** Pre-run (connection) errors are JSON on stdout in every release. */
    readonly kind: "command" | "connection" | "parse" | "raw" = "command",
    /** ≤ 2.8 JSON form of a concurrent-operation error. */
    readonly jsonBody?: unknown,
  ) {
    super(message);
  }
}

const htmlEscape = (s: string) => s.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");

/** Go's json.Encoder output (without the trailing newline). */
export function goJson(value: unknown, pretty = false, indent = 2): string {
  return htmlEscape(JSON.stringify(value, undefined, pretty ? indent : undefined));
}

export class Output {
  stdout = "";
  stderr = "";
  exitCode = 0;
  constructor(
    readonly format: OutFormat,
    readonly f: Features,
  ) {}

  get json(): boolean {
    return this.format === "json" || this.format === "json-pretty";
  }

  /** Text written with fmt.Print regardless of --out (e.g. progress before JSON). */
  raw(text: string): void {
    this.stdout += text;
  }

  /** The command's result: JSON object, or text. */
  result(json: unknown, text: () => string): void {
    if (this.json) this.stdout += goJson(json, this.format === "json-pretty") + "\n";
    else {
      const t = text().trim();
      if (t) this.stdout += t + "\n";
    }
  }

  fail(err: PbmError): void {
    this.exitCode = 1;
    if (err.kind === "raw") {
      this.stderr += err.message;
      return;
    }
    if (err.kind === "parse") {
      this.stderr += `Error: ${err.message}\n`;
      return;
    }
    const jsonOnStdout = this.json && (err.kind === "connection" || !this.f.cobra);
    if (jsonOnStdout) {
      const body = this.f.jsonErrorsBroken ? { Error: {} } : (err.jsonBody ?? { Error: err.message });
      this.stdout += goJson(body, this.format === "json-pretty", 4) + "\n";
    } else {
      this.stderr += `Error: ${err.message}\n`;
    }
  }
}
