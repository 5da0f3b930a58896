package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/deploy"
	"github.com/wasmgate/wasmgate/pluginspec"
)

func init() {
	var (
		rf          registryFlags
		ff          fetchFlags
		opts        deploy.Options
		configFile  string
		rulesFile   string
		specFile    string
		priority    int32
		out         string
		apply       bool
		kubectl     string
		kubectlArgs []string
		selector    []string
	)
	cmd := &cobra.Command{
		Use:   "deploy REF --config FILE",
		Short: "Validate a plugin configuration and write (or apply) its WasmPlugin",
		Long: `Deploy reads the plugin's spec.yaml — from the image REF (pulled; the WasmPlugin
url becomes oci://REF), or from a local plugin folder (give --url) — validates
the configuration (--config) and every match rule's configuration
(--match-rules) against its configSchema, and writes a WasmPlugin:

  --target higress  extensions.higress.io/v1alpha1 with defaultConfig and
                    matchRules (namespace higress-system)
  --target istio    extensions.istio.io/v1alpha1 with pluginConfig; match rules
                    become the _rules_ entries the Higress SDK reads

Violations name the field: config.blocked_code: must be >= 101.
--apply pipes the manifest to kubectl apply -f -.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			ctx := cmd.Context()
			var err error
			if cmd.Flags().Changed("priority") {
				opts.Priority = &priority
			}
			if configFile != "" {
				if opts.Config, err = deploy.LoadConfig(configFile); err != nil {
					return err
				}
			}
			if rulesFile != "" {
				if opts.MatchRules, err = deploy.LoadMatchRules(rulesFile); err != nil {
					return err
				}
			}
			if len(selector) > 0 {
				opts.Selector = map[string]string{}
				for _, kv := range selector {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("--selector %q: want KEY=VALUE", kv)
					}
					opts.Selector[k] = v
				}
			}
			switch st, statErr := os.Stat(ref); {
			case specFile != "":
				if opts.Spec, err = pluginspec.Load(specFile); err != nil {
					return err
				}
				if opts.URL == "" && (statErr != nil || !st.IsDir()) {
					opts.URL = "oci://" + strings.TrimPrefix(ref, "oci://")
				}
			case statErr == nil && st.IsDir():
				if opts.Spec, err = pluginspec.Load(filepath.Join(ref, "spec.yaml")); err != nil {
					return fmt.Errorf("%w (generate it with wasmgate spec %s)", err, ref)
				}
			default:
				a, err := pullImage(ctx, ref, rf, ff)
				if err != nil {
					return err
				}
				f, ok := a.File("spec.yaml")
				if !ok {
					return fmt.Errorf("image %s has no spec.yaml layer (%s image); give --spec FILE", ref, a.Variant)
				}
				if opts.Spec, err = pluginspec.Parse(f.Data); err != nil {
					return fmt.Errorf("image %s: %w", ref, err)
				}
				if opts.URL == "" {
					opts.URL = "oci://" + strings.TrimPrefix(ref, "oci://")
				}
			}
			if opts.URL == "" {
				return fmt.Errorf("give --url: where the gateway fetches the plugin (oci://…, https://…, file://…)")
			}
			obj, warnings, err := deploy.Build(opts)
			for _, w := range warnings {
				slog.Warn(w)
			}
			if err != nil {
				return err
			}
			manifest, err := deploy.Render(obj)
			if err != nil {
				return err
			}
			if apply {
				return deploy.Apply(ctx, manifest, deploy.ApplyOptions{Kubectl: kubectl, Args: kubectlArgs, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()})
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(manifest)
				return err
			}
			if err := os.WriteFile(out, manifest, 0o644); err != nil {
				return fmt.Errorf("write manifest: %w", err)
			}
			return nil
		},
	}
	rf.add(cmd)
	ff.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&configFile, "config", "", "global configuration, YAML or JSON")
	fl.StringVar(&rulesFile, "match-rules", "", "match rules, YAML or JSON: a list of {ingress|domain|service, config, configDisable}")
	fl.StringVar(&specFile, "spec", "", "spec.yaml to validate against (default: from the image or folder)")
	fl.StringVar(&opts.Target, "target", deploy.TargetHigress, "higress or istio")
	fl.StringVar(&opts.Name, "name", "", "resource name (default: the plugin's name)")
	fl.StringVar(&opts.Namespace, "namespace", "", "namespace (default higress-system; istio-system for --target istio)")
	fl.StringVar(&opts.URL, "url", "", "plugin url in the manifest (default oci://REF)")
	fl.StringVar(&opts.SHA256, "sha256", "", "checksum of the module or image")
	fl.StringVar(&opts.ImagePullPolicy, "image-pull-policy", "", "IfNotPresent or Always (default: Always for :latest, else IfNotPresent)")
	fl.StringVar(&opts.ImagePullSecret, "image-pull-secret", "", "docker-registry Secret in the namespace")
	fl.StringVar(&opts.Phase, "phase", "", "AUTHN, AUTHZ, STATS or UNSPECIFIED_PHASE (default: spec.yaml's)")
	fl.Int32Var(&priority, "priority", 0, "priority within the phase, higher first (default: spec.yaml's)")
	fl.StringVar(&opts.FailStrategy, "fail-strategy", "", "FAIL_CLOSE or FAIL_OPEN (Istio also FAIL_RELOAD)")
	fl.BoolVar(&opts.DefaultConfigDisable, "default-config-disable", false, "disable the global configuration (rules only)")
	fl.StringArrayVar(&selector, "selector", nil, "Istio workload label KEY=VALUE (repeatable)")
	fl.StringVarP(&out, "output", "o", "", "write the manifest to this file (default stdout)")
	fl.BoolVar(&apply, "apply", false, "run kubectl apply -f - with the manifest")
	fl.StringVar(&kubectl, "kubectl", "kubectl", "kubectl binary for --apply")
	fl.StringArrayVar(&kubectlArgs, "kubectl-arg", nil, "extra argument for kubectl apply (repeatable), e.g. --kubectl-arg=--context=prod")
	rootCmd.AddCommand(cmd)
}
