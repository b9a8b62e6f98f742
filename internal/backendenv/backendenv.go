// Package backendenv holds the one environment setting shared by the kernel installer
// (kernel/install writes it into the kernelspec, so notebook cells get it) and
// llm/backend (which reads it when it creates the GoMLX backend): the variable's name and
// divellm's default value. It imports nothing, so the installer can use it without
// linking GoMLX; llm/backend's tests check [Var] against GoMLX's own constant.
package backendenv

// Var is the environment variable GoMLX reads for the backend configuration
// (compute.ConfigEnvVar).
const Var = "GOMLX_BACKEND"

// Default is the backend configuration divellm uses when [Var] is unset: GoMLX's pure-Go
// backend with an unlimited worker pool. llm/backend's documentation says why (the
// backend's own default scheduler can deadlock on training graphs).
const Default = "go:parallelism=-1"
