package nn

import "fmt"

// node records how a tensor was computed: its parents and a backward closure
// mapping the gradient of the result to one gradient per parent (nil where a
// parent needs none). Closures capture the forward inputs they need.
type node struct {
	op       string
	parents  []*Tensor
	backward func(g *Tensor) []*Tensor
}

// needsGrad reports whether an op on these inputs must record a node.
func needsGrad(ts ...*Tensor) bool {
	for _, t := range ts {
		if t != nil && t.RequiresGrad() {
			return t.dev.gradEnabled
		}
	}
	return false
}

// record attaches a node to out when any parent requires a gradient and
// recording is on. back is called once during Backward.
func record(out *Tensor, op string, parents []*Tensor, back func(g *Tensor) []*Tensor) *Tensor {
	if needsGrad(parents...) {
		out.node = &node{op: op, parents: parents, backward: back}
	}
	return out
}

// Backward computes gradients of the scalar t (one element) with respect to
// every tensor that requires a gradient, accumulating into their Grad.
// Intermediate gradients are created in the current scope.
func (t *Tensor) Backward() {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("nn: Backward of non-scalar tensor %v (use BackwardWith)", t.shape))
	}
	t.BackwardWith(t.dev.Full(1, t.shape...))
}

// BackwardWith back-propagates the gradient g (same shape as t).
func (t *Tensor) BackwardWith(g *Tensor) {
	if !sameShape(g.shape, t.shape) {
		panic(fmt.Sprintf("nn: BackwardWith: gradient %v for tensor %v", g.shape, t.shape))
	}
	if !t.RequiresGrad() {
		panic("nn: Backward of a tensor that does not require grad " + t.String())
	}
	d := t.dev
	prev := d.SetGradEnabled(false)
	defer d.SetGradEnabled(prev)

	// Topological order by depth-first search (iterative: graphs can be deep).
	var order []*Tensor
	visited := map[*Tensor]bool{}
	type frame struct {
		t    *Tensor
		next int
	}
	stack := []frame{{t: t}}
	visited[t] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.t.node != nil && f.next < len(f.t.node.parents) {
			p := f.t.node.parents[f.next]
			f.next++
			if p != nil && !visited[p] && p.RequiresGrad() {
				visited[p] = true
				stack = append(stack, frame{t: p})
			}
			continue
		}
		order = append(order, f.t)
		stack = stack[:len(stack)-1]
	}

	accumulate(t, g)
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if n.node == nil || n.grad == nil {
			continue
		}
		gs := n.node.backward(n.grad)
		if len(gs) != len(n.node.parents) {
			panic(fmt.Sprintf("nn: backward of %s returned %d gradients for %d parents", n.node.op, len(gs), len(n.node.parents)))
		}
		for j, p := range n.node.parents {
			if p != nil && gs[j] != nil && p.RequiresGrad() {
				accumulate(p, gs[j])
			}
		}
		n.grad = nil // intermediate gradients are not retained
	}
}

// accumulate adds g into p.grad. Leaf gradients live outside scopes (they
// outlast the step's scope until the optimizer has used them).
func accumulate(p, g *Tensor) {
	if g.Numel() != p.Numel() {
		panic(fmt.Sprintf("nn: gradient %v for tensor %v", g.shape, p.shape))
	}
	if !sameShape(g.shape, p.shape) {
		g = Reshape(g, p.shape...)
	}
	d := p.dev
	if p.node == nil {
		ng := d.allocUnscoped(p.shape)
		if p.grad == nil {
			ng.CopyFrom(g)
		} else {
			binaryInto(ng, addOp, p.grad, g)
			p.grad.Release()
		}
		p.grad = ng
		return
	}
	if p.grad == nil {
		p.grad = g
	} else {
		p.grad = Add(p.grad, g)
	}
}
