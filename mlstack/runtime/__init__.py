"""What runs where the platform runs: the step adapter and the image that carries it, and code shared
by the emulator and the jobs each cloud's plan schedules (the SageMaker monitoring job, the Vertex
pipeline tasks), so every target computes the same. Modules here that run in a user's step image
import only the standard library."""
