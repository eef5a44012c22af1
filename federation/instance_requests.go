package federation

import (
	"context"
	"net/http"
	"time"
)

// SignAsInstance signs a request the instance actor sends to another instance (the
// organization's gossip), as deliveries and fetches are signed.
func (f *Federator) SignAsInstance(r *http.Request, body []byte) error {
	key, keyID, err := f.signerKey(r.Context(), "")
	if err != nil {
		return err
	}
	return SignRequest(r, body, keyID, key)
}

// VerifySigned checks the HTTP signature of a request from another instance with the keys this
// instance caches, and returns the signing actor's URI; errors are *SignatureError. A host this
// instance blocks is refused with 403.
func (f *Federator) VerifySigned(ctx context.Context, r *http.Request, body []byte) (string, error) {
	signer, err := VerifyRequest(ctx, r, body, f.keys, time.Now())
	if err != nil {
		return "", err
	}
	policy, err := f.policy.get(ctx)
	if err != nil {
		return "", err
	}
	// Only blocks apply: in allowlist mode the organization's members are what is allowed, and
	// a department asking to join is not one yet.
	policy.Allowlist = false
	if !policy.Permits(HostOf(signer)) {
		return "", refuse(http.StatusForbidden, "federation with this host is not allowed", nil)
	}
	return signer, nil
}
