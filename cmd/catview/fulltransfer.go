package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"catsynth/app"
	"catsynth/modelref"
	"catsynth/models"
	"catsynth/transfer"
)

// runFolder is where full transfer runs keep their checkpoints until the
// app closes (made on first use); Save adapted copies them out.
func (u *UI) runFolder() (string, error) {
	if u.runDir == "" {
		d, err := os.MkdirTemp("", "catview-transfer-")
		if err != nil {
			return "", err
		}
		u.runDir, u.ownRunDir = d, true
	}
	return u.runDir, nil
}

// fullTransfer runs the full transfer of `catsynth transfer` (package
// transfer: the source's generator behind A and its discriminator) on the
// worker: a stopped run resumes from its state file up to the step it was
// to reach; a finished one goes on for another u.tr.steps steps. The
// source is the opened model's training state (modelref.Source: the
// state file beside a model file, the finetuning source shipped beside an
// embedded model).
func (u *UI) fullTransfer() {
	dir, err := u.runFolder()
	if err != nil {
		u.setStatus("cannot make a folder for the transfer run: %v", err)
		return
	}
	if u.tr.run == nil {
		u.tr.losses, u.tr.sample = nil, nil
		u.tr.runs++
		u.tr.modelPath = filepath.Join(dir, fmt.Sprintf("run%d.safetensors.zst", u.tr.runs))
	}
	goal := u.tr.goal
	if u.tr.done >= goal {
		goal = u.tr.done + u.tr.steps
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.tr.running, u.tr.cancel, u.tr.goal = true, cancel, goal
	u.tr.step = app.Progress{Step: u.tr.done, Steps: goal}
	run, ref, path := u.tr.run, u.modelRef, u.tr.modelPath
	u.setStatus("full transfer: preparing the run to step %d ...", goal)
	u.w.Do(func(s *app.Session) {
		var err error
		if run == nil {
			var src models.Source
			if src, err = modelref.Source(ref); err == nil {
				run, err = s.NewTransferRun(src, app.TransferConfig{ModelPath: path, PreviewEvery: previewEvery})
			}
		}
		var res app.TransferResult
		if err == nil {
			res, err = run.Run(ctx, goal, func(p app.TransferProgress) {
				u.post(func() {
					u.tr.step = app.Progress{Step: p.Step, Steps: p.Steps, Loss: p.Loss, MsPerStep: p.MsPerStep}
					u.tr.losses = append(u.tr.losses, p.Loss)
					if p.Preview != nil {
						u.tr.sample = p.Preview
					}
				})
			})
		}
		var info app.ModelInfo
		var ex []app.Example
		var lerr error
		if run != nil && run.Steps() > 0 {
			// Paint with what the run has reached (its last checkpoint).
			if info, lerr = s.LoadTransferred(run); lerr == nil {
				ex, lerr = s.Examples(6)
			}
		}
		restyle := s.CanRestyle()
		u.post(func() {
			u.tr.running = false
			cancel()
			if run != nil {
				u.tr.run, u.tr.done = run, run.Steps()
			}
			if err == nil {
				err = lerr
			}
			if info.Name != "" {
				u.tr.tuned = true
				u.modelLoaded(info, ex, restyle)
			}
			if err != nil {
				u.setStatus("full transfer failed: %v", err)
				return
			}
			how := "finished"
			if res.Stopped {
				how = "stopped (Resume continues it)"
			}
			u.setStatus("full transfer %s at step %d of %d", how, res.Steps, res.Goal)
			if n := len(res.Losses); n > 0 {
				u.status += fmt.Sprintf(", loss %.4f -> %.4f", res.Losses[0], res.Losses[n-1])
			}
			u.status += "; painting with the adapted model now"
		})
	})
}

// saveRun copies a run's adapted model and its transfer state to path
// and beside it, each atomically.
func (u *UI) saveRun(from, path string) {
	go func() {
		err := copyFileAtomic(from, path)
		if err == nil {
			err = copyFileAtomic(transfer.StatePath(from), transfer.StatePath(path))
		}
		u.post(func() {
			if err != nil {
				u.setStatus("cannot save the adapted model: %v", err)
				return
			}
			u.setStatus("saved the adapted model to %s and its transfer state to %s (open it like any model)", path, transfer.StatePath(path))
		})
	}()
}

// copyFileAtomic copies a file through a temp file and a rename.
func copyFileAtomic(from, to string) error {
	f, err := os.Open(from)
	if err != nil {
		return err
	}
	defer f.Close()
	if abs, _ := filepath.Abs(to); abs != "" {
		if same, _ := filepath.Abs(from); same == abs {
			return errors.New(to + " is the run's own file")
		}
	}
	return models.WriteFileAtomic(to, func(w io.Writer) error { _, err := io.Copy(w, f); return err })
}
