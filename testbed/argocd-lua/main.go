// Command argocd-lua runs Argo CD resource health checks laid out as in the argo-cd
// repository (resource_customizations/<group>/<Kind>/health.lua, health_test.yaml,
// testdata/*.yaml) through Argo CD's own Lua code (github.com/argoproj/argo-cd/v3/util/lua),
// the way argo-cd's TestLuaHealthScript does, so that a check that passes here can be
// proposed upstream unchanged.
//
// Usage: argocd-lua DIR   (DIR is a resource_customizations directory)
//
// Every test case runs twice:
//   - "built-in": VM{UseOpenLibs: true}, GetHealthScript(obj), ExecuteHealthLua(obj, script),
//     as TestLuaHealthScript runs the checks shipped with Argo CD. The script is found by the
//     object's group and kind, so a health.lua in the wrong directory fails.
//   - "argocd-cm": ResourceHealthOverrides.GetResourceHealth(obj), the path of a health check
//     configured in argocd-cm (resource.customizations.health.<group>_<Kind>), open libraries off.
//
// The result must equal the case's healthStatus (status and message) exactly, and every file in
// testdata/ must be a case. Prints a line per case (failures on stderr) and "N passed, M failed";
// exits 1 on any mismatch or error, 2 on bad usage or when DIR holds no health.lua.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/argoproj/argo-cd/gitops-engine/pkg/health"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The health_test.yaml format of argo-cd's util/lua tests.
type testStructure struct {
	Tests []individualTest `yaml:"tests"`
}

type individualTest struct {
	InputPath    string              `yaml:"inputPath"`
	HealthStatus health.HealthStatus `yaml:"healthStatus"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua RESOURCE_CUSTOMIZATIONS_DIR")
		os.Exit(2)
	}
	root := filepath.Clean(os.Args[1])
	var scripts []string
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() && info.Name() == "health.lua" {
			scripts = append(scripts, path)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(scripts) == 0 {
		fmt.Fprintf(os.Stderr, "no health.lua under %s\n", root)
		os.Exit(2)
	}
	sort.Strings(scripts)
	passed, failed := 0, 0
	for _, path := range scripts {
		p, f := runDir(root, filepath.Dir(path))
		passed += p
		failed += f
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// runDir runs the cases of one <group>/<Kind> directory.
func runDir(root, dir string) (passed, failed int) {
	rel, _ := filepath.Rel(root, dir)
	fail := func(name, format string, a ...any) {
		failed++
		fmt.Fprintf(os.Stderr, "FAILED  %s: %s\n", name, fmt.Sprintf(format, a...))
	}
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		fail(rel, "%v", err)
		return
	}
	yamlBytes, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		fail(rel, "%v", err)
		return
	}
	var tests testStructure
	if err := yaml.UnmarshalStrict(yamlBytes, &tests); err != nil {
		fail(rel, "health_test.yaml: %v", err)
		return
	}
	if len(tests.Tests) == 0 {
		fail(rel, "health_test.yaml has no tests")
		return
	}
	// The directory names the resource: <group>/<Kind>, the key Argo CD looks scripts up by.
	key := filepath.ToSlash(rel)
	used := map[string]bool{}
	for _, test := range tests.Tests {
		name := filepath.Join(rel, test.InputPath)
		used[filepath.Clean(test.InputPath)] = true
		obj, err := getObj(filepath.Join(dir, test.InputPath))
		if err != nil {
			fail(name, "%v", err)
			continue
		}
		want := test.HealthStatus

		// As TestLuaHealthScript: open libraries on, script looked up by the object's group/kind.
		vm := lua.VM{
			UseOpenLibs:       true,
			ResourceOverrides: map[string]appv1.ResourceOverride{key: {HealthLua: string(script), UseOpenLibs: true}},
		}
		found, _, err := vm.GetHealthScript(obj)
		if err != nil || found != string(script) {
			fail(name, "GetHealthScript for %s found no script at %s (err %v)", lua.GetConfigMapKey(obj.GroupVersionKind()), key, err)
			continue
		}
		got, err := vm.ExecuteHealthLua(obj, found)
		if ok := check(name+" [built-in]", &want, got, err, fail); !ok {
			continue
		}

		// As a health check from argocd-cm: open libraries off (the default).
		got, err = lua.ResourceHealthOverrides{key: {HealthLua: string(script)}}.GetResourceHealth(obj)
		if ok := check(name+" [argocd-cm]", &want, got, err, fail); !ok {
			continue
		}
		passed++
		fmt.Printf("ok      %s -> %s %q\n", name, got.Status, got.Message)
	}
	// Every testdata file is a case: a file nobody checks is a test that silently went missing.
	files, _ := filepath.Glob(filepath.Join(dir, "testdata", "*"))
	for _, f := range files {
		r, _ := filepath.Rel(dir, f)
		if !used[r] {
			fail(filepath.Join(rel, r), "not referenced by health_test.yaml")
		}
	}
	return
}

func check(name string, want, got *health.HealthStatus, err error, fail func(string, string, ...any)) bool {
	if err != nil {
		fail(name, "%v", err)
		return false
	}
	if !reflect.DeepEqual(want, got) {
		fail(name, "want %s %q, got %s %q", want.Status, want.Message, got.Status, got.Message)
		return false
	}
	return true
}

// getObj reads a testdata manifest as argo-cd's getObj does.
func getObj(path string) (*unstructured.Unstructured, error) {
	yamlBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := make(map[string]any)
	if err := yaml.Unmarshal(yamlBytes, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !strings.Contains(fmt.Sprint(obj["apiVersion"]), "/") || obj["kind"] == nil {
		return nil, fmt.Errorf("%s: apiVersion group/version and kind are required", path)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}
