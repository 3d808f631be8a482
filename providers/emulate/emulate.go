// Package emulate serves every registered provider emulator on loopback and
// points Provider documents at them, for `recordctl emulate`, `--emulate`
// and end-to-end tests. Nothing here ever calls a real cloud.
package emulate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/spec"
)

// factories builds each provider type's emulator. Registering a new
// provider's emulator is one line here.
var factories = map[string]func(emu.Config) emu.Emulator{
	"agora":   func(c emu.Config) emu.Emulator { return agoraemu.NewEmulator(c) },
	"aliyun":  func(c emu.Config) emu.Emulator { return aliyunemu.NewEmulator(c) },
	"huawei":  func(c emu.Config) emu.Emulator { return huaweiemu.NewEmulator(c) },
	"tencent": func(c emu.Config) emu.Emulator { return tencentemu.NewEmulator(c) },
}

// Types lists the provider types with an emulator, sorted (the order of
// consecutive ports when a base port is given).
func Types() []string {
	out := make([]string, 0, len(factories))
	for t := range factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Server runs one emulator per provider type, each on its own loopback listener(s).
type Server struct {
	// Emulators by provider type.
	Emulators map[string]emu.Emulator
	// URLs by provider type: base URLs in endpoint order (agora has two).
	URLs   map[string][]string
	Faults *emu.Faults
	srvs   []*http.Server
}

// Start serves every registered emulator. host is a loopback address;
// port 0 picks ephemeral ports, otherwise consecutive ports from port are
// used in type order (agora 2 of them).
func Start(host string, port int, cfg emu.Config) (*Server, error) {
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("emulate: %q is not a loopback address; the emulator only listens on loopback", host)
	}
	if cfg.Faults == nil {
		cfg.Faults = emu.NewFaults(uint64(time.Now().UnixNano()))
	}
	s := &Server{Emulators: map[string]emu.Emulator{}, URLs: map[string][]string{}, Faults: cfg.Faults}
	next := port
	for _, typ := range Types() {
		e := factories[typ](cfg)
		s.Emulators[typ] = e
		for _, h := range e.Handlers() {
			p := 0
			if port != 0 {
				p = next
				next++
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("emulate: %w", err)
			}
			srv := &http.Server{Handler: cfg.Faults.LoseAnswers(h), ReadHeaderTimeout: 10 * time.Second}
			s.srvs = append(s.srvs, srv)
			go func() { _ = srv.Serve(ln) }()
			s.URLs[typ] = append(s.URLs[typ], "http://"+ln.Addr().String())
		}
	}
	return s, nil
}

// Close stops every listener.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.srvs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		errs = append(errs, srv.Shutdown(ctx))
		cancel()
	}
	return errors.Join(errs...)
}

// EnvName is the environment variable that carries a demo credential.
func EnvName(typ, field string) string {
	return "RECORDCTL_EMULATOR_" + strings.ToUpper(typ) + "_" + strings.ToUpper(field)
}

// Settings is everything a client needs to talk to one provider type's
// emulator: as a Provider document would carry it, plus the endpoints.
type Settings struct {
	Type      string   `json:"type"`
	Endpoint  string   `json:"endpoint"`
	Endpoints []string `json:"endpoints,omitempty"`
	Region    string   `json:"region,omitempty"`
	ProjectID string   `json:"projectId,omitempty"`
	AppID     string   `json:"appId,omitempty"`
	// Credentials are the demo values the emulator accepts, by the
	// Provider document's credential field names (never valid at a cloud).
	Credentials map[string]string `json:"credentials"`
}

// Settings returns each provider type's settings, by type.
func (s *Server) Settings() map[string]Settings {
	out := map[string]Settings{}
	for typ, e := range s.Emulators {
		f := e.DemoFields()
		st := Settings{Type: typ, Endpoint: s.URLs[typ][0], Region: f["region"], ProjectID: f["projectId"],
			AppID: f["appId"], Credentials: e.DemoCredentials()}
		if len(s.URLs[typ]) > 1 {
			st.Endpoints = append([]string(nil), s.URLs[typ]...)
		}
		out[typ] = st
	}
	return out
}

// Env returns every setting as environment assignments, sorted:
// RECORDCTL_EMULATOR_<TYPE>_ENDPOINT (and _ENDPOINTS, comma-separated, for
// agora), _REGION, _PROJECTID, _APPID and one per credential field.
func (s *Server) Env() []string {
	var out []string
	for typ, st := range s.Settings() {
		add := func(field, v string) {
			if v != "" {
				out = append(out, EnvName(typ, field)+"="+v)
			}
		}
		add("endpoint", st.Endpoint)
		add("endpoints", strings.Join(st.Endpoints, ","))
		add("region", st.Region)
		add("projectId", st.ProjectID)
		add("appId", st.AppID)
		for f, v := range st.Credentials {
			add(f, v)
		}
	}
	sort.Strings(out)
	return out
}

// DemoEnv returns the demo credentials as environment assignments, sorted.
func (s *Server) DemoEnv() []string {
	var out []string
	for typ, e := range s.Emulators {
		for f, v := range e.DemoCredentials() {
			out = append(out, EnvName(typ, f)+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// Point rewrites every Provider in set to use the emulator: its provider
// package points the type's own fields at the emulator's URLs and demo
// account (Registration.PointAt), and credentials become the demo values
// (spec.DemoSecret). Secret references in recording options that do not
// resolve (tokens, storage keys) become demo values too (the package's
// Registration.DemoOptions), so examples run without any real secret.
func (s *Server) Point(set *spec.Set) error {
	for _, p := range set.Providers {
		e, ok := s.Emulators[p.Spec.Type]
		reg, _ := providers.Lookup(p.Spec.Type)
		if !ok || reg.PointAt == nil {
			return fmt.Errorf("emulate: no emulator for provider type %q", p.Spec.Type)
		}
		p.Spec.Config = reg.PointAt(p.Spec.Config, s.URLs[p.Spec.Type], e.DemoFields())
		creds := map[string]spec.SecretRef{}
		for f, v := range e.DemoCredentials() {
			creds[f] = spec.DemoSecret(EnvName(p.Spec.Type, f), v)
		}
		p.Spec.Credentials = creds
	}
	// The command providers refuse streams without a recording configuration
	// (aliyun) or a COMMAND_RECORD rule (huawei); in emulator mode every stream
	// the documents name gets one, as a user would have set up in the console.
	for _, r := range set.Recordings {
		p := set.Provider(r.Spec.Provider)
		if p == nil {
			continue
		}
		s.Emulators[p.Spec.Type].PrepareStream(r.Spec.Stream)
		if reg, _ := providers.Lookup(p.Spec.Type); reg.DemoOptions != nil && r.Spec.Options != nil {
			r.Spec.Options = reg.DemoOptions(r.Spec.Options)
		}
	}
	return nil
}

// Banner is printed whenever the emulator stands in for the clouds.
func (s *Server) Banner() string {
	var b strings.Builder
	b.WriteString("=====================================================================\n")
	b.WriteString(" EMULATOR MODE: every Provider points at the built-in emulator.\n")
	b.WriteString(" No real cloud is called; nothing is recorded; nothing is billed.\n")
	types := make([]string, 0, len(s.URLs))
	for t := range s.URLs {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(&b, "   %-8s %s\n", t, strings.Join(s.URLs[t], ", "))
	}
	b.WriteString("=====================================================================\n")
	return b.String()
}
