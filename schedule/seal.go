package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/signing"
	"minyi/survey"
)

// SealInterval is how often a server seals the interviews stored since the
// last seal into the audit chain (docs/evidence.md §2).
const SealInterval = time.Minute

// sealActor is who seals, as the audit log names it.
const sealActor = "minyi serve"

// Sealer seals interview evidence every interval, and signs the chain's
// head after each seal into the anchors beside the key, so that the chain
// cannot be rewritten or cut short behind it undetected (§6).
type Sealer struct {
	db       *sqlx.DB
	log      *slog.Logger
	signer   *signing.Key // nil: seal, but keep no anchors
	interval time.Duration
}

// NewSealer makes a sealer; Start runs it.
func NewSealer(db *sqlx.DB, signer *signing.Key, log *slog.Logger) *Sealer {
	if log == nil {
		log = slog.Default()
	}
	return &Sealer{db: db, log: log, signer: signer, interval: SealInterval}
}

// Seal seals what is pending and anchors the head when it sealed any;
// it returns how many evidence rows it sealed.
func (s *Sealer) Seal(ctx context.Context) (int, error) {
	n, err := survey.SealEvidence(ctx, s.db, sealActor)
	if err != nil || n == 0 || s.signer == nil {
		return n, err
	}
	head, err := core.ChainHead(ctx, s.db)
	if err != nil {
		return n, err
	}
	return n, s.signer.Anchor(s.signer.Sign(signing.Statement{Kind: "chain-head", Chain: head}))
}

// Start seals until ctx ends, and once more then, so that a server
// stopped cleanly leaves nothing unsealed; the channel is closed when it
// has stopped.
func (s *Sealer) Start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(s.interval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				if _, err := s.Seal(fctx); err != nil {
					s.log.Error("seal evidence at stop", "err", err)
				}
				cancel()
				return
			case <-tk.C:
				if err := protect(func() error { _, err := s.Seal(ctx); return err }); err != nil && ctx.Err() == nil {
					s.log.Error("seal evidence", "err", err)
				}
			}
		}
	}()
	return done
}
