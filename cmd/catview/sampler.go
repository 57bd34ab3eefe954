package main

import (
	"fmt"
	"math"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"catsynth/app"
	"catsynth/models"
)

// maxSliderSteps caps the steps slider (as the page's): a model's process
// has up to 1000 steps, but a slider over all of them moves in jumps of
// ten, and more than 50 DDIM steps buy little.
const maxSliderSteps = 50

// Descriptions of the sampler sliders (screen readers, tests).
const (
	stepsDesc    = "sampling steps"
	guidanceDesc = "guidance"
	etaDesc      = "eta"
)

// samplerState holds the sampler settings row of an iterative model
// (a diffusion model): its sliders, the method switch, and the settings
// last sent to the session.
type samplerState struct {
	steps, guidance, eta widget.Float // each 0..1 over its range
	method               widget.Clickable
	ddpm                 bool
	applied              models.Sampling
	limits               models.SamplingLimits
}

// stepsMax is the top of the steps slider.
func (s *samplerState) stepsMax() int { return max(1, min(s.limits.Steps, maxSliderSteps)) }

// set moves the sliders to the model's settings.
func (s *samplerState) set(v models.Sampling, l *models.SamplingLimits) {
	s.limits = models.SamplingLimits{Steps: max(v.Steps, 1), Guidance: max(v.Guidance, 1), Eta: max(v.Eta, 1)}
	if l != nil {
		s.limits = *l
	}
	s.ddpm = v.Method == "ddpm"
	s.steps.Value = unitOf(float64(v.Steps), 1, float64(s.stepsMax()))
	s.guidance.Value = unitOf(v.Guidance, 1, s.limits.Guidance)
	s.eta.Value = unitOf(v.Eta, 0, s.limits.Eta)
	s.applied = s.wanted()
}

func unitOf(v, lo, hi float64) float32 {
	if hi <= lo {
		return 0
	}
	return float32(min(max((v-lo)/(hi-lo), 0), 1))
}

// wanted is the setting the sliders show.
func (s *samplerState) wanted() models.Sampling {
	v := models.Sampling{Method: "ddim",
		Steps:    1 + int(math.Round(float64(s.steps.Value)*float64(s.stepsMax()-1))),
		Guidance: math.Round((1+float64(s.guidance.Value)*(s.limits.Guidance-1))*10) / 10,
		Eta:      math.Round(float64(s.eta.Value)*s.limits.Eta*100) / 100,
	}
	if s.ddpm {
		v.Method, v.Eta = "ddpm", 0
	}
	return v
}

// applySampling sends the sliders' settings to the session once no slider
// is being dragged, and renders again with them.
func (u *UI) applySampling() {
	sm := &u.samp
	if sm.steps.Dragging() || sm.guidance.Dragging() || sm.eta.Dragging() {
		return
	}
	v := sm.wanted()
	if v == sm.applied {
		return
	}
	sm.applied = v
	u.w.Do(func(s *app.Session) {
		info, err := s.SetSampling(v)
		u.post(func() {
			if err != nil {
				u.setStatus("cannot use these sampler settings: %v", err)
				return
			}
			u.info.Sampling = info.Sampling
			u.setStatus("sampler %s, %d steps, guidance %g, eta %g", v.Method, v.Steps, v.Guidance, v.Eta)
			u.requestRender()
		})
	})
}

// layoutSampler draws the sampler row: the method switch and the steps,
// guidance and eta sliders with their values.
func (u *UI) layoutSampler(gtx layout.Context) layout.Dimensions {
	sm := &u.samp
	if sm.method.Clicked(gtx) {
		sm.ddpm = !sm.ddpm
	}
	v := sm.wanted()
	slider := func(f *widget.Float, desc, text string, on bool) []layout.FlexChild {
		return []layout.FlexChild{
			layout.Rigid(material.Body2(u.th, text).Layout),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min.X, gtx.Constraints.Max.X = gtx.Dp(110), gtx.Dp(110)
				if !on {
					gtx = gtx.Disabled()
				}
				d := material.Slider(u.th, f).Layout(gtx)
				area := clip.Rect{Max: d.Size}.Push(gtx.Ops)
				semantic.DescriptionOp(desc).Add(gtx.Ops)
				area.Pop()
				return d
			}),
		}
	}
	row1 := append([]layout.FlexChild{u.button(&sm.method, "Sampler: "+v.Method, true)},
		slider(&sm.steps, stepsDesc, fmt.Sprintf(" steps %d ", v.Steps), true)...)
	row2 := append(slider(&sm.guidance, guidanceDesc, fmt.Sprintf("guidance %.1f ", v.Guidance), true),
		slider(&sm.eta, etaDesc, fmt.Sprintf("  eta %.2f ", v.Eta), !sm.ddpm)...)
	d := layout.Inset{Bottom: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx, row1...)
			}),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx, row2...)
			}))
	})
	u.applySampling()
	return d
}
