// pulumi-pbm sandbox: RunPlugin for the Node.js language host of Pulumi's sdk/v3 v3.68.0.
//
// build-go-tools.sh copies that release's pulumi-language-nodejs package next to this file, drops its RunPlugin
// (a stub that answers "not supported") and builds the two together. Pulumi CLI 3.248 starts a nodejs policy
// pack through the language host's RunPlugin whenever a `nodejs` language host is visible, so without this
// `pulumi preview --policy-pack <dir>` fails with "could not read plugin [...]: not supported".
//
// What the CLI asks for and expects (sdk/go/common/resource/plugin/plugin.go and analyzer_plugin.go of 3.248):
//   - the request's `info` (field 5, a ProgramInfo unknown to this release's protobuf types) names the policy
//     pack's directory; `kind` (field 6) is "analyzer"; `args` end with the engine's address;
//   - the plugin's first line on stdout is the port of the gRPC server it started; the rest of stdout and all of
//     stderr are shown to the user; the stream ends with the exit code.
//
// This does what the analyzer shim `pulumi-analyzer-policy` of the same release does, in the host: in the pack's
// directory, node runs `@pulumi/pulumi/cmd/run-policy-pack` (resolved from the pack's node_modules) with the
// arguments and `.`, the pack's entry point.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/encoding/protowire"
)

const runPolicyPackModule = "@pulumi/pulumi/cmd/run-policy-pack"

// pluginRequest holds what a newer engine sends beside the fields this release's RunPluginRequest declares.
type pluginRequest struct {
	rootDirectory    string // ProgramInfo.root_directory
	programDirectory string // ProgramInfo.program_directory
	entryPoint       string // ProgramInfo.entry_point
	kind             string // RunPluginRequest.kind
}

// decodePluginRequest reads fields 5 (info) and 6 (kind) from the request's unknown fields.
func decodePluginRequest(raw []byte) (pluginRequest, error) {
	var r pluginRequest
	err := eachBytesField(raw, func(num protowire.Number, v []byte) error {
		switch num {
		case 5:
			return eachBytesField(v, func(n protowire.Number, s []byte) error {
				switch n {
				case 1:
					r.rootDirectory = string(s)
				case 2:
					r.programDirectory = string(s)
				case 3:
					r.entryPoint = string(s)
				}
				return nil
			})
		case 6:
			r.kind = string(v)
		}
		return nil
	})
	return r, err
}

// eachBytesField calls f for every length-delimited field of a protobuf message and skips the others.
func eachBytesField(raw []byte, f func(protowire.Number, []byte) error) error {
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return protowire.ParseError(n)
		}
		raw = raw[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(raw)
			if m < 0 {
				return protowire.ParseError(m)
			}
			raw = raw[m:]
			if err := f(num, v); err != nil {
				return err
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, raw)
		if m < 0 {
			return protowire.ParseError(m)
		}
		raw = raw[m:]
	}
	return nil
}

// streamWriter sends what a child process writes as RunPluginResponse messages, one Send at a time.
type streamWriter struct {
	mu     *sync.Mutex
	server pulumirpc.LanguageRuntime_RunPluginServer
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	msg := &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	if w.stderr {
		msg = &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.server.Send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (host *nodeLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	extra, err := decodePluginRequest(req.ProtoReflect().GetUnknown())
	if err != nil {
		return fmt.Errorf("reading the RunPlugin request: %w", err)
	}
	if extra.kind != "" && extra.kind != "analyzer" {
		return fmt.Errorf("this language host runs only policy packs (analyzer plugins), not %q plugins", extra.kind)
	}
	dir := extra.programDirectory
	if dir == "" {
		dir = extra.rootDirectory
	}
	if dir == "" {
		dir = req.GetProgram() // engines before ProgramInfo sent the plugin's directory here
	}
	if dir == "" {
		return errors.New("RunPlugin: the request names no policy pack directory")
	}
	entry := extra.entryPoint
	if entry == "" {
		entry = "."
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return errors.New("could not find node on the $PATH")
	}
	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}

	// Resolve run-policy-pack from the pack's directory, so the pack's own @pulumi/pulumi runs it.
	resolve := exec.Command(nodeBin, "-e", fmt.Sprintf("console.log(require.resolve(%q))", runPolicyPackModule))
	resolve.Dir, resolve.Env = dir, env
	out, err := resolve.Output()
	if err != nil {
		// The engine recognises this message and tells the user to install the pack's dependencies.
		return fmt.Errorf("Cannot find module '%s' from %s: run npm install there", runPolicyPackModule, dir)
	}
	runPath := strings.TrimSpace(string(out))
	if !filepath.IsAbs(runPath) {
		return fmt.Errorf("unexpected path for %s: %q", runPolicyPackModule, runPath)
	}

	args := append([]string{runPath}, req.GetArgs()...)
	args = append(args, entry)
	cmd := exec.CommandContext(server.Context(), nodeBin, args...)
	cmd.Dir, cmd.Env = dir, env
	var mu sync.Mutex
	cmd.Stdout = streamWriter{mu: &mu, server: server}
	cmd.Stderr = streamWriter{mu: &mu, server: server, stderr: true}

	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("running the policy pack in %s: %w", dir, err)
		}
		code = int32(exit.ExitCode())
	}
	mu.Lock()
	defer mu.Unlock()
	err = server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
