package telephony

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
)

// serve starts dg's listener and returns once requests can go out through
// it. diago says it is ready when its socket is bound, but sipgo adds the
// socket to the UDP connection pool a moment later in another goroutine;
// a request sent in between makes sipgo bind a second socket to the same
// port, which fails with "address already in use".
func serve(ctx context.Context, ua *sipgo.UserAgent, dg *diago.Diago, network string, f diago.ServeDialogFunc) error {
	if err := dg.ServeBackground(ctx, f); err != nil {
		return err
	}
	if network != "udp" {
		return nil
	}
	pool := ua.TransportLayer().Pool("udp")
	for deadline := time.Now().Add(5 * time.Second); pool.Size() == 0; {
		if time.Now().After(deadline) {
			return errors.New("SIP: the UDP listener did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}
