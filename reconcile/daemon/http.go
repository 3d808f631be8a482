package daemon

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /healthz (the process is up), /readyz (200 when the last
// reconcile succeeded and every file is valid, else 503 with one reason
// per line) and /metrics (Prometheus text format).
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ok, reasons := d.Ready()
		if ok {
			fmt.Fprintln(w, "ready")
			if led := d.Leading(); len(led) > 0 {
				fmt.Fprintln(w, "leading: "+strings.Join(led, ", "))
			} else {
				fmt.Fprintln(w, "standby: leading no provider (another replica does)")
			}
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:")
		for _, r := range reasons {
			fmt.Fprintln(w, "- "+strings.ReplaceAll(r, "\n", "\n  "))
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
	d.registerCalendar(mux) // /calendar, /calendar.ics (calendar.go)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "recordctl run: /healthz /readyz /metrics /calendar /calendar.ics")
	})
	return mux
}

// Leading names the Provider documents this process reconciles (all of
// them on a local state; those whose election it won on etcd), sorted.
func (d *Daemon) Leading() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	names := make([]string, 0, len(d.leading))
	for name := range d.leading {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Ready reports whether the daemon is ready and, if not, why: spec errors
// (file:line:col), files held at their last valid version, the last
// reconcile's failure, plan problems, failed actions, held stops.
func (d *Daemon) Ready() (bool, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var rs []string
	if d.stopping {
		rs = append(rs, "shutting down")
	}
	// Ready once every provider this process leads has been reconciled
	// (with no provider in the documents: once they are loaded).
	names := make([]string, 0, len(d.leading))
	for name := range d.leading {
		names = append(names, name)
	}
	sort.Strings(names)
	if d.docs.Set == nil {
		rs = append(rs, "no reconcile has completed yet")
	}
	for _, name := range names {
		if d.last[name] == nil {
			rs = append(rs, "no reconcile has completed yet for provider "+name)
		}
	}
	for _, e := range d.docs.Errors {
		rs = append(rs, "spec: "+e.Error())
	}
	for _, f := range d.docs.Stale {
		rs = append(rs, "spec: "+f+": its current content is not applied (see the errors); its last valid version, if any, stays in force")
	}
	if d.prepErr != nil {
		rs = append(rs, "spec: "+d.prepErr.Error())
	}
	for _, name := range append(names, "") {
		r := d.last[name]
		if r == nil {
			continue
		}
		if r.Err != nil && d.prepErr == nil {
			rs = append(rs, "reconcile: "+r.Err.Error())
		}
		if r.Plan != nil {
			for _, e := range r.Plan.Errors {
				rs = append(rs, "plan: "+e)
			}
		}
		if r.HeldReason != "" {
			rs = append(rs, "held: "+r.HeldReason)
		}
		if r.Result != nil && r.Result.Err != nil {
			for _, e := range flatten(r.Result.Err) {
				rs = append(rs, "apply: "+e.Error())
			}
		}
	}
	return len(rs) == 0, rs
}

func flatten(err error) []error {
	if me, ok := err.(*multierror.Error); ok {
		var out []error
		for _, e := range me.Errors {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
