package ha

// Crash stops this elector as a killed process would: its session is no
// longer refreshed and nothing is resigned or revoked, so its leaderships
// end only when the lease expires in etcd.
func (e *Elector) Crash() { e.cancel() }
