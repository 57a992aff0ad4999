// Notices: lines for the person running pulumi (a base snapshot started, a wait for pbm's lock or for a
// release in the same update). Provider code writes them to a sink it is given, as ops/ takes `onEvent`; only
// the default touches the process's output.
export type NoticeSink = (line: string) => void;

/**
 * The default: `pulumi-pbm: <line>` on stdout, which the dynamic-provider host passes on to the engine, so
 * `pulumi up` shows it under the resource.
 */
export const stdoutNotice: NoticeSink = (line) => {
  process.stdout.write(`pulumi-pbm: ${line}\n`);
};
