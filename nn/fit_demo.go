package nn

import (
	"fmt"
	"math/rand/v2"
)

// FitDemo trains a small conv net (conv3x3-relu-conv3x3-relu-conv1x1-tanh,
// 8 -> 32 -> 32 -> 3 channels) with Adam to map a fixed random one-hot label
// map (8 classes, 16x16) to a fixed random RGB image in [-0.9, 0.9], the
// smallest end-to-end check that ops, autograd, optimizer and buffer scopes
// work together on a device. It returns the MSE loss of every step (before
// that step's update); progress, if not nil, is called after each step.
// The data and the initial weights depend only on seed, so two devices can
// be compared step by step.
func FitDemo(dev *Device, steps int, seed uint64, progress func(step int, loss float32)) ([]float32, error) {
	const classes, size, hidden = 8, 16, 32
	r := rand.New(rand.NewPCG(seed, 1))
	labels := make([]float32, size*size)
	for i := range labels {
		labels[i] = float32(r.IntN(classes))
	}
	img := make([]float32, 3*size*size)
	for i := range img {
		img[i] = float32(r.Float64()*1.8 - 0.9)
	}

	ps := NewParams(dev, seed)
	defer ps.Release()
	c1 := NewConv2d(ps.Sub("conv1"), classes, hidden, 3, 1, 1, true)
	c2 := NewConv2d(ps.Sub("conv2"), hidden, hidden, 3, 1, 1, true)
	c3 := NewConv2d(ps.Sub("conv3"), hidden, 3, 1, 1, 0, true)
	opt := NewAdam(ps.Trainable(), DefaultAdam(1e-2))
	defer opt.Release()

	var x, target *Tensor
	err := Catch(func() {
		idx := dev.FromData(labels, 1, size, size)
		x = OneHot(idx, classes)
		idx.Release()
		target = dev.FromData(img, 1, 3, size, size)
	})
	if err != nil {
		return nil, err
	}
	defer x.Release()
	defer target.Release()

	losses := make([]float32, 0, steps)
	for step := 0; step < steps; step++ {
		var lv float32
		var readErr error
		err := Catch(func() {
			s := dev.Scope()
			defer s.Close()
			y := Tanh(c3.Forward(Relu(c2.Forward(Relu(c1.Forward(x))))))
			loss := MSE(y, target)
			opt.ZeroGrad()
			loss.Backward()
			opt.Step()
			lv, readErr = loss.Item()
		})
		if err == nil {
			err = readErr
		}
		if err != nil {
			return losses, fmt.Errorf("nn: FitDemo step %d: %w", step, err)
		}
		losses = append(losses, lv)
		if progress != nil {
			progress(step, lv)
		}
	}
	return losses, nil
}
