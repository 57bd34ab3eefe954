package models

// TrainConfig holds training hyperparameters shared by the families (and
// kept in state files as JSON). Zero values take the family's defaults;
// fields a family has no use for are ignored (a diffusion model has no
// discriminator).
type TrainConfig struct {
	BatchSize      int     `json:"batch_size"`
	LRG            float32 `json:"lr_g"`            // the generator's (denoiser's) learning rate
	LRD            float32 `json:"lr_d"`            // GAN: the discriminator's
	Beta1          float32 `json:"beta1"`           // Adam beta1 (taken literally once LRG is set)
	Beta2          float32 `json:"beta2"`           // Adam beta2
	LambdaLabelMix float32 `json:"lambda_labelmix"` // GAN: LabelMix weight
	NoLabelMix     bool    `json:"no_labelmix"`     // GAN: LabelMix off
	EMADecay       float32 `json:"ema_decay"`       // decay of the weight average
	DWarmup        int     `json:"d_warmup"`        // GAN: the first K steps train only the discriminator
	// LambdaModeSeek weighs the GAN's mode-seeking term (0: off): each map
	// is drawn twice with different noise, and the generator is penalised
	// when the two images differ little for how much the noise differs.
	LambdaModeSeek float32 `json:"lambda_mode_seek,omitempty"`
	Seed           uint64  `json:"seed"`
}
