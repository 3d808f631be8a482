package providers

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// TLSReason says why a TLS connection failed for good (the certificate is
// not trusted, names another host, has expired ...), or "" when err is not
// such a failure. Retrying cannot fix any of these: the endpoint or the
// machine's trusted CAs must change.
func TLSReason(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		system   x509.SystemRootsError
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &hostname):
		return fmt.Sprintf("the certificate does not name this host (%v)", hostname)
	case errors.As(err, &unknown):
		return "the certificate is signed by an unknown authority (self-signed or a private CA that this machine does not trust)"
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return fmt.Sprintf("the certificate has expired or is not yet valid (%v; this machine's clock reads %s)", invalid, time.Now().UTC().Format(time.RFC3339))
		default:
			return fmt.Sprintf("the certificate is not valid (%v)", invalid)
		}
	case errors.As(err, &system):
		return fmt.Sprintf("this machine's trusted CAs cannot be loaded (%v)", system)
	case errors.As(err, &verify):
		return fmt.Sprintf("the certificate cannot be verified (%v)", verify.Err)
	case errors.As(err, &alert):
		return fmt.Sprintf("the server refused the TLS handshake (%v)", alert)
	case errors.As(err, &record):
		return "the server does not speak TLS (an http:// endpoint written as https://?)"
	}
	return ""
}

// TLSError classifies err as a Permanent error naming endpoint and the
// reason, or returns nil when err is not a TLS failure (TLSReason).
func TLSError(typ, op, endpoint string, err error) *Error {
	reason := TLSReason(err)
	if reason == "" {
		return nil
	}
	return &Error{Class: Permanent, Provider: typ, Op: op,
		Message: "TLS connection to " + endpoint + " failed: " + reason + "; retrying cannot help: fix the endpoint or trust its CA",
		Err:     err}
}
