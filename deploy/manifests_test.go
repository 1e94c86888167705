package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"tracesvc/recall/credit"
	"tracesvc/standards/workday"
)

// readYAML decodes every document of a YAML file (anchors and merge keys
// resolved) and converts each into T through JSON, whose field matching
// ignores case.
func readYAML[T any](t *testing.T, file string) []T {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, file)))
	var out []T
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc == nil {
			continue
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, v)
	}
	return out
}

// TestEveryYAMLFileParses: each YAML file in deploy/ is valid YAML and
// holds at least one document.
func TestEveryYAMLFileParses(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*.yml")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		if docs := readYAML[map[string]any](t, f); len(docs) == 0 {
			t.Errorf("%s holds no document", f)
		}
	}
}

// The parts of Kubernetes objects the checks read.
type (
	k8sObject struct {
		APIVersion string
		Kind       string
		Metadata   struct {
			Name   string
			Labels map[string]string
		}
		Spec json.RawMessage
		Data map[string]string
	}
	selector  struct{ MatchLabels map[string]string }
	podVolume struct {
		Name      string
		ConfigMap *ref
		Secret    *struct{ SecretName string }
	}
	ref  struct{ Name string }
	port struct {
		Name          string
		ContainerPort int
	}
	probe struct {
		HTTPGet *struct {
			Path string
			Port any
		}
		PeriodSeconds, FailureThreshold int
	}
	container struct {
		Name, Image   string
		Command, Args []string
		EnvFrom       []struct{ SecretRef, ConfigMapRef *ref }
		Env           []struct {
			Name, Value string
			ValueFrom   *struct {
				SecretKeyRef, ConfigMapKeyRef *struct{ Name, Key string }
				FieldRef                      *struct{ FieldPath string }
			}
		}
		Ports        []port
		VolumeMounts []struct {
			Name, MountPath, SubPath string
			ReadOnly                 bool
		}
		StartupProbe, ReadinessProbe, LivenessProbe *probe
		Resources                                   struct{ Requests, Limits map[string]string }
	}
	deploymentSpec struct {
		Replicas *int
		Selector selector
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				TerminationGracePeriodSeconds *int
				Containers                    []container
				Volumes                       []podVolume
			}
		}
	}
	serviceSpec struct {
		Selector map[string]string
		Ports    []struct {
			Name       string
			Port       int
			TargetPort any
		}
	}
	hpaSpec struct {
		ScaleTargetRef           struct{ APIVersion, Kind, Name string }
		MinReplicas, MaxReplicas int
		Metrics                  []struct {
			Type     string
			Resource *struct{ Name string }
		}
	}
	pdbSpec struct {
		MinAvailable, MaxUnavailable any
		Selector                     selector
	}
)

// apiVersions are the kinds the manifest may hold, with their API.
var apiVersions = map[string]string{"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1",
	"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1"}

// manifest is the Kubernetes manifest, by kind and name.
type manifest map[string]map[string]k8sObject

func (m manifest) spec(t *testing.T, kind, name string, v any) {
	t.Helper()
	o, ok := m[kind][name]
	if !ok {
		t.Fatalf("no %s %q in the manifest", kind, name)
	}
	if err := json.Unmarshal(o.Spec, v); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	m := manifest{}
	for i, o := range readYAML[k8sObject](t, "kubernetes.yaml") {
		want, known := apiVersions[o.Kind]
		switch {
		case !known:
			t.Errorf("document %d: kind %q is not one the checks know", i, o.Kind)
		case o.APIVersion != want:
			t.Errorf("%s %s: apiVersion %s, want %s", o.Kind, o.Metadata.Name, o.APIVersion, want)
		case o.Metadata.Name == "":
			t.Errorf("document %d (%s) has no name", i, o.Kind)
		}
		if m[o.Kind] == nil {
			m[o.Kind] = map[string]k8sObject{}
		}
		if _, dup := m[o.Kind][o.Metadata.Name]; dup {
			t.Errorf("two %s named %s", o.Kind, o.Metadata.Name)
		}
		m[o.Kind][o.Metadata.Name] = o
	}
	return m
}

// matches reports whether labels has every pair of sel (and sel has one).
func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// containerPort resolves a port given by number or name to a container
// port; 0 when it names none.
func containerPort(c container, p any) int {
	for _, cp := range c.Ports {
		switch v := p.(type) {
		case float64:
			if int(v) == cp.ContainerPort {
				return cp.ContainerPort
			}
		case string:
			if v == cp.Name {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

// addrPort is the port of a listen address such as "0.0.0.0:8080".
func addrPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return n
}

// dockerfile is what the checks read of deploy/Dockerfile's final stage.
type dockerfile struct {
	expose     []int
	env        map[string]string
	entrypoint []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	var d dockerfile
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, "Dockerfile")))
	var logical string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			logical += cont + " "
			continue
		}
		line, logical = logical+line, ""
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM": // a new stage: only the last one's settings count
			d = dockerfile{}
		case "EXPOSE":
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(f, "/tcp"))
				if err != nil {
					t.Fatalf("Dockerfile: EXPOSE %s", f)
				}
				d.expose = append(d.expose, n)
			}
		case "ENV":
			if d.env == nil {
				d.env = map[string]string{}
			}
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %s is not KEY=value", kv)
				}
				d.env[k] = v
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT %s is not in exec form: %v", rest, err)
			}
		}
	}
	if len(d.expose) == 0 || d.env["TRACESVC_ADDR"] == "" || len(d.entrypoint) == 0 {
		t.Fatalf("Dockerfile: no EXPOSE, ENV TRACESVC_ADDR or ENTRYPOINT in the final stage: %+v", d)
	}
	return d
}

// TestDockerfile: the image listens on the port it exposes, and its
// entry point is the binary it builds.
func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	if p := addrPort(t, d.env["TRACESVC_ADDR"]); !slices.Contains(d.expose, p) {
		t.Errorf("the image listens on %d (TRACESVC_ADDR) but exposes %v", p, d.expose)
	}
	env := commandEnv(t)
	for k := range d.env {
		if !env[k] {
			t.Errorf("the image sets %s, which the command does not read", k)
		}
	}
	if d.entrypoint[0] != "/tracesvc" || !strings.Contains(string(readFile(t, "Dockerfile")), "-o /out/tracesvc ./cmd/tracesvc") {
		t.Errorf("the entry point %v is not the binary the image builds", d.entrypoint)
	}
}

// flagArgs returns the flags of a container's arguments, with their
// values ("-name=value", or "-name" then "value").
func flagArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("argument %q is not a flag: the command takes no other arguments", a)
			continue
		}
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			value = args[i+1]
			i++
		}
		out[name] = value
	}
	return out
}

// fileFlags are the command's flags that name a file to read at start.
var fileFlags = []string{"credit-rules", "holidays", "label-font"}

// secretCommand is the documented way to create a secret in the
// manifest's comments: "kubectl create secret generic NAME", then
// "--from-literal=KEY=…" lines.
var (
	secretCommand = regexp.MustCompile(`kubectl create secret generic ([a-z0-9-]+)`)
	secretLiteral = regexp.MustCompile(`--from-literal=([A-Z0-9_]+)=`)
)

// documentedSecrets reads the secrets the manifest's comments say how to
// create, with the keys each gets.
func documentedSecrets(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	current := ""
	for _, line := range strings.Split(string(readFile(t, "kubernetes.yaml")), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			current = ""
			continue
		}
		if m := secretCommand.FindStringSubmatch(line); m != nil {
			current = m[1]
			out[current] = nil
		}
		if m := secretLiteral.FindStringSubmatch(line); m != nil && current != "" {
			out[current] = append(out[current], m[1])
		}
	}
	return out
}

// TestKubernetesManifest checks deploy/kubernetes.yaml's references:
// selectors and labels, service and probe ports against the container's
// ports and its listen address, probe paths against the real router,
// arguments against the command's flags, files named by flag against the
// mounted ConfigMap, environment names against the command, the secret
// against the command that creates it, and the autoscaler and disruption
// budget against the Deployment.
func TestKubernetesManifest(t *testing.T) {
	m := readManifest(t)
	flags, env := commandFlags(t), commandEnv(t)
	dock := readDockerfile(t)
	secrets := documentedSecrets(t)
	if len(m["Deployment"]) != 1 {
		t.Fatalf("want one Deployment, got %d", len(m["Deployment"]))
	}
	name := sortedKeys(m["Deployment"])[0]
	var dep deploymentSpec
	m.spec(t, "Deployment", name, &dep)
	pod := dep.Template.Spec
	if !matches(dep.Selector.MatchLabels, dep.Template.Metadata.Labels) {
		t.Errorf("Deployment %s: selector %v does not match its pods' labels %v", name, dep.Selector.MatchLabels, dep.Template.Metadata.Labels)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment %s: want one container, got %d", name, len(pod.Containers))
	}
	c := pod.Containers[0]

	// The listen address, the container port and the image agree.
	containerEnv := map[string]string{}
	for _, e := range c.Env {
		containerEnv[e.Name] = e.Value
		if !env[e.Name] {
			t.Errorf("container %s sets %s, which the command does not read", c.Name, e.Name)
		}
	}
	addr := containerEnv["TRACESVC_ADDR"]
	if addr == "" {
		addr = dock.env["TRACESVC_ADDR"]
	}
	listen := addrPort(t, addr)
	if containerPort(c, float64(listen)) == 0 {
		t.Errorf("the process listens on %d but the container declares ports %v", listen, c.Ports)
	}
	if !slices.Contains(dock.expose, listen) {
		t.Errorf("the process listens on %d but the image exposes %v", listen, dock.expose)
	}

	// Services reach the pods on a declared port.
	for sname := range m["Service"] {
		var svc serviceSpec
		m.spec(t, "Service", sname, &svc)
		if !matches(svc.Selector, dep.Template.Metadata.Labels) {
			t.Errorf("Service %s selects %v, which no pod of %s carries", sname, svc.Selector, name)
		}
		for _, p := range svc.Ports {
			target := p.TargetPort
			if target == nil {
				target = float64(p.Port)
			}
			if containerPort(c, target) == 0 {
				t.Errorf("Service %s port %d targets %v, which the container does not declare", sname, p.Port, target)
			}
		}
	}

	// Probes: on a declared port, on paths the router answers with 200 when
	// the store is up, and a start-up allowance for long index builds.
	probes := map[string]*probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe}
	var paths []string
	for kind, p := range probes {
		switch {
		case p == nil:
			t.Errorf("container %s has no %s", c.Name, kind)
			continue
		case p.HTTPGet == nil:
			t.Errorf("%s is not an HTTP probe", kind)
			continue
		case containerPort(c, p.HTTPGet.Port) != listen:
			t.Errorf("%s probes port %v, not the port the process listens on (%d)", kind, p.HTTPGet.Port, listen)
		}
		paths = append(paths, p.HTTPGet.Path)
	}
	for p, code := range statusOf(t, paths...) {
		if code != http.StatusOK {
			t.Errorf("probe path %s answers %d on a healthy process, want 200", p, code)
		}
	}
	if p := c.StartupProbe; p != nil && time.Duration(p.PeriodSeconds*max(p.FailureThreshold, 1))*time.Second < 5*time.Minute {
		t.Errorf("the startupProbe allows %ds for start-up; index builds need minutes", p.PeriodSeconds*p.FailureThreshold)
	}
	if p := c.ReadinessProbe; p != nil && p.HTTPGet != nil && p.HTTPGet.Path != "/readyz" {
		t.Errorf("the readinessProbe checks %s; /readyz is the one that asks the store", p.HTTPGet.Path)
	}

	// Shutdown: the pod's grace period outlasts the process's.
	if g := containerEnv["TRACESVC_SHUTDOWN_GRACE"]; g != "" {
		d, err := time.ParseDuration(g)
		if err != nil {
			t.Errorf("TRACESVC_SHUTDOWN_GRACE %q: %v", g, err)
		} else if grace := pod.TerminationGracePeriodSeconds; grace == nil || time.Duration(*grace)*time.Second <= d {
			got := "unset (30s)"
			if grace != nil {
				got = strconv.Itoa(*grace) + "s"
			}
			t.Errorf("terminationGracePeriodSeconds %s is not above TRACESVC_SHUTDOWN_GRACE %s: pods are killed mid-drain", got, g)
		}
	}

	// Arguments are the command's flags; files named by flag are mounted
	// from a ConfigMap of this manifest that has them.
	if len(c.Args) > 0 && len(c.Command) == 0 && len(dock.entrypoint) == 0 {
		t.Error("arguments without a command need the image's ENTRYPOINT")
	}
	mountsOf := map[string]string{} // mount path → volume
	for _, vm := range c.VolumeMounts {
		mountsOf[vm.MountPath] = vm.Name
	}
	volumes := map[string]string{} // volume → ConfigMap
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil {
			volumes[v.Name] = v.ConfigMap.Name
			if _, ok := m["ConfigMap"][v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s mounts ConfigMap %s, which the manifest does not define", v.Name, v.ConfigMap.Name)
			}
		}
	}
	for _, vm := range c.VolumeMounts {
		if !slices.ContainsFunc(pod.Volumes, func(v podVolume) bool { return v.Name == vm.Name }) {
			t.Errorf("container %s mounts volume %s, which the pod does not have", c.Name, vm.Name)
		}
	}
	mounted := map[string]bool{} // ConfigMap keys the flags use
	for flag, value := range flagArgs(t, c.Args) {
		if !flags[flag] {
			t.Errorf("argument -%s: the command has no such flag", flag)
			continue
		}
		if !slices.Contains(fileFlags, flag) {
			continue
		}
		dir, file := path.Split(value)
		cm, ok := volumes[mountsOf[path.Clean(dir)]]
		if !ok {
			t.Errorf("-%s=%s: no ConfigMap is mounted at %s", flag, value, dir)
			continue
		}
		if _, ok := m["ConfigMap"][cm].Data[file]; !ok {
			t.Errorf("-%s=%s: ConfigMap %s has no key %s", flag, value, cm, file)
		}
		mounted[cm+"/"+file] = true
	}
	for cm, o := range m["ConfigMap"] {
		for key := range o.Data {
			if !mounted[cm+"/"+key] {
				t.Errorf("ConfigMap %s key %s is not passed to the service by any flag", cm, key)
			}
		}
	}
	checkRulesFiles(t, m)

	// The secret: created as the comments say, with keys the command reads,
	// including the ones every replica sharing MongoDB must share.
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		keys, ok := secrets[from.SecretRef.Name]
		if !ok {
			t.Errorf("the container reads secret %s, which the manifest's comments do not say how to create", from.SecretRef.Name)
			continue
		}
		for _, k := range keys {
			if !env[k] {
				t.Errorf("secret %s has key %s, which the command does not read", from.SecretRef.Name, k)
			}
		}
		for _, k := range []string{"MONGODB_URI", "TRACESVC_SECRET_KEY", "TRACESVC_AUDIT_KEY", "TRACESVC_FINGERPRINT_KEY"} {
			if !slices.Contains(keys, k) {
				t.Errorf("secret %s lacks %s, which every replica sharing the database needs", from.SecretRef.Name, k)
			}
		}
	}
	if len(secrets) == 0 {
		t.Error("the manifest's comments say how to create no secret")
	}
	if _, ok := containerEnv["TRACESVC_INSTANCE"]; !ok {
		t.Error("TRACESVC_INSTANCE is not set: a restarted pod would not free what it left at once")
	}

	// The autoscaler scales this Deployment, which leaves it the count,
	// from a CPU request; the disruption budget covers the same pods and
	// lets a drain proceed.
	if len(m["HorizontalPodAutoscaler"]) != 1 || len(m["PodDisruptionBudget"]) != 1 {
		t.Fatalf("want one HorizontalPodAutoscaler and one PodDisruptionBudget, got %d and %d",
			len(m["HorizontalPodAutoscaler"]), len(m["PodDisruptionBudget"]))
	}
	var hpa hpaSpec
	var pdb pdbSpec
	m.spec(t, "HorizontalPodAutoscaler", sortedKeys(m["HorizontalPodAutoscaler"])[0], &hpa)
	m.spec(t, "PodDisruptionBudget", sortedKeys(m["PodDisruptionBudget"])[0], &pdb)
	if r := hpa.ScaleTargetRef; r.Kind != "Deployment" || r.Name != name || r.APIVersion != apiVersions["Deployment"] {
		t.Errorf("the autoscaler targets %+v, not Deployment %s", r, name)
	}
	if hpa.MinReplicas < 2 || hpa.MaxReplicas < hpa.MinReplicas {
		t.Errorf("autoscaler bounds %d..%d: keep at least two pods", hpa.MinReplicas, hpa.MaxReplicas)
	}
	if dep.Replicas != nil {
		t.Errorf("the Deployment sets replicas (%d), which every apply would reset under the autoscaler", *dep.Replicas)
	}
	for _, metric := range hpa.Metrics {
		if metric.Resource != nil && c.Resources.Requests[metric.Resource.Name] == "" {
			t.Errorf("the autoscaler scales on %s, which the container does not request", metric.Resource.Name)
		}
	}
	if !matches(pdb.Selector.MatchLabels, dep.Template.Metadata.Labels) {
		t.Errorf("the disruption budget selects %v, not the Deployment's pods", pdb.Selector.MatchLabels)
	}
	switch {
	case pdb.MaxUnavailable != nil:
		if n, ok := pdb.MaxUnavailable.(float64); !ok || n < 1 || int(n) >= hpa.MinReplicas {
			t.Errorf("maxUnavailable %v: want a number from 1 to below the autoscaler's minimum (%d)", pdb.MaxUnavailable, hpa.MinReplicas)
		}
	case pdb.MinAvailable != nil:
		if n, ok := pdb.MinAvailable.(float64); !ok || int(n) >= hpa.MinReplicas {
			t.Errorf("minAvailable %v is not below the autoscaler's minimum (%d): a drain could never proceed", pdb.MinAvailable, hpa.MinReplicas)
		}
	default:
		t.Error("the disruption budget sets neither maxUnavailable nor minAvailable")
	}
}

// checkRulesFiles: the rules files of the manifest's ConfigMaps parse
// with the service's own readers, and are as shipped the embedded
// defaults.
func checkRulesFiles(t *testing.T, m manifest) {
	t.Helper()
	defaults := map[string]string{
		"credit-rules.json": filepath.Join(repo, "recall", "credit", "rules.json"),
		"holidays.txt":      filepath.Join(repo, "standards", "workday", "cn.txt"),
	}
	seen := 0
	for cm, o := range m["ConfigMap"] {
		for key, data := range o.Data {
			switch key {
			case "credit-rules.json":
				if _, err := credit.ParseRules([]byte(data)); err != nil {
					t.Errorf("ConfigMap %s %s: %v", cm, key, err)
				}
			case "holidays.txt":
				if _, err := workday.Parse(strings.NewReader(data), time.UTC); err != nil {
					t.Errorf("ConfigMap %s %s: %v", cm, key, err)
				}
			default:
				continue
			}
			seen++
			if want := string(readFile(t, defaults[key])); data != want {
				t.Errorf("ConfigMap %s %s differs from %s, the embedded default it ships: copy it again", cm, key, defaults[key])
			}
		}
	}
	if seen != len(defaults) {
		t.Errorf("the ConfigMaps hold %d of the %d rules files", seen, len(defaults))
	}
}

// The parts of a compose file the checks read.
type (
	composeFile struct {
		Services map[string]composeService
		Networks map[string]struct {
			Ipam struct{ Config []struct{ Subnet string } }
		}
		Volumes map[string]any
	}
	composeService struct {
		Image          string
		PullPolicy     string `json:"pull_policy"`
		Build          *struct{ Context, Dockerfile string }
		DependsOn      any `json:"depends_on"`
		Environment    map[string]string
		Ports, Volumes []string
		Networks       map[string]struct {
			IPv4Address string `json:"ipv4_address"`
		}
	}
)

// dependsOn lists a service's dependencies, in either form compose takes.
func dependsOn(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	switch d := v.(type) {
	case nil:
	case []any:
		for _, s := range d {
			out = append(out, fmt.Sprint(s))
		}
	case map[string]any:
		for s := range d {
			out = append(out, s)
		}
	default:
		t.Errorf("depends_on %v is neither a list nor a map", v)
	}
	return out
}

// caddyfile is what the checks read of deploy/Caddyfile: the site's port,
// the upstreams and the health-check path.
type caddyfile struct {
	sitePort  int
	upstreams []string
	healthURI string
}

func readCaddyfile(t *testing.T) caddyfile {
	t.Helper()
	var c caddyfile
	depth := 0
	for _, line := range strings.Split(string(readFile(t, "Caddyfile")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if depth == 0 && strings.HasPrefix(fields[0], ":") {
			n, err := strconv.Atoi(fields[0][1:])
			if err != nil {
				t.Fatalf("Caddyfile: site address %s", fields[0])
			}
			c.sitePort = n
		}
		switch fields[0] {
		case "reverse_proxy", "to":
			for _, f := range fields[1:] {
				if f != "{" {
					c.upstreams = append(c.upstreams, f)
				}
			}
		case "health_uri":
			c.healthURI = fields[1]
		}
		depth += strings.Count(line, "{") - strings.Count(line, "}")
	}
	if c.sitePort == 0 || len(c.upstreams) == 0 || depth != 0 {
		t.Fatalf("Caddyfile: no site port, no upstreams or unbalanced braces: %+v", c)
	}
	return c
}

// TestCompose checks deploy/compose.yaml's references: dependencies and
// volumes exist; the service replicas all run on MongoDB (the embedded
// store serves one process), with the same keys, distinct instance names
// and variables the command reads, one of them building the image; the
// proxy's Caddyfile sends traffic to every replica on the port it listens
// on, health-checks a path the router answers, and is the one proxy the
// replicas trust; compose.test.yaml overrides only services that exist.
func TestCompose(t *testing.T) {
	files := readYAML[composeFile](t, "compose.yaml")
	if len(files) != 1 {
		t.Fatalf("compose.yaml holds %d documents", len(files))
	}
	cf := files[0]
	env := commandEnv(t)
	dock := readDockerfile(t)
	for name, s := range cf.Services {
		for _, d := range dependsOn(t, s.DependsOn) {
			if _, ok := cf.Services[d]; !ok {
				t.Errorf("service %s depends on %s, which is not a service", name, d)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := cf.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which the file does not declare", name, src)
			}
		}
		if b := s.Build; b != nil {
			if _, err := os.Stat(filepath.Join(b.Context, b.Dockerfile)); err != nil {
				t.Errorf("service %s builds %s: %v", name, filepath.Join(b.Context, b.Dockerfile), err)
			}
		}
	}

	// The service replicas.
	var replicas, builders []string
	instances := map[string]string{}
	shared := map[string]string{}
	for _, name := range sortedKeys(cf.Services) {
		s := cf.Services[name]
		if s.Image != "tracesvc:local" {
			continue
		}
		replicas = append(replicas, name)
		if s.Build != nil {
			builders = append(builders, name)
		} else if s.PullPolicy != "never" || !dependsOnBuilder(t, cf, s) {
			t.Errorf("service %s runs the built image without building it: it needs pull_policy never and to depend on the service that builds it", name)
		}
		for k := range s.Environment {
			if !env[k] {
				t.Errorf("service %s sets %s, which the command does not read", name, k)
			}
		}
		uri := s.Environment["MONGODB_URI"]
		if uri == "" {
			t.Errorf("service %s has no MONGODB_URI: the embedded store serves one process only", name)
		}
		for _, host := range mongoHosts(uri) {
			if _, ok := cf.Services[host]; !ok {
				t.Errorf("service %s: MONGODB_URI names %s, which is not a service", name, host)
			}
		}
		inst := s.Environment["TRACESVC_INSTANCE"]
		if other, dup := instances[inst]; inst == "" || dup {
			t.Errorf("service %s: TRACESVC_INSTANCE %q is empty or also %s's", name, inst, other)
		}
		instances[inst] = name
		for _, k := range []string{"MONGODB_URI", "TRACESVC_SECRET_KEY", "TRACESVC_AUDIT_KEY", "TRACESVC_FINGERPRINT_KEY", "TRACESVC_BASE_URL", "TRACESVC_TRUSTED_PROXIES"} {
			v := s.Environment[k]
			if v == "" {
				t.Errorf("service %s does not set %s, which replicas sharing a database must share", name, k)
			} else if prev, ok := shared[k]; ok && prev != v {
				t.Errorf("service %s sets %s to %q, another replica to %q", name, k, v, prev)
			}
			shared[k] = v
		}
	}
	if len(replicas) < 2 || len(builders) != 1 {
		t.Fatalf("want two or more tracesvc replicas, one of them building the image; got %v, built by %v", replicas, builders)
	}

	// The proxy.
	caddy := readCaddyfile(t)
	var proxy string
	for _, name := range sortedKeys(cf.Services) {
		for _, v := range cf.Services[name].Volumes {
			if strings.HasPrefix(v, "./Caddyfile:") {
				proxy = name
			}
		}
	}
	if proxy == "" {
		t.Fatal("no service mounts ./Caddyfile")
	}
	ps := cf.Services[proxy]
	published := false
	for _, p := range ps.Ports {
		parts := strings.Split(p, ":")
		if n, err := strconv.Atoi(parts[len(parts)-1]); err == nil && n == caddy.sitePort {
			published = true
		}
	}
	if !published {
		t.Errorf("the proxy serves on %d but publishes %v", caddy.sitePort, ps.Ports)
	}
	for _, r := range replicas {
		if !slices.Contains(dependsOn(t, ps.DependsOn), r) {
			t.Errorf("the proxy does not depend on replica %s", r)
		}
	}
	var upstreamHosts []string
	for _, u := range caddy.upstreams {
		host, p, err := net.SplitHostPort(u)
		if err != nil {
			t.Errorf("Caddyfile upstream %s: %v", u, err)
			continue
		}
		upstreamHosts = append(upstreamHosts, host)
		s, ok := cf.Services[host]
		if !ok || !slices.Contains(replicas, host) {
			t.Errorf("Caddyfile upstream %s is not a tracesvc replica of compose.yaml", u)
			continue
		}
		addr := s.Environment["TRACESVC_ADDR"]
		if addr == "" {
			addr = dock.env["TRACESVC_ADDR"]
		}
		if n, _ := strconv.Atoi(p); n != addrPort(t, addr) {
			t.Errorf("Caddyfile upstream %s: %s listens on %s", u, host, addr)
		}
	}
	for _, r := range replicas {
		if !slices.Contains(upstreamHosts, r) {
			t.Errorf("replica %s gets no traffic: the Caddyfile does not name it", r)
		}
	}
	if caddy.healthURI == "" {
		t.Error("the proxy does not health-check the replicas")
	} else if code := statusOf(t, caddy.healthURI)[caddy.healthURI]; code != http.StatusOK {
		t.Errorf("the proxy's health check %s answers %d on a healthy process, want 200", caddy.healthURI, code)
	}

	// The replicas believe X-Forwarded-For from the proxy's fixed address,
	// which lies in its network.
	var proxyIP string
	for netName, n := range ps.Networks {
		proxyIP = n.IPv4Address
		ip := net.ParseIP(proxyIP)
		inside := false
		for _, c := range cf.Networks[netName].Ipam.Config {
			if _, subnet, err := net.ParseCIDR(c.Subnet); err == nil && ip != nil && subnet.Contains(ip) {
				inside = true
			}
		}
		if !inside {
			t.Errorf("the proxy's address %s is not in network %s's subnets", proxyIP, netName)
		}
	}
	if proxyIP == "" || !slices.Contains(strings.Split(shared["TRACESVC_TRUSTED_PROXIES"], ","), proxyIP) {
		t.Errorf("the replicas trust %q, not the proxy's fixed address %q", shared["TRACESVC_TRUSTED_PROXIES"], proxyIP)
	}

	// The test override changes only services that exist.
	for _, o := range readYAML[composeFile](t, "compose.test.yaml") {
		for name := range o.Services {
			if _, ok := cf.Services[name]; !ok {
				t.Errorf("compose.test.yaml overrides %s, which compose.yaml does not have", name)
			}
		}
	}
}

// dependsOnBuilder reports whether s depends on a service that builds
// the image s runs.
func dependsOnBuilder(t *testing.T, cf composeFile, s composeService) bool {
	for _, d := range dependsOn(t, s.DependsOn) {
		if b := cf.Services[d]; b.Build != nil && b.Image == s.Image {
			return true
		}
	}
	return false
}

// mongoHosts returns the host names of a mongodb:// URI.
func mongoHosts(uri string) []string {
	rest, ok := strings.CutPrefix(uri, "mongodb://")
	if !ok {
		return nil
	}
	hosts, _, _ := strings.Cut(rest, "/")
	if _, h, ok := strings.Cut(hosts, "@"); ok {
		hosts = h
	}
	var out []string
	for _, h := range strings.Split(hosts, ",") {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		out = append(out, h)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
