// Package all links every model family into a program: import it for its
// side effect where models are chosen by the kind in a file (the CLI, the
// wasm entry point, tests), so that models.Load reads them all.
package all

import (
	_ "catsynth/models/diffusion" // SDM-style diffusion model
	_ "catsynth/models/gan"       // OASIS-style GAN
)
