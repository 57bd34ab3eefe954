package app

import (
	"fmt"
	"strings"

	"catsynth/nn"
)

// RecalibrationBatches is how many target batches the light finetune runs
// through the generator in training mode, without gradients, to re-estimate
// its batch-norm running statistics on the target maps seen through A. With
// the running update's momentum of 0.1, 0.9^50 (0.5%) of the source
// statistics remain.
const RecalibrationBatches = 50

// normStats keeps the batch-norm running statistics of the two modes. The
// generator's statistics were measured on one-hot source maps; a soft A
// feeds it maps of lower contrast, which the source statistics normalise
// to washed-out, blurred images. The light finetune trains only A, so
// re-estimating the statistics on the target maps is what lets the frozen
// network follow (docs/TRANSFER.md, page-light). The source view keeps the
// source statistics.
type normStats struct {
	source, adapted map[string][]float32 // nil: not taken (adapted: not recalibrated)
	adaptedOn       bool                 // which set the network holds now
}

// runningStats lists a network's batch-norm running statistics (the buffers
// PyTorch names running_mean, running_var and num_batches_tracked).
func runningStats(ps *nn.Params) []*nn.Param {
	var out []*nn.Param
	for _, p := range ps.All() {
		if !p.Trainable && isRunningStat(p.Name) {
			out = append(out, p)
		}
	}
	return out
}

func isRunningStat(name string) bool {
	for _, suffix := range []string{".running_mean", ".running_var", ".num_batches_tracked"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// snapshot copies the running statistics to the host.
func snapshot(stats []*nn.Param) (map[string][]float32, error) {
	out := make(map[string][]float32, len(stats))
	for _, p := range stats {
		d, err := p.T.Data()
		if err != nil {
			return nil, err
		}
		out[p.Name] = d
	}
	return out, nil
}

// useNormStats makes the network hold the adapted statistics (when adapted
// and recalibrated) or the source ones.
func (s *Session) useNormStats(adapted bool) error {
	adapted = adapted && s.norm.adapted != nil
	if adapted == s.norm.adaptedOn {
		return nil
	}
	set := s.norm.source // set whenever adapted statistics were ever installed
	if adapted {
		set = s.norm.adapted
	}
	if err := s.uploadStats(set); err != nil {
		return err
	}
	s.norm.adaptedOn = adapted
	return nil
}

// uploadStats writes a snapshot back into the network.
func (s *Session) uploadStats(set map[string][]float32) error {
	return nn.Catch(func() {
		for _, p := range runningStats(s.net.Params()) {
			if d, ok := set[p.Name]; ok {
				p.T.Upload(d)
			}
		}
	})
}

// forgetAdaptedStats drops the recalibrated statistics (a new matrix or a
// new finetune makes them stale) and puts the source set back.
func (s *Session) forgetAdaptedStats() error {
	if err := s.useNormStats(false); err != nil {
		return err
	}
	s.norm.adapted = nil
	return nil
}

// recalibrateNorm re-estimates the running statistics on the target pairs
// through the current layer: RecalibrationBatches batches of the given
// size, cycling through the pairs, in training mode without gradients. A
// network without batch norm (the diffusion family) is left as it is.
func (s *Session) recalibrateNorm(batch int, seed uint64) (err error) {
	stats := runningStats(s.net.Params())
	if len(stats) == 0 {
		return nil
	}
	if err := s.forgetAdaptedStats(); err != nil {
		return err
	}
	if s.norm.source == nil {
		src, err := snapshot(stats)
		if err != nil {
			return err
		}
		s.norm.source = src
	}
	// Training mode also runs spectral norm's power iteration, which moves
	// its u and v vectors: they are put back, so only the statistics change.
	var others []*nn.Param
	for _, p := range s.net.Params().All() {
		if !p.Trainable && !isRunningStat(p.Name) {
			others = append(others, p)
		}
	}
	kept, err := snapshot(others)
	if err != nil {
		return err
	}
	ps := s.net.Params()
	ps.SetTraining(true)
	defer func() {
		ps.SetTraining(false)
		if rerr := nn.Catch(func() {
			for _, p := range others {
				p.T.Upload(kept[p.Name])
			}
		}); rerr != nil && err == nil {
			err = rerr
		}
	}()
	var lerr error
	n := len(s.target.Pairs)
	s.Dev.NoGrad(func() {
		err = nn.Catch(func() {
			for b := range RecalibrationBatches {
				order := make([]int, batch)
				for k := range order {
					order[k] = (b*batch + k) % n
				}
				sc := s.Dev.Scope()
				_, lerr = s.batchLoss(order, seed, 0)
				sc.Close()
				if lerr != nil {
					return
				}
			}
		})
	})
	if err == nil {
		err = lerr
	}
	if err == nil {
		err = s.Dev.Flush()
	}
	if err != nil {
		if uerr := s.uploadStats(s.norm.source); uerr != nil {
			return fmt.Errorf("%w (and restoring the source statistics: %v)", err, uerr)
		}
		return err
	}
	s.norm.adaptedOn = true // the network holds what was just measured
	adapted, err := snapshot(stats)
	if err != nil {
		return err
	}
	s.norm.adapted = adapted
	return nil
}
